// The bridge network's address leases: which container holds which address
// and which published ports, in one JSON file per bridge under a lock file,
// so concurrent `berth run`s never hand out one address twice:
//
//   /run/berth-network/net-<netns inode>/<bridge>.json   the leases
//   /run/berth-network/net-<netns inode>/<bridge>.lock   flock while in use
//
// Keyed by the network namespace the bridge lives in (the host's, or one a
// test made), and under /run so a reboot, which also empties the kernel's
// bridge and nftables state, empties it too. A lease belongs to the
// container's init process: once that process is gone (its start time
// guards against pid reuse) the lease is stale and any `berth` command that
// opens the file may reap it.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"
#include "launcher/network/address.h"
#include "launcher/network/nft.h"

namespace berth::network {

struct Lease {
  std::string container_id;
  Ipv4 address;
  pid_t owner_pid = 0;
  unsigned long long owner_start_time = 0;
  std::vector<PortMapping> ports;
};

// A mapping as the lease file and the launcher's records store it.
nlohmann::json port_mapping_to_json(const PortMapping& mapping);
Result<PortMapping> port_mapping_from_json(const nlohmann::json& j);

// Whether the lease's owner process still runs.
bool lease_owner_alive(const Lease& lease);

// The directory of this network namespace's lease files.
Result<std::string> default_lease_dir();

// The leases of one bridge, read under its lock, which is held until the
// object goes: every change to the bridge's links, table and leases happens
// under it.
class LeaseFile {
 public:
  static Result<LeaseFile> open(const std::string& dir, const std::string& bridge);

  std::vector<Lease>& leases() { return leases_; }
  const std::vector<Lease>& leases() const { return leases_; }
  // The lowest address of subnet after its gateway that no lease holds.
  Result<Ipv4> free_address(const Ipv4Subnet& subnet) const;
  // Writes the leases (atomically: readers see the old or the new file).
  Status save() const;
  const std::string& path() const { return path_; }

 private:
  LeaseFile(UniqueFd lock, std::string path) : lock_(std::move(lock)), path_(std::move(path)) {}
  UniqueFd lock_;
  std::string path_;
  std::vector<Lease> leases_;
};

}  // namespace berth::network
