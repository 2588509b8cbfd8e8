#include "launcher/run_options.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "core/files.h"
#include "core/strings.h"

namespace berth::launcher {

namespace {

std::string trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

// A port number 1..65535, for -p's messages.
Result<uint16_t> parse_port(const std::string& flag, const std::string& text, const char* what) {
  if (text.find('-') != std::string::npos)
    return make_error("-p {}: port ranges are not supported", flag);
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return make_error("-p {}: invalid {} \"{}\"", flag, what, text);
    value = std::min<uint32_t>(value * 10 + (c - '0'), 65536);
  }
  if (text.empty() || value == 0 || value > 65535)
    return make_error("-p {}: invalid {} \"{}\" (1-65535)", flag, what, text);
  return static_cast<uint16_t>(value);
}

Result<network::Protocol> parse_protocol(const std::string& flag, const std::string& text) {
  if (text == "tcp") return network::Protocol::Tcp;
  if (text == "udp") return network::Protocol::Udp;
  return make_error("-p {}: unknown protocol \"{}\" (tcp or udp)", flag, text);
}

}  // namespace

Result<network::PortRequest> parse_publish(const std::string& text) {
  network::PortRequest request;
  std::string ports = text;
  if (size_t slash = text.rfind('/'); slash != std::string::npos) {
    request.protocol = TRY_VALUE(parse_protocol(text, text.substr(slash + 1)));
    ports = text.substr(0, slash);
  }
  if (!ports.empty() && ports[0] == '[')
    return make_error("-p {}: IPv6 host addresses are not supported", text);
  std::vector<std::string> parts = split(ports, ':');
  if (parts.empty() || parts.size() > 3)
    return make_error("-p {}: expected [IP:]HOSTPORT:CTRPORT[/tcp|udp] or CTRPORT", text);
  request.container_port = TRY_VALUE(parse_port(text, parts.back(), "container port"));
  if (parts.size() >= 2 && !parts[parts.size() - 2].empty())
    request.host_port = TRY_VALUE(parse_port(text, parts[parts.size() - 2], "host port"));
  if (parts.size() == 3 && !parts[0].empty()) {
    auto ip = network::Ipv4::parse(parts[0]);
    if (!ip) return make_error("-p {}: {}", text, ip.error().message());
    if (ip->value != 0) request.host_ip = *ip;  // 0.0.0.0: every address, as no IP
  }
  return request;
}

Result<std::vector<network::PortRequest>> exposed_port_requests(
    const nlohmann::json& image_config, const std::vector<network::PortRequest>& published) {
  std::vector<network::PortRequest> requests;
  if (!image_config.is_object() || !image_config.contains("ExposedPorts")) return requests;
  const nlohmann::json& exposed = image_config["ExposedPorts"];
  if (!exposed.is_object()) return make_error("the image's ExposedPorts is not an object");
  for (const auto& [key, value] : exposed.items()) {
    auto request = parse_publish(key);
    if (!request) return make_error("the image's ExposedPorts \"{}\" is not PORT/PROTO", key);
    bool already = std::any_of(published.begin(), published.end(), [&](const auto& p) {
      return p.container_port == request->container_port && p.protocol == request->protocol;
    });
    if (!already) requests.push_back(*request);
  }
  return requests;
}

Result<VolumeFlag> parse_volume(const std::string& text) {
  std::vector<std::string> parts = split(text, ':');
  if (parts.size() < 2 || parts.size() > 3)
    return make_error("-v {}: expected HOST-DIR:CONTAINER-DIR[:ro|rw]", text);
  VolumeFlag volume{parts[0], parts[1], false};
  if (parts.size() == 3) {
    for (const std::string& mode : split(parts[2], ',')) {
      if (mode == "ro")
        volume.readonly = true;
      else if (mode != "rw")
        return make_error("-v {}: unknown mode \"{}\" (ro or rw)", text, mode);
    }
  }
  if (volume.host.empty() || volume.host[0] != '/')
    return make_error("-v {}: the host path must be absolute (named volumes are not supported)",
                      text);
  if (volume.container.empty() || volume.container[0] != '/')
    return make_error("-v {}: the container path must be absolute", text);
  if (volume.container == "/") return make_error("-v {}: cannot mount a volume on /", text);
  return volume;
}

Result<TmpfsFlag> parse_tmpfs(const std::string& text) {
  size_t colon = text.find(':');
  TmpfsFlag tmpfs{text.substr(0, colon), {}};
  if (tmpfs.container.empty() || tmpfs.container[0] != '/')
    return make_error("--tmpfs {}: the container path must be absolute", text);
  if (colon != std::string::npos)
    for (const std::string& option : split(text.substr(colon + 1), ','))
      if (!option.empty()) tmpfs.options.push_back(option);
  return tmpfs;
}

Result<int64_t> parse_memory_bytes(const std::string& text) {
  if (text.empty()) return make_error("--memory: empty value");
  char* end = nullptr;
  double number = std::strtod(text.c_str(), &end);
  std::string unit(end);
  std::transform(unit.begin(), unit.end(), unit.begin(), ::tolower);
  if (!unit.empty() && unit.back() == 'b' && unit.size() == 2) unit.pop_back();  // "mb" -> "m"
  double scale = 1;
  if (unit == "k")
    scale = 1024.0;
  else if (unit == "m")
    scale = 1024.0 * 1024;
  else if (unit == "g")
    scale = 1024.0 * 1024 * 1024;
  else if (!unit.empty() && unit != "b")
    return make_error("--memory {}: unknown unit \"{}\" (b, k, m, g)", text, unit);
  if (end == text.c_str() || !(number > 0))
    return make_error("--memory {}: not a positive size", text);
  auto bytes = static_cast<int64_t>(number * scale);
  // Docker's minimum: below this the container cannot even start its init.
  if (bytes < 6 * 1024 * 1024)
    return make_error("--memory {}: the minimum memory limit is 6m", text);
  return bytes;
}

Result<CpuQuota> parse_cpus(const std::string& text) {
  char* end = nullptr;
  double cpus = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !(cpus > 0))
    return make_error("--cpus {}: not a positive number", text);
  CpuQuota quota;
  quota.quota = static_cast<int64_t>(std::llround(cpus * static_cast<double>(quota.period)));
  return quota;
}

std::optional<std::string> expand_env_flag(const std::string& flag) {
  if (flag.find('=') != std::string::npos) return flag;
  const char* value = std::getenv(flag.c_str());
  if (!value) return std::nullopt;
  return flag + "=" + value;
}

Result<std::vector<std::string>> read_env_file(const std::string& path) {
  auto text = TRY_VALUE(read_file(path));
  std::vector<std::string> env;
  int line_number = 0;
  for (const std::string& raw : split(text, '\n')) {
    ++line_number;
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '=')
      return make_error("--env-file {} line {}: no variable name", path, line_number);
    if (auto entry = expand_env_flag(line)) env.push_back(*entry);
  }
  return env;
}

std::string normalize_capability(const std::string& name) {
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  if (upper == "ALL" || upper.rfind("CAP_", 0) == 0) return upper;
  return "CAP_" + upper;
}

}  // namespace berth::launcher
