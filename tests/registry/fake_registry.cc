#include "fake_registry.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace berth::test {

namespace {
// Debian's python3: the script needs nothing beyond its standard library.
constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kScript = BERTH_FAKE_REGISTRY_SCRIPT;
}  // namespace

FakeRegistry::FakeRegistry(const std::string& layout_dir, const std::string& repository, const std::string& tag,
                           const FakeRegistryOptions& options)
    : dir_("berth-fake-registry"), log_(dir_.path() + "/requests.jsonl") {
  std::vector<std::string> argv = {kPython, kScript, layout_dir, repository, tag, "--fault", options.fault,
                                   "--log", log_, "--count", std::to_string(options.count)};
  if (!options.username.empty()) {
    argv.insert(argv.end(), {"--username", options.username, "--password", options.password});
  }
  process_.emplace(BackgroundProcess::start(argv, {.die_with_parent = true}));
  // It prints "PORT PORT2" once it listens.
  bool listening = eventually(
      [&] { return process_->out().find('\n') != std::string::npos || !process_alive(process_->pid()); }, 15s,
      10ms);
  std::istringstream ports(process_->out());
  if (!listening || !(ports >> port_ >> redirect_port_)) {
    std::ostringstream message;
    message << "start the fake registry (" << options.fault << "): ";
    message << (listening ? "it printed no ports: " : "no ports within 15 s: ") << process_->wait(0ms);
    throw std::runtime_error(message.str());
  }
}

// The BackgroundProcess kills and reaps the script, before dir_ goes.
FakeRegistry::~FakeRegistry() = default;

std::string FakeRegistry::host() const { return "127.0.0.1:" + std::to_string(port_); }
std::string FakeRegistry::url() const { return "http://" + host(); }

std::vector<FakeRequest> FakeRegistry::requests() const {
  std::vector<FakeRequest> requests;
  std::ifstream in(log_);
  for (std::string line; std::getline(in, line);) {
    auto entry = nlohmann::json::parse(line, nullptr, false);
    if (!entry.is_object()) continue;  // a line being written
    requests.push_back({.time = entry.value("time", 0.0),
                        .port = entry.value("port", 0),
                        .method = entry.value("method", ""),
                        .path = entry.value("path", ""),
                        .range = entry.value("range", ""),
                        .authorization = entry.value("authorization", ""),
                        .status = entry.value("status", 0)});
  }
  return requests;
}

}  // namespace berth::test
