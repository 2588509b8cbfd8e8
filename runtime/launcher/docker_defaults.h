// Docker's default security settings for a container, so `berth run` gives
// what `docker run` gives: its capability set, its seccomp profile (as the
// OCI linux.seccomp document, resolved for the container's capabilities
// and this machine's architecture), and its masked and read-only paths.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace berth::launcher {

// "CAP_CHOWN", "CAP_DAC_OVERRIDE", ... in Docker's order.
const std::vector<std::string>& docker_default_capabilities();

// The OCI linux.seccomp object of Docker's default profile for a container
// whose bounding set is `capabilities` (some syscalls are allowed only
// with a capability, e.g. CAP_SYS_ADMIN, as in Docker's profile).
nlohmann::json docker_default_seccomp(const std::vector<std::string>& capabilities);

const std::vector<std::string>& docker_masked_paths();
const std::vector<std::string>& docker_readonly_paths();

}  // namespace berth::launcher
