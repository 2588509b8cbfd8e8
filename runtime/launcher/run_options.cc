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

}  // namespace

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
