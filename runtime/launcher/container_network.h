// A launcher container's network, by --network mode:
//   bridge (the default)  its own network namespace joined to the host's
//                         bridge by a veth pair, an address of the bridge's
//                         subnet, and the -p/-P ports published by DNAT;
//   none                  its own network namespace with only lo;
//   host                  the host's network namespace.
// Before the container is created, plan_network checks the flags and binds
// the published host ports (a taken port fails here, before anything
// starts) and write_network_files makes its /etc/hosts, /etc/hostname and
// /etc/resolv.conf. Once it is created (its init waiting for start),
// connect_network wires the namespace up; disconnect_network, when it is
// finished, unpublishes its ports and frees its address. The veth goes with
// the namespace. berth-runtime never does any of this: under containerd the
// network is containerd's (CNI's).
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "launcher/records.h"
#include "launcher/run_options.h"
#include "launcher/network/bridge.h"
#include "launcher/network/ports.h"

namespace berth::launcher {

struct NetworkPlan {
  std::string mode;  // bridge | none | host
  network::BridgeNetwork bridge;
  // The bound host ports; held by the supervising process (the foreground
  // berth or the detached monitor) as long as the container runs.
  std::vector<network::ReservedPort> reserved;
};

Result<NetworkPlan> plan_network(const RunOptions& options, const nlohmann::json& image_config);

// Writes the container's hosts, hostname and resolv.conf into dir; returns
// (host file, container path) pairs to bind-mount. In bridge mode the hosts
// file gets the container's address once it is connected.
Result<std::vector<std::pair<std::string, std::string>>> write_network_files(
    const std::string& dir, const std::string& mode, const std::string& hostname);

// Bridge mode: connects the created container whose init is init_pid and
// records its address and ports in record. Other modes: nothing to do.
Status connect_network(const NetworkPlan& plan, const std::string& dir, pid_t init_pid,
                       const std::string& hostname, ContainerRecord& record);

// Unpublishes the container's ports and frees its address. Idempotent.
Status disconnect_network(const ContainerRecord& record);

// Removes what containers that ended unfinished left on the default or
// given bridge; returns the ids reaped.
Result<std::vector<std::string>> reap_network(const std::string& bridge, const std::string& subnet);

}  // namespace berth::launcher
