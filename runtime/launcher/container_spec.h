// The OCI runtime spec of a `berth run`: the image's config (Entrypoint,
// Cmd, Env, WorkingDir, User) under the user's flags, with Docker's
// defaults for everything neither says (capabilities, seccomp profile,
// masked paths, namespaces, mounts).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "launcher/image_user.h"
#include "launcher/run_options.h"

namespace berth::launcher {

// Docker's rule: --entrypoint replaces the image's Entrypoint and drops its
// Cmd; command arguments replace the Cmd. image_config is the image
// config's "config" object.
Result<std::vector<std::string>> container_command(const RunOptions& options,
                                                   const nlohmann::json& image_config);

// The image's Env, then --env-file, then -e (later ones win by name), then
// HOSTNAME, PATH if none set it, and TERM=xterm with a tty.
Result<std::vector<std::string>> container_env(const RunOptions& options,
                                               const nlohmann::json& image_config,
                                               const std::string& hostname);

// Docker's default set with --cap-add and --cap-drop applied ("ALL" too).
Result<std::vector<std::string>> container_capabilities(const RunOptions& options);

// -u, else the image's User, else root.
std::string container_user(const RunOptions& options, const nlohmann::json& image_config);
// -w, else the image's WorkingDir, else "/".
std::string container_workdir(const RunOptions& options, const nlohmann::json& image_config);

struct SpecInputs {
  std::string id;
  std::string hostname;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd;
  ResolvedUser user;
  std::string rootfs;       // the mounted overlay (absolute)
  std::string init_binary;  // host path of berth-init, with --init
  std::optional<std::pair<unsigned, unsigned>> console_size;  // rows, columns
  // /etc/hosts, /etc/hostname, /etc/resolv.conf: (host file, container path)
  std::vector<std::pair<std::string, std::string>> network_files;
};

Result<nlohmann::json> make_container_spec(const RunOptions& options, const SpecInputs& inputs);

}  // namespace berth::launcher
