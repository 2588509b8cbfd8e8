#include "container/features.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "linux/capabilities.h"
#include "linux/mounts.h"
#include "spec/spec.h"

namespace berth::container {
namespace {

std::set<std::string> as_set(const nlohmann::ordered_json& array) {
  return array.get<std::set<std::string>>();
}

TEST(FeaturesTest, DocumentIsValidJsonWithTheRequiredVersions) {
  nlohmann::json document = nlohmann::json::parse(features_document().dump(4));
  EXPECT_EQ(document["ociVersionMin"], "1.0.0");
  EXPECT_EQ(document["ociVersionMax"], "1.2.0");
  EXPECT_EQ(document["annotations"]["io.berth.version"], kRuntimeVersion);
  EXPECT_EQ(as_set(document["hooks"]),
            (std::set<std::string>{"prestart", "createRuntime", "createContainer", "startContainer",
                                   "poststart", "poststop"}));
}

// A listed option must be one the parser knows itself; an unknown one would
// be passed through to the filesystem as data.
TEST(FeaturesTest, EveryListedMountOptionIsRecognisedByTheMountParser) {
  auto listed = features_document()["mountOptions"].get<std::vector<std::string>>();
  EXPECT_EQ(listed, known_mount_options());
  ASSERT_FALSE(listed.empty());
  for (const std::string& option : listed) {
    auto parsed = linux::parse_mount_options({option});
    ASSERT_TRUE(parsed.has_value()) << option << ": " << parsed.error().message();
    EXPECT_EQ(parsed->data, "") << option << " was taken as filesystem data";
  }
}

TEST(FeaturesTest, NamespacesListEverySpecNamespace) {
  EXPECT_EQ(
      as_set(features_document()["linux"]["namespaces"]),
      (std::set<std::string>{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}));
}

TEST(FeaturesTest, CapabilitiesAreNamesTheRuntimeAccepts) {
  auto listed = features_document()["linux"]["capabilities"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(listed.begin(), listed.end(), "CAP_SYS_ADMIN"), listed.end());
  for (const std::string& name : listed)
    EXPECT_TRUE(linux::capability_from_name(name).has_value()) << name;
}

// Every seccomp name the document advertises must pass the config.json
// parser: one profile that uses all of them at once.
TEST(FeaturesTest, EverySeccompNameListedIsAcceptedBySpecParser) {
  nlohmann::ordered_json seccomp = features_document()["linux"]["seccomp"];
  EXPECT_EQ(seccomp["enabled"], true);

  nlohmann::json profile = {{"defaultAction", "SCMP_ACT_ALLOW"},
                            {"listenerPath", "/run/seccomp-agent.sock"},
                            {"architectures", seccomp["archs"]},
                            {"flags", seccomp["knownFlags"]},
                            {"syscalls", nlohmann::json::array()}};
  for (const auto& action : seccomp["actions"])
    profile["syscalls"].push_back({{"names", {"getpid"}}, {"action", action}});
  for (const auto& op : seccomp["operators"])
    profile["syscalls"].push_back(
        {{"names", {"personality"}},
         {"action", "SCMP_ACT_ERRNO"},
         {"args", {{{"index", 0}, {"value", 8}, {"valueTwo", 8}, {"op", op}}}}});

  nlohmann::json document = spec::default_spec_json(false);
  document["linux"]["seccomp"] = profile;
  auto parsed = spec::parse_spec_json(document);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  EXPECT_EQ(parsed->linux->seccomp->architectures.size(), seccomp["archs"].size());
  EXPECT_EQ(parsed->linux->seccomp->syscalls.size(),
            seccomp["actions"].size() + seccomp["operators"].size());
}

TEST(FeaturesTest, SupportedSeccompFlagsAreKnownFlags) {
  std::set<std::string> known(known_seccomp_flags().begin(), known_seccomp_flags().end());
  for (const std::string& flag : supported_seccomp_flags()) EXPECT_TRUE(known.count(flag)) << flag;
}

}  // namespace
}  // namespace berth::container
