// What `berth run` was asked for, with Docker's flag meanings, and the
// parsers for the flags whose values have a syntax of their own.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "launcher/network/ports.h"

namespace berth::launcher {

struct VolumeFlag {
  std::string host;       // absolute
  std::string container;  // absolute
  bool readonly = false;
};

struct TmpfsFlag {
  std::string container;             // absolute
  std::vector<std::string> options;  // mount options, e.g. size=64m
};

struct RunOptions {
  std::string image;
  std::vector<std::string> command;       // replaces the image's Cmd when given
  std::optional<std::string> entrypoint;  // "" clears the image's Entrypoint
  std::vector<std::string> env;           // -e KEY=VALUE or KEY (from our environment)
  std::vector<std::string> env_files;
  std::string workdir;
  std::string user;
  std::vector<std::string> volumes;  // -v HOST:CTR[:ro]
  std::vector<std::string> tmpfs;    // --tmpfs CTR[:OPTIONS]
  std::string hostname;
  std::string name;
  bool interactive = false;
  bool tty = false;
  bool detach = false;
  bool remove = false;
  bool init = false;
  bool read_only = false;
  std::string memory;      // "512m"
  int64_t pids_limit = 0;  // 0: none
  std::string cpus;        // "1.5"
  std::vector<std::string> cap_add, cap_drop;
  std::vector<std::string> security_opts;  // seccomp=unconfined|FILE, no-new-privileges[:true]
  std::string network = "bridge";          // bridge | none | host
  std::vector<std::string> publish;        // -p [IP:]HOSTPORT:CTRPORT[/PROTO] or CTRPORT
  bool publish_all = false;                // -P: the image's ExposedPorts
  std::string bridge;                      // berth --bridge (default berth0)
  std::string subnet;                      // berth --subnet (default 10.87.0.0/16)
};

// -p, as Docker reads it: CTRPORT, HOSTPORT:CTRPORT, IP:HOSTPORT:CTRPORT or
// IP::CTRPORT, each with an optional /tcp or /udp. A missing host port is
// 0: any free one.
Result<network::PortRequest> parse_publish(const std::string& text);
// -P: every "PORT/PROTO" key of the image's ExposedPorts to a free host
// port, except container ports -p already publishes.
Result<std::vector<network::PortRequest>> exposed_port_requests(
    const nlohmann::json& image_config, const std::vector<network::PortRequest>& published);

Result<VolumeFlag> parse_volume(const std::string& text);
Result<TmpfsFlag> parse_tmpfs(const std::string& text);
// Docker's memory units: a number with an optional b, k, m, g suffix.
Result<int64_t> parse_memory_bytes(const std::string& text);
// --cpus 1.5 -> quota 150000 per period 100000, as Docker sets cpu.max.
struct CpuQuota {
  int64_t quota = 0;
  uint64_t period = 100000;
};
Result<CpuQuota> parse_cpus(const std::string& text);
// KEY=VALUE lines; blank lines and # comments skipped; a bare KEY takes
// its value from our environment, as Docker does.
Result<std::vector<std::string>> read_env_file(const std::string& path);
// -e KEY (no '='): KEY=<our value>, or nothing if unset.
std::optional<std::string> expand_env_flag(const std::string& flag);
// "CAP_NET_ADMIN", "net_admin", "NET_ADMIN" -> "CAP_NET_ADMIN"; "ALL" stays.
std::string normalize_capability(const std::string& name);

}  // namespace berth::launcher
