// A user of berth for the registry tests: a store, a HOME (for
// ~/.docker/config.json) and a registries.json of its own, in a temp dir,
// and `berth` run as that user.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/registry.h"
#include "support/temp_dir.h"

namespace berth::test {

class BerthUser {
 public:
  BerthUser();

  std::string root() const { return dir_.path() + "/root"; }
  std::string home() const { return dir_.path() + "/home"; }
  std::string docker_config() const { return home() + "/.docker/config.json"; }
  std::string registries_config() const { return dir_.path() + "/etc/registries.json"; }

  // `berth --root ROOT --registries-config FILE ARGS...` with HOME set; stdin
  // from input when given.
  ProcessResult berth(std::vector<std::string> args, const std::string& input = "") const;
  // The same, running while the test acts on it (say, interrupts it).
  BackgroundProcess berth_in_background(std::vector<std::string> args) const;

  // Writes credentials into config.json as `docker login` does.
  void log_in(const RegistryServer& registry) const;
  // Trusts the registry's CA for its host (certs.d beside registries.json).
  void trust(const RegistryServer& registry) const;
  void configure(const nlohmann::json& registries) const;

  // The store's layers, images and tags (its files and the directories
  // that are not empty), to compare before and after a refusal.
  std::string store_listing() const;

 private:
  TempDir dir_;
};

std::string base64(const std::string& text);

// A registry in the mode under test holding one small image, team/app:v1
// (pushed by skopeo from make_oci_layout), and a user who trusts its CA
// and holds its credentials.
class RegistryWithImage : public ::testing::TestWithParam<RegistryMode> {
 protected:
  void SetUp() override;

  // "127.0.0.1:PORT/" + path
  std::string name(const std::string& path) const { return registry_->host() + "/" + path; }

  TempDir layouts_{"berth-registry-layouts"};
  std::optional<RegistryServer> registry_;
  OciLayout layout_;
  BerthUser user_;
};

}  // namespace berth::test
