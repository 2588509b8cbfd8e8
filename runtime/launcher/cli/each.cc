#include "launcher/cli/commands.h"

namespace berth::launcher_cli {

// Docker acts on each named container and reports each failure, exiting
// non-zero if any failed.
CommandResult for_each_container(const std::vector<std::string>& names,
                                 const std::function<Status(const std::string&)>& action) {
  Error last;
  bool failed = false;
  for (const std::string& name : names) {
    if (auto status = action(name); !status) {
      if (failed) fmt::print(stderr, "berth: {}\n", last.message());
      last = status.error();
      failed = true;
      continue;
    }
    fmt::print("{}\n", name);
  }
  if (failed) return last;
  return 0;
}

}  // namespace berth::launcher_cli
