// What berth presents to a registry that asks who we are.
#pragma once

#include <string>

namespace berth::registry {

struct Credentials {
  std::string username;
  std::string password;
  // An OAuth2 refresh token (config.json's "identitytoken"); when set it is
  // exchanged at the token endpoint instead of username and password.
  std::string identity_token;
};

}  // namespace berth::registry
