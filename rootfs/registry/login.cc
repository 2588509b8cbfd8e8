#include "rootfs/registry/login.h"

#include "rootfs/registry/client.h"

namespace berth::registry {

std::string login_registry(const std::string& server) {
  std::string host = server;
  if (size_t scheme = host.find("://"); scheme != std::string::npos) host = host.substr(scheme + 3);
  host = host.substr(0, host.find('/'));
  if (host.empty() || host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io") {
    return kDockerHub;
  }
  return host;
}

Status check_login(const RegistriesConfig& registries, const std::string& registry, const Credentials& credentials) {
  auto endpoints = TRY_VALUE(registries.registry_endpoints(registry));
  std::optional<Error> last;
  for (const Endpoint& endpoint : endpoints) {
    Client client(endpoint, "", "", credentials);
    auto response = client.ping();
    if (!response && response.error().errno_value() == EACCES) return std::move(response.error());
    if (!response) {
      // This endpoint is not reachable (HTTPS to an HTTP registry, say): the next may be.
      last = std::move(response.error());
      continue;
    }
    if (response->status == 200) return ok();
    int kind = response->status == 401 || response->status == 403 ? EACCES : EIO;
    return Error(fmt::format("login to {}: {}", endpoint.url, registry_error(*response)), kind);
  }
  return last->add_context(fmt::format("login to {}", registry));
}

}  // namespace berth::registry
