// Docker's credential helpers: a program docker-credential-NAME (pass,
// secretservice, ecr-login, ...) found on PATH keeps the secrets that
// config.json then does not. Its protocol, one action per run, given as its
// only argument:
//
//   get    stdin: the server URL    stdout: {"ServerURL","Username","Secret"}
//   store  stdin: that JSON         stdout: nothing
//   erase  stdin: the server URL    stdout: nothing
//
// A failing helper exits non-zero with its message on stdout; the message
// "credentials not found in native keychain" means there are none. The
// Username "<token>" marks the Secret as an identity token.
#pragma once

#include <optional>
#include <string>

#include "core/error.h"
#include "rootfs/registry/credentials.h"

namespace berth::registry {

class CredentialHelper {
 public:
  // name: what config.json's credsStore or credHelpers says ("pass" runs
  // docker-credential-pass).
  explicit CredentialHelper(const std::string& name) : program_("docker-credential-" + name) {}

  const std::string& program() const { return program_; }

  // nullopt when the helper has none for server_url.
  Result<std::optional<Credentials>> get(const std::string& server_url) const;
  Status store(const std::string& server_url, const Credentials& credentials) const;
  // Erasing what the helper does not have is no error.
  Status erase(const std::string& server_url) const;

 private:
  struct Outcome {
    int wait_status = 0;
    std::string output;  // stdout
    std::string errors;  // stderr
  };
  // Runs the helper with action as its argument and input on its stdin,
  // without a shell; waits for it and reaps it.
  Result<Outcome> run(const char* action, const std::string& input) const;
  Error failure(const char* action, const Outcome& outcome) const;

  std::string program_;
};

}  // namespace berth::registry
