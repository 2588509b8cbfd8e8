#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/c_handle.h"
#include "oci_cli/commands.h"

namespace berth::oci_cli {
namespace {

struct ListFlags {
  std::string format = "table";
  bool quiet = false;
};

// The user name of uid from /etc/passwd. Read directly rather than through
// getpwuid_r: berth-runtime is linked statically, where NSS would have to
// dlopen the host's glibc modules.
std::string user_name(uid_t uid) {
  CHandle<FILE, fclose> passwd(std::fopen("/etc/passwd", "re"));
  if (!passwd) return "";
  char line[1024];
  while (std::fgets(line, sizeof line, passwd.get())) {
    // name:password:uid:...
    std::string entry(line);
    size_t first = entry.find(':');
    size_t second = first == std::string::npos ? first : entry.find(':', first + 1);
    if (second == std::string::npos) continue;
    std::string uid_field = std::to_string(uid) + ":";
    if (entry.compare(second + 1, uid_field.size(), uid_field) == 0) return entry.substr(0, first);
  }
  return "";
}

// runc's OWNER is the user owning the container's state directory
// (<root>/<id>), by name, or "#uid" when the uid has no passwd entry.
std::string owner_of(const std::string& root, const std::string& id) {
  struct stat st;
  if (::stat((root + "/" + id).c_str(), &st) != 0) return "";
  std::string name = user_name(st.st_uid);
  return name.empty() ? fmt::format("#{}", st.st_uid) : name;
}

// Display width in columns, counting UTF-8 code points as Go's tabwriter does.
size_t display_width(const std::string& text) {
  size_t width = 0;
  for (unsigned char c : text) width += (c & 0xc0) != 0x80;
  return width;
}

// runc's text/tabwriter settings (minwidth 12, padding 3, spaces): every
// column but the last is padded to its widest cell plus 3, at least 12.
void print_table(const std::string& root, const std::vector<container::ContainerState>& list) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
  for (const auto& state : list)
    rows.push_back({state.id, std::to_string(state.pid), container::to_string(state.status),
                    state.bundle, state.created, owner_of(root, state.id)});
  std::vector<size_t> widths(rows.front().size() - 1, 12);
  for (const auto& row : rows)
    for (size_t column = 0; column + 1 < row.size(); ++column)
      widths[column] = std::max(widths[column], display_width(row[column]) + 3);
  std::string out;
  for (const auto& row : rows) {
    for (size_t column = 0; column + 1 < row.size(); ++column)
      out += row[column] + std::string(widths[column] - display_width(row[column]), ' ');
    out += row.back() + "\n";
  }
  std::fputs(out.c_str(), stdout);
}

// runc's list fields, in its order; runc encodes an empty list as null.
void print_json(const std::string& root, const std::vector<container::ContainerState>& list) {
  nlohmann::ordered_json entries = nullptr;
  for (const auto& state : list) {
    nlohmann::ordered_json entry;
    entry["ociVersion"] = state.oci_version;
    entry["id"] = state.id;
    entry["pid"] = state.pid;
    entry["status"] = container::to_string(state.status);
    entry["bundle"] = state.bundle;
    entry["rootfs"] = state.rootfs;
    entry["created"] = state.created;
    if (!state.annotations.empty()) entry["annotations"] = state.annotations;
    entry["owner"] = owner_of(root, state.id);
    entries.push_back(std::move(entry));
  }
  // Bundle paths are bytes: replace what is not UTF-8 rather than fail.
  std::string text = entries.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::printf("%s\n", text.c_str());
}

}  // namespace

Command register_list(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command =
      app.add_subcommand("list", "lists containers started by berth-runtime with the given root");
  auto flags = std::make_shared<ListFlags>();
  command->add_option("-f,--format", flags->format, "select one of: table or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "json"}));
  command->add_flag("-q,--quiet", flags->quiet, "display only container IDs");
  return {command, [&globals, flags]() -> CommandResult {
            auto containers = TRY_VALUE(container::list_containers(globals.root));
            if (flags->quiet) {
              for (const auto& state : containers) std::printf("%s\n", state.id.c_str());
              return 0;
            }
            if (flags->format == "json")
              print_json(globals.root, containers);
            else
              print_table(globals.root, containers);
            return 0;
          }};
}

}  // namespace berth::oci_cli
