// A registry that misbehaves on purpose (tests/registry/fake_registry.py):
// it serves one image of an OCI layout and breaks the way its fault says
// (a tampered blob, a dropped connection, 429s, a redirect...), the bad
// cases a real docker-registry cannot be made to produce. It records every
// request it answered, so a test can check what berth sent. Killed and
// reaped with its owner; it dies with the test should that crash.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

namespace berth::test {

struct FakeRegistryOptions {
  std::string fault = "none";  // a mode of fake_registry.py
  int count = 2;               // retry-after, server-error-then-ok: how many bad answers
  // Basic auth on every request to the registry's own port.
  std::string username, password;
};

// One request the fake answered, in the order they came.
struct FakeRequest {
  double time = 0;  // seconds since the epoch, when it arrived
  int port = 0;
  std::string method, path, range, authorization;
  int status = 0;  // 0 if it hung up without an answer
};

class FakeRegistry {
 public:
  // Serves the image the layout's index.json tags `tag` as repository:tag.
  // Returns once it listens; throws std::runtime_error if it does not.
  FakeRegistry(const std::string& layout_dir, const std::string& repository, const std::string& tag,
               const FakeRegistryOptions& options = {});
  FakeRegistry(const FakeRegistry&) = delete;
  FakeRegistry& operator=(const FakeRegistry&) = delete;
  ~FakeRegistry();  // kills and reaps it

  int port() const { return port_; }
  // The second listener a redirect-blob answer sends blobs to.
  int redirect_port() const { return redirect_port_; }
  std::string host() const;  // "127.0.0.1:PORT"
  std::string url() const;   // "http://127.0.0.1:PORT"
  std::vector<FakeRequest> requests() const;

 private:
  TempDir dir_;  // the request log; declared first, so removed after the kill
  std::string log_;
  std::optional<BackgroundProcess> process_;
  int port_ = 0, redirect_port_ = 0;
};

}  // namespace berth::test
