// What berth presents to a registry that asks who we are, and where it
// keeps it: Docker's ~/.docker/config.json, so that a `docker login` works
// for berth and the other way round.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace berth::registry {

struct Credentials {
  std::string username;
  std::string password;
  // An OAuth2 refresh token (config.json's "identitytoken"); when set it is
  // exchanged at the token endpoint instead of username and password.
  std::string identity_token;
};

// Docker Hub's key in config.json, whichever of its names was used.
constexpr std::string_view kDockerHubCredentialKey = "https://index.docker.io/v1/";

// $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json (the home
// directory of the passwd entry without $HOME).
std::string docker_config_file();

// The key Docker files a server's credentials under: docker.io,
// index.docker.io and registry-1.docker.io are kDockerHubCredentialKey;
// any other server is its host[:port], without a scheme or a path
// ("https://127.0.0.1:5000/v2/" -> "127.0.0.1:5000").
std::string credential_key(std::string_view server);

// The credentials of a Docker config file, as Docker reads and writes them:
//   "auths": {KEY: {"auth": base64("user:password"), "identitytoken": ...}}
// (or "username"/"password" fields instead of "auth"), unless a helper
// keeps them: "credHelpers": {KEY: NAME} for one server, else
// "credsStore": NAME for all (see credential_helper.h), config.json then
// holding only an empty "auths" entry for the server. An entry under
// another spelling of the same key ("docker.io", "https://host:5000/v1/")
// counts as the key's. A missing file is a config without credentials.
class CredentialStore {
 public:
  explicit CredentialStore(std::string config_file) : config_file_(std::move(config_file)) {}

  const std::string& config_file() const { return config_file_; }

  // nullopt when there are none for server.
  Result<std::optional<Credentials>> get(std::string_view server) const;
  // Writes config.json (made, directory 0700, if missing) keeping every
  // other key of it: atomically, through a temp file beside it and
  // rename(2), mode 0600; a symlinked config.json is written at its target.
  Status store(std::string_view server, const Credentials& credentials);
  // Removes the server's credentials (from its helper too); none is fine.
  Status erase(std::string_view server);

 private:
  std::string config_file_;
};

}  // namespace berth::registry
