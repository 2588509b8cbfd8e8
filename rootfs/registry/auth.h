// Registry authentication as the distribution spec and Docker do it: a
// request goes out with what we know; a 401 names the scheme in its
// WWW-Authenticate challenge, and we answer it —
//   Basic:  the user's credentials on every request to that registry;
//   Bearer: a token from the challenge's realm for the scopes the request
//           needs (repository:NAME:pull[,push]), fetched with the
//           credentials (GET with Basic auth, or the OAuth2 refresh-token
//           POST when config.json holds an identity token), or
//           anonymously when there are none.
// Credentials go only to the registry's own host and to the realm it names.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "rootfs/registry/credentials.h"
#include "rootfs/registry/http.h"

namespace berth::registry {

struct Challenge {
  std::string scheme;                         // lower case: "basic", "bearer"
  std::map<std::string, std::string> params;  // realm, service, scope, error (names lower case)
};

// The challenges of a WWW-Authenticate header, in order. Quoted values may
// hold commas and backslash escapes.
std::vector<Challenge> parse_challenges(std::string_view header);

// "repository:NAME:ACTIONS", e.g. repository_scope("library/python", "pull").
std::string repository_scope(std::string_view repository, std::string_view actions);

class Authenticator {
 public:
  explicit Authenticator(std::optional<Credentials> credentials) : credentials_(std::move(credentials)) {}

  // The Authorization header line for a request that needs these scopes,
  // or "" when no challenge has been answered yet.
  std::string authorization(const std::vector<std::string>& scopes) const;

  // Answers a 401: learns the scheme and, for Bearer, fetches a token for
  // the scopes (and any the challenge adds). An error says why no token
  // could be had (the realm's own answer, e.g. "unauthorized: ...").
  Status answer(const Response& unauthorized, const std::vector<std::string>& scopes, const Http& http);

  bool has_credentials() const { return credentials_.has_value(); }

 private:
  Result<std::string> fetch_token(const std::vector<std::string>& scopes, const Http& http) const;

  std::optional<Credentials> credentials_;
  Challenge challenge_;
  std::map<std::string, std::string> tokens_;  // by the scopes' joined list
};

// "%XX"-encodes all but RFC 3986's unreserved characters.
std::string url_encode(std::string_view text);
// The message of a registry's error document ({"errors":[{"code","message"}]})
// as Docker prints it, "unauthorized: authentication required"; the HTTP
// status line when the body is not one.
std::string registry_error(const Response& response);

}  // namespace berth::registry
