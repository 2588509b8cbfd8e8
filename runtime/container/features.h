// The runtime-spec "features" document (`berth-runtime features`): what
// this runtime recognises in config.json, so that callers such as
// containerd can tell before they create a container. Only what berth
// really does is listed.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace berth::container {

constexpr const char* kRuntimeVersion = "0.1.0";
constexpr const char* kOciVersionMin = "1.0.0";
constexpr const char* kOciVersionMax = "1.2.0";

// Generic mount options (not filesystem data) that linux::parse_mount_options
// recognises; kept in step with it by a unit test.
const std::vector<std::string>& known_mount_options();

// seccomp filter flags the spec parser accepts, and the subset this host's
// libseccomp and kernel can apply.
const std::vector<std::string>& known_seccomp_flags();
std::vector<std::string> supported_seccomp_flags();

// The whole document, keys in the order of the spec's Features structure.
nlohmann::ordered_json features_document();

}  // namespace berth::container
