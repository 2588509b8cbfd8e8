#include "rootfs/registry/registries.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/files.h"

namespace berth::registry {
namespace {

using nlohmann::json;

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// "host", "host:port", "[::1]:port" -> the host alone.
std::string host_of(const std::string& registry) {
  if (registry.starts_with('[')) {
    size_t close = registry.find(']');
    return registry.substr(1, close == std::string::npos ? std::string::npos : close - 1);
  }
  if (std::count(registry.begin(), registry.end(), ':') > 1) return registry;  // a bare IPv6 address
  return registry.substr(0, registry.find(':'));
}

Result<std::vector<std::string>> string_list(const json& value, const std::string& where) {
  if (!value.is_array()) return make_error("{}: not a list of strings", where);
  std::vector<std::string> out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string() || value[i].get<std::string>().empty()) {
      return make_error("{}[{}]: not a non-empty string", where, i);
    }
    out.push_back(value[i].get<std::string>());
  }
  return out;
}

Status check_mirror_url(const std::string& url, const std::string& where) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    return make_error("{}: \"{}\" is not an http:// or https:// URL", where, url);
  }
  if (url_host(url).empty()) return make_error("{}: \"{}\" names no host", where, url);
  return ok();
}

std::string api_host(const std::string& registry) {
  return registry == kDockerHub ? url_host(kDockerHubApi) : registry;
}

}  // namespace

bool is_loopback_registry(const std::string& registry) {
  std::string host = host_of(registry);
  if (host == "localhost") return true;
  in_addr v4;
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

std::string registries_config_path(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("BERTH_REGISTRIES_CONFIG");
  return env && *env ? env : kDefaultRegistriesConfig;
}

Result<RegistriesConfig> RegistriesConfig::load(const std::string& path) {
  RegistriesConfig config;
  size_t slash = path.rfind('/');
  config.certs_dir_ = (slash == std::string::npos ? std::string(".") : path.substr(0, slash)) + "/certs.d";
  if (!exists(path)) return config;
  std::string text = TRY_VALUE(read_file(path));
  json document;
  try {
    document = json::parse(text);
  } catch (const json::parse_error& e) {
    return make_error("{}: not valid JSON: {}", path, e.what());
  }
  if (!document.is_object()) return make_error("{}: not a JSON object", path);
  for (const auto& [key, value] : document.items()) {
    if (key == "mirrors") {
      if (!value.is_object()) return make_error("{}: \"mirrors\" is not an object", path);
      for (const auto& [registry, urls] : value.items()) {
        std::string where = fmt::format("{}: mirrors.{}", path, registry);
        auto list = TRY_VALUE(string_list(urls, where));
        for (size_t i = 0; i < list.size(); ++i) TRY(check_mirror_url(list[i], fmt::format("{}[{}]", where, i)));
        config.mirrors_[registry] = std::move(list);
      }
    } else if (key == "insecure-registries") {
      config.insecure_ = TRY_VALUE(string_list(value, path + ": insecure-registries"));
    } else {
      return make_error("{}: unknown key \"{}\" (known: mirrors, insecure-registries)", path, key);
    }
  }
  return config;
}

bool RegistriesConfig::is_insecure(const std::string& registry) const {
  return is_loopback_registry(registry) ||
         std::find(insecure_.begin(), insecure_.end(), registry) != insecure_.end();
}

Result<Tls> RegistriesConfig::tls_for(const std::string& host, bool verify) const {
  Tls tls{.verify = verify};
  std::string dir = certs_dir_ + "/" + host;
  if (!exists(dir)) return tls;
  if (exists(dir + "/ca.crt")) {
    // A CA given for the registry is meant to be checked, insecure or not.
    tls.ca_file = dir + "/ca.crt";
    tls.verify = true;
  }
  bool cert = exists(dir + "/client.cert");
  bool key = exists(dir + "/client.key");
  if (cert != key) return make_error("{}: client.cert and client.key go together; only {} is there", dir,
                                     cert ? "client.cert" : "client.key");
  if (cert) {
    tls.client_cert = dir + "/client.cert";
    tls.client_key = dir + "/client.key";
  }
  return tls;
}

Result<std::vector<Endpoint>> RegistriesConfig::registry_endpoints(const std::string& registry) const {
  std::string host = api_host(registry);
  std::vector<Endpoint> endpoints;
  Tls tls = TRY_VALUE(tls_for(host, !is_insecure(registry)));
  endpoints.push_back(Endpoint{.url = "https://" + host, .tls = tls});
  // Plain HTTP is the fallback of an insecure registry, unless it has a CA
  // to be checked against.
  if (!tls.verify) endpoints.push_back(Endpoint{.url = "http://" + host});
  return endpoints;
}

Result<std::vector<Endpoint>> RegistriesConfig::pull_endpoints(const std::string& registry) const {
  std::vector<Endpoint> endpoints;
  if (auto mirrors = mirrors_.find(registry); mirrors != mirrors_.end()) {
    for (const std::string& url : mirrors->second) {
      std::string base = url.ends_with('/') ? url.substr(0, url.size() - 1) : url;
      std::string host = url_host(base);
      endpoints.push_back(Endpoint{.url = base, .tls = TRY_VALUE(tls_for(host, !is_insecure(host))), .mirror = true});
    }
  }
  auto own = TRY_VALUE(registry_endpoints(registry));
  endpoints.insert(endpoints.end(), own.begin(), own.end());
  return endpoints;
}

}  // namespace berth::registry
