// Where berth reaches each registry, from a configuration file in the
// spirit of Docker's daemon.json (default /etc/berth/registries.json,
// overridden by --registries-config or $BERTH_REGISTRIES_CONFIG):
//
//   {
//     "mirrors": {"docker.io": ["https://mirror.example", "http://127.0.0.1:5000"]},
//     "insecure-registries": ["registry.lan:5000"]
//   }
//
// A pull tries the registry's mirrors in order, then the registry itself.
// An insecure registry, and without configuration any on localhost,
// 127.0.0.0/8 or ::1 (as Docker allows), is tried over HTTPS without
// verification, then over plain HTTP. Certificates come from certs.d beside
// the file, as Docker's: certs.d/HOST[:PORT]/ca.crt (the CAs that
// registry's certificate must chain to), client.cert and client.key.
// Unlike Docker, a registry with a ca.crt is verified even when it is
// insecure (on loopback, say): whoever put the CA there wants it checked.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "rootfs/registry/client.h"

namespace berth::registry {

inline constexpr const char* kDefaultRegistriesConfig = "/etc/berth/registries.json";
// Docker Hub: its name in references, and where its API is.
inline constexpr const char* kDockerHub = "docker.io";
inline constexpr const char* kDockerHubApi = "https://registry-1.docker.io";

class RegistriesConfig {
 public:
  // A missing file is the defaults: no mirrors, loopback registries insecure.
  static Result<RegistriesConfig> load(const std::string& path);

  // The endpoints to pull from, in the order to try them: mirrors first.
  Result<std::vector<Endpoint>> pull_endpoints(const std::string& registry) const;
  // The endpoints of the registry itself (pushes never go to a mirror).
  Result<std::vector<Endpoint>> registry_endpoints(const std::string& registry) const;

  bool is_insecure(const std::string& registry) const;
  const std::string& certs_dir() const { return certs_dir_; }

 private:
  Result<Tls> tls_for(const std::string& host, bool verify) const;

  std::map<std::string, std::vector<std::string>> mirrors_;
  std::vector<std::string> insecure_;
  std::string certs_dir_;
};

// --registries-config, else $BERTH_REGISTRIES_CONFIG, else the default.
std::string registries_config_path(const std::string& flag);

// localhost, 127.0.0.0/8 or ::1, with or without a port.
bool is_loopback_registry(const std::string& registry);

}  // namespace berth::registry
