// The spec's mount options, turned into mount(2) flags, propagation,
// mount_setattr(2) attributes and the filesystem's data string, with runc's
// option names and semantics.
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <string_view>

#include "linux/mount_internal.h"

namespace berth::linux {

namespace {

struct FlagOption {
  std::string_view name;
  bool clear;  // the option removes the flag ("rw" removes MS_RDONLY)
  unsigned long flag;
};

// As runc's specconv mountFlags table; "defaults" sets nothing.
constexpr FlagOption kFlagOptions[] = {
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"atime", true, MS_NOATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"diratime", true, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
    {"lazytime", false, MS_LAZYTIME},
    {"nolazytime", true, MS_LAZYTIME},
    {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},
    {"iversion", false, MS_I_VERSION},
    {"noiversion", true, MS_I_VERSION},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"symfollow", true, MS_NOSYMFOLLOW},
};

struct PropagationOption {
  std::string_view name;
  unsigned long flags;
};

constexpr PropagationOption kPropagationOptions[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

// Recursive attributes, applied with mount_setattr(AT_RECURSIVE) to the
// mount and everything below it (runc's "rro", "rnosuid", ...).
constexpr FlagOption kRecursiveAttrOptions[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},
    {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},
    {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},
    {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},
    {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", false, MOUNT_ATTR_RELATIME},
    {"rnorelatime", true, MOUNT_ATTR_RELATIME},
    {"rnoatime", false, MOUNT_ATTR_NOATIME},
    {"ratime", true, MOUNT_ATTR_NOATIME},
    {"rstrictatime", false, MOUNT_ATTR_STRICTATIME},
    {"rnostrictatime", true, MOUNT_ATTR_STRICTATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

// runc options berth does not implement; passed on as data they would reach
// the filesystem as an unknown option and fail with a bare EINVAL.
constexpr std::string_view kUnsupportedOptions[] = {"tmpcopyup", "idmap", "ridmap"};

template <typename Table>
auto find_option(const Table& table, std::string_view name) -> decltype(&table[0]) {
  for (const auto& entry : table)
    if (entry.name == name) return &entry;
  return nullptr;
}

bool is_unsupported(std::string_view option) {
  for (std::string_view name : kUnsupportedOptions)
    if (name == option) return true;
  return false;
}

}  // namespace

Result<MountOptions> parse_mount_options(const std::vector<std::string>& options) {
  MountOptions parsed;
  for (size_t i = 0; i < options.size(); ++i) {
    const std::string& option = options[i];
    if (option.empty()) return make_error("options[{}]: empty mount option", i);
    if (option == "defaults") continue;
    if (const FlagOption* f = find_option(kFlagOptions, option)) {
      if (f->clear) {
        parsed.flags &= ~f->flag;
        parsed.cleared_flags |= f->flag;
      } else {
        parsed.flags |= f->flag;
        parsed.cleared_flags &= ~f->flag;
      }
    } else if (const PropagationOption* p = find_option(kPropagationOptions, option)) {
      // One propagation type per mount(2) call: the last option wins.
      parsed.propagation = p->flags;
    } else if (const FlagOption* r = find_option(kRecursiveAttrOptions, option)) {
      if (r->clear) {
        parsed.recursive_attr_clear |= r->flag;
        parsed.recursive_attr_set &= ~r->flag;
      } else {
        parsed.recursive_attr_set |= r->flag;
        parsed.recursive_attr_clear &= ~r->flag;
        // mount_setattr(2): the atime mode is a field, not a flag; setting
        // one needs the whole field in attr_clr.
        if ((r->flag & MOUNT_ATTR__ATIME) == r->flag)
          parsed.recursive_attr_clear |= MOUNT_ATTR__ATIME;
      }
    } else if (is_unsupported(option)) {
      return make_error("options[{}]: mount option \"{}\" is not supported", i, option);
    } else {
      if (!parsed.data.empty()) parsed.data += ',';
      parsed.data += option;
    }
  }
  return parsed;
}

bool is_bind_mount(const spec::Mount& mount, const MountOptions& options) {
  return mount.type == "bind" || (options.flags & MS_BIND) != 0;
}

unsigned long propagation_flags(spec::Propagation propagation) {
  switch (propagation) {
    case spec::Propagation::Unset:
      return 0;
    case spec::Propagation::Private:
      return MS_PRIVATE;
    case spec::Propagation::Slave:
      return MS_SLAVE;
    case spec::Propagation::Shared:
      return MS_SHARED;
    case spec::Propagation::Unbindable:
      return MS_UNBINDABLE;
    case spec::Propagation::RPrivate:
      return MS_PRIVATE | MS_REC;
    case spec::Propagation::RSlave:
      return MS_SLAVE | MS_REC;
    case spec::Propagation::RShared:
      return MS_SHARED | MS_REC;
    case spec::Propagation::RUnbindable:
      return MS_UNBINDABLE | MS_REC;
  }
  return 0;
}

std::string describe_mount_flags(unsigned long flags) {
  constexpr struct {
    unsigned long flag;
    std::string_view name;
  } kNames[] = {
      {MS_RDONLY, "ro"},
      {MS_NOSUID, "nosuid"},
      {MS_NODEV, "nodev"},
      {MS_NOEXEC, "noexec"},
      {MS_SYNCHRONOUS, "sync"},
      {MS_DIRSYNC, "dirsync"},
      {MS_MANDLOCK, "mand"},
      {MS_NOATIME, "noatime"},
      {MS_NODIRATIME, "nodiratime"},
      {MS_RELATIME, "relatime"},
      {MS_STRICTATIME, "strictatime"},
      {MS_LAZYTIME, "lazytime"},
      {MS_SILENT, "silent"},
      {MS_I_VERSION, "iversion"},
      {MS_NOSYMFOLLOW, "nosymfollow"},
      {MS_REMOUNT, "remount"},
      {MS_BIND, "bind"},
      {MS_MOVE, "move"},
      {MS_REC, "rec"},
      {MS_PRIVATE, "private"},
      {MS_SLAVE, "slave"},
      {MS_SHARED, "shared"},
      {MS_UNBINDABLE, "unbindable"},
  };
  std::string text;
  for (const auto& n : kNames) {
    if (!(flags & n.flag)) continue;
    if (!text.empty()) text += ',';
    text += n.name;
  }
  return text.empty() ? "none" : text;
}

unsigned long mount_flags_from_statfs(const struct statfs& st) {
  constexpr unsigned long kStNoSymfollow = 0x2000;  // <linux/statfs.h>; glibc 2.36 lacks it
  // ST_* and MS_* share values for most flags, but not by contract.
  constexpr struct {
    unsigned long st, ms;
  } kMap[] = {
      {ST_RDONLY, MS_RDONLY},
      {ST_NOSUID, MS_NOSUID},
      {ST_NODEV, MS_NODEV},
      {ST_NOEXEC, MS_NOEXEC},
      {ST_SYNCHRONOUS, MS_SYNCHRONOUS},
      {ST_MANDLOCK, MS_MANDLOCK},
      {ST_NOATIME, MS_NOATIME},
      {ST_NODIRATIME, MS_NODIRATIME},
      {ST_RELATIME, MS_RELATIME},
      {kStNoSymfollow, MS_NOSYMFOLLOW},
  };
  unsigned long flags = 0;
  for (const auto& m : kMap)
    if (static_cast<unsigned long>(st.f_flags) & m.st) flags |= m.ms;
  // The kernel has no "strictatime" bit to report: a mount with none of the
  // atime modes set is strictatime.
  if (!(flags & (MS_NOATIME | MS_RELATIME))) flags |= MS_STRICTATIME;
  return flags;
}

}  // namespace berth::linux
