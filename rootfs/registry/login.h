// berth login: credentials checked against the registry before they are
// kept (in Docker's config.json, by the caller).
#pragma once

#include <string>

#include "core/error.h"
#include "rootfs/registry/credentials.h"
#include "rootfs/registry/registries.h"

namespace berth::registry {

// The registry a `docker login SERVER` argument names: "docker.io" for
// Docker Hub in any spelling (index.docker.io, https://index.docker.io/v1/),
// else host[:port] without scheme or path.
std::string login_registry(const std::string& server);

// GET /v2/ with the credentials (answering its Basic or Bearer challenge)
// at the registry's endpoints in turn. EACCES: the registry refused them.
Status check_login(const RegistriesConfig& registries, const std::string& registry, const Credentials& credentials);

}  // namespace berth::registry
