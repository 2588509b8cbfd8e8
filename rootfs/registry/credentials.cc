#include "rootfs/registry/credentials.h"

#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "core/c_handle.h"
#include "core/defer.h"
#include "core/files.h"
#include "rootfs/registry/base64.h"
#include "rootfs/registry/credential_helper.h"

namespace berth::registry {

namespace {

// Ordered: a config.json written back keeps its keys where they were.
using Config = nlohmann::ordered_json;

std::string home_directory() {
  if (const char* home = ::getenv("HOME"); home && *home) return home;
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size > 0 ? static_cast<size_t>(size) : 16384);
  struct passwd entry;
  struct passwd* found = nullptr;
  if (::getpwuid_r(::getuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found)
    return found->pw_dir;
  return "/";
}

// config.json's top-level keys this file reads, with the type each must have.
Status check_config_types(const Config& config, const std::string& path) {
  if (!config.is_object()) return make_error("read {}: not a JSON object", path);
  for (const char* key : {"auths", "credHelpers"})
    if (config.contains(key) && !config.at(key).is_object())
      return make_error("read {}: \"{}\" is not an object", path, key);
  if (config.contains("credsStore") && !config.at("credsStore").is_string())
    return make_error("read {}: \"credsStore\" is not a string", path);
  return ok();
}

// A missing file (or an empty one, as Docker takes it) is an empty config.
Result<Config> read_config(const std::string& path) {
  auto fd = open_file(path, O_RDONLY);
  if (!fd && fd.error().errno_value() == ENOENT) return Config::object();
  if (!fd) return fd.error().add_context("read " + path);
  auto text = read_fd(fd->get());
  if (!text) return text.error().add_context("read " + path);
  if (text->find_first_not_of(" \t\r\n") == std::string::npos) return Config::object();
  Config config;
  try {
    config = Config::parse(text.value());
  } catch (const Config::parse_error& e) {
    // what() is "[json.exception.parse_error.101] parse error at line 3,
    // column 1: <detail>"; the line is what a person editing it needs.
    std::string what = e.what();
    size_t bracket = what.find("] ");
    return make_error("read {}: {}", path,
                      bracket == std::string::npos ? what : what.substr(bracket + 2));
  }
  TRY(check_config_types(config, path));
  return config;
}

// The entry of key in an object keyed by servers (auths, credHelpers): the
// key's own, else one under another spelling of it.
Config::const_iterator find_entry(const Config& servers, const std::string& key) {
  if (auto exact = servers.find(key); exact != servers.end()) return exact;
  for (auto it = servers.begin(); it != servers.end(); ++it)
    if (credential_key(it.key()) == key) return it;
  return servers.end();
}

// The helper that keeps key's credentials ("" for config.json itself):
// credHelpers for the server, else credsStore.
Result<std::string> helper_name(const Config& config, const std::string& key,
                                const std::string& path) {
  if (config.contains("credHelpers")) {
    const Config& helpers = config.at("credHelpers");
    if (auto helper = find_entry(helpers, key); helper != helpers.end()) {
      if (!helper->is_string())
        return make_error("read {}: credHelpers[\"{}\"] is not a string", path, helper.key());
      if (!helper->get<std::string>().empty()) return helper->get<std::string>();
    }
  }
  if (config.contains("credsStore")) return config.at("credsStore").get<std::string>();
  return std::string();
}

Result<std::optional<Credentials>> decode_entry(const Config& entry, const std::string& where) {
  if (!entry.is_object()) return make_error("{} is not an object", where);
  auto field = [&](const char* name) -> Result<std::string> {
    if (!entry.contains(name)) return std::string();
    if (!entry.at(name).is_string()) return make_error("{}.{} is not a string", where, name);
    return entry.at(name).get<std::string>();
  };
  Credentials credentials;
  std::string auth = TRY_VALUE(field("auth"));
  if (!auth.empty()) {
    auto decoded = base64_decode(auth);
    if (!decoded) return decoded.error().add_context(where + ".auth");
    size_t colon = decoded->find(':');
    if (colon == std::string::npos)
      return make_error("{}.auth is not base64 of USER:PASSWORD (no ':')", where);
    credentials.username = decoded->substr(0, colon);
    credentials.password = decoded->substr(colon + 1);
  } else {
    credentials.username = TRY_VALUE(field("username"));
    credentials.password = TRY_VALUE(field("password"));
  }
  credentials.identity_token = TRY_VALUE(field("identitytoken"));
  if (credentials.username.empty() && credentials.password.empty() &&
      credentials.identity_token.empty())
    return std::optional<Credentials>();
  return std::optional<Credentials>(std::move(credentials));
}

// Through a temp file beside the target and rename(2): a reader (docker
// itself, say) sees the old file or the new one, never half of it.
Status write_config(const std::string& path, const Config& config) {
  // A symlinked config.json (dotfiles kept elsewhere) is written at its
  // target, as Docker does, so that the link stays.
  std::string target = path;
  if (CHandle<char, ::free> resolved(::realpath(path.c_str(), nullptr)); resolved)
    target = resolved.get();
  size_t slash = target.rfind('/');
  std::string dir = slash == std::string::npos ? "." : target.substr(0, slash);
  TRY_CTX(make_directories(dir, 0700), "write {}", path);

  std::string temp = target + ".XXXXXX";
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd) return sys_error("write {}: create a temp file in {}", path, dir);
  Defer remove_temp([&] { ::unlink(temp.c_str()); });
  if (::fchmod(fd.get(), 0600) < 0) return sys_error("write {}: chmod 0600 {}", path, temp);
  // Docker's layout (tab-indented); text that is not UTF-8 is replaced, not
  // a reason to lose the login.
  std::string text = config.dump(1, '\t', false, Config::error_handler_t::replace) + "\n";
  TRY_CTX(write_all(fd.get(), text.data(), text.size()), "write {}", temp);
  if (::fsync(fd.get()) < 0) return sys_error("write {}: fsync {}", path, temp);
  fd.reset();
  if (::rename(temp.c_str(), target.c_str()) < 0)
    return sys_error("write {}: rename {} to {}", path, temp, target);
  remove_temp.release();
  return ok();
}

}  // namespace

std::string docker_config_file() {
  if (const char* dir = ::getenv("DOCKER_CONFIG"); dir && *dir)
    return std::string(dir) + "/config.json";
  std::string home = home_directory();
  return home + (home.ends_with('/') ? "" : "/") + ".docker/config.json";
}

std::string credential_key(std::string_view server) {
  std::string_view host = server;
  for (std::string_view scheme : {"https://", "http://"})
    if (host.starts_with(scheme)) {
      host.remove_prefix(scheme.size());
      break;
    }
  host = host.substr(0, host.find('/'));
  if (host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io")
    return std::string(kDockerHubCredentialKey);
  return std::string(host);
}

Result<std::optional<Credentials>> CredentialStore::get(std::string_view server) const {
  Config config = TRY_VALUE(read_config(config_file_));
  std::string key = credential_key(server);
  std::string helper = TRY_VALUE(helper_name(config, key, config_file_));
  if (!helper.empty()) return CredentialHelper(helper).get(key);
  if (!config.contains("auths")) return std::optional<Credentials>();
  const Config& auths = config.at("auths");
  auto entry = find_entry(auths, key);
  if (entry == auths.end()) return std::optional<Credentials>();
  auto credentials = decode_entry(*entry, fmt::format("auths[\"{}\"]", entry.key()));
  if (!credentials) return credentials.error().add_context("read " + config_file_);
  return credentials;
}

Status CredentialStore::store(std::string_view server, const Credentials& credentials) {
  Config config = TRY_VALUE(read_config(config_file_));
  std::string key = credential_key(server);
  std::string helper = TRY_VALUE(helper_name(config, key, config_file_));
  if (!helper.empty()) TRY(CredentialHelper(helper).store(key, credentials));

  if (!config.contains("auths")) config["auths"] = Config::object();
  Config& entry = config["auths"][key];
  if (!entry.is_object()) entry = Config::object();
  // Other fields of the entry (an "email" of old) stay.
  for (const char* field : {"auth", "username", "password", "identitytoken"}) entry.erase(field);
  // With a helper the entry stays, empty, as Docker leaves it: it says
  // where the user logged in.
  if (helper.empty()) {
    if (!credentials.username.empty() || !credentials.password.empty())
      entry["auth"] = base64_encode(credentials.username + ":" + credentials.password);
    if (!credentials.identity_token.empty()) entry["identitytoken"] = credentials.identity_token;
  }
  return write_config(config_file_, config);
}

Status CredentialStore::erase(std::string_view server) {
  Config config = TRY_VALUE(read_config(config_file_));
  std::string key = credential_key(server);
  std::string helper = TRY_VALUE(helper_name(config, key, config_file_));
  if (!helper.empty()) TRY(CredentialHelper(helper).erase(key));
  if (!config.contains("auths")) return ok();
  Config& auths = config["auths"];
  size_t before = auths.size();
  for (auto it = auths.begin(); it != auths.end();)
    it = credential_key(it.key()) == key ? auths.erase(it) : std::next(it);
  if (auths.size() == before) return ok();
  return write_config(config_file_, config);
}

}  // namespace berth::registry
