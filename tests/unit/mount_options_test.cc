// Mount options as runc reads them: flags set and cleared, propagation,
// recursive mount_setattr attributes, and everything else as data.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <string>
#include <vector>

#include "linux/mount_internal.h"
#include "linux/mounts.h"

namespace berth::linux {
namespace {

MountOptions parse_ok(const std::vector<std::string>& options) {
  auto parsed = parse_mount_options(options);
  EXPECT_TRUE(parsed.has_value()) << parsed.error().message();
  return parsed ? parsed.value() : MountOptions{};
}

TEST(MountOptions, RuncDefaultDevMountSplitsFlagsFromData) {
  MountOptions o = parse_ok({"nosuid", "strictatime", "mode=755", "size=65536k"});
  EXPECT_EQ(o.flags, MS_NOSUID | MS_STRICTATIME);
  EXPECT_EQ(o.data, "mode=755,size=65536k");
  EXPECT_EQ(o.propagation, 0u);
  EXPECT_EQ(o.cleared_flags, 0u);
}

TEST(MountOptions, DevptsDataKeepsOrderAndValueOnlyOptions) {
  MountOptions o =
      parse_ok({"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"});
  EXPECT_EQ(o.flags, MS_NOSUID | MS_NOEXEC);
  EXPECT_EQ(o.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
}

TEST(MountOptions, EverySettingOptionSetsItsFlag) {
  const std::pair<const char*, unsigned long> cases[] = {
      {"ro", MS_RDONLY},          {"nosuid", MS_NOSUID},
      {"nodev", MS_NODEV},        {"noexec", MS_NOEXEC},
      {"sync", MS_SYNCHRONOUS},   {"dirsync", MS_DIRSYNC},
      {"remount", MS_REMOUNT},    {"mand", MS_MANDLOCK},
      {"noatime", MS_NOATIME},    {"nodiratime", MS_NODIRATIME},
      {"relatime", MS_RELATIME},  {"strictatime", MS_STRICTATIME},
      {"bind", MS_BIND},          {"rbind", MS_BIND | MS_REC},
      {"lazytime", MS_LAZYTIME},  {"silent", MS_SILENT},
      {"iversion", MS_I_VERSION},
  };
  for (const auto& [name, flag] : cases) {
    MountOptions o = parse_ok({name});
    EXPECT_EQ(o.flags, flag) << name;
    EXPECT_EQ(o.data, "") << name;
  }
}

TEST(MountOptions, ClearingOptionsRemoveTheFlagAndRecordTheClear) {
  const std::pair<const char*, const char*> pairs[] = {
      {"ro", "rw"},
      {"nosuid", "suid"},
      {"nodev", "dev"},
      {"noexec", "exec"},
      {"sync", "async"},
      {"mand", "nomand"},
      {"noatime", "atime"},
      {"nodiratime", "diratime"},
      {"relatime", "norelatime"},
      {"strictatime", "nostrictatime"},
      {"lazytime", "nolazytime"},
      {"silent", "loud"},
      {"iversion", "noiversion"},
  };
  for (const auto& [set, clear] : pairs) {
    MountOptions o = parse_ok({"dirsync", set, clear});
    EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_DIRSYNC)) << set << "," << clear;
    EXPECT_NE(o.cleared_flags, 0u) << clear;
    EXPECT_EQ(o.data, "") << clear;
  }
}

TEST(MountOptions, LaterOptionWinsBetweenSetAndClear) {
  MountOptions rw_then_ro = parse_ok({"rw", "ro"});
  EXPECT_EQ(rw_then_ro.flags, static_cast<unsigned long>(MS_RDONLY));
  EXPECT_EQ(rw_then_ro.cleared_flags, 0u);
  MountOptions ro_then_rw = parse_ok({"ro", "rw"});
  EXPECT_EQ(ro_then_rw.flags, 0u);
  EXPECT_EQ(ro_then_rw.cleared_flags, static_cast<unsigned long>(MS_RDONLY));
}

TEST(MountOptions, PropagationIsSeparateFromFlagsAndLastOneWins) {
  MountOptions o = parse_ok({"rbind", "rprivate"});
  EXPECT_EQ(o.flags, MS_BIND | MS_REC);
  EXPECT_EQ(o.propagation, MS_PRIVATE | MS_REC);
  const std::pair<const char*, unsigned long> cases[] = {
      {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  for (const auto& [name, flags] : cases) {
    MountOptions one = parse_ok({"shared", name});
    EXPECT_EQ(one.propagation, flags) << name;
    EXPECT_EQ(one.flags, 0u) << name;
  }
}

TEST(MountOptions, RecursiveAttributesGoToMountSetattr) {
  MountOptions o = parse_ok({"rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rexec"});
  EXPECT_EQ(o.flags, MS_BIND | MS_REC);
  EXPECT_EQ(o.recursive_attr_set,
            static_cast<unsigned long>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
  EXPECT_EQ(o.recursive_attr_clear, static_cast<unsigned long>(MOUNT_ATTR_NOEXEC));
  MountOptions rw = parse_ok({"rro", "rrw", "rsuid", "rdev", "rdiratime"});
  EXPECT_EQ(rw.recursive_attr_set, 0u);
  EXPECT_EQ(rw.recursive_attr_clear,
            static_cast<unsigned long>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                       MOUNT_ATTR_NODIRATIME));
  EXPECT_EQ(rw.flags, 0u);
}

TEST(MountOptions, RecursiveAtimeModeAlsoClearsTheAtimeField) {
  // mount_setattr(2) rejects an atime mode in attr_set without
  // MOUNT_ATTR__ATIME in attr_clr.
  MountOptions noatime = parse_ok({"rnoatime"});
  EXPECT_EQ(noatime.recursive_attr_set, static_cast<unsigned long>(MOUNT_ATTR_NOATIME));
  EXPECT_EQ(noatime.recursive_attr_clear, static_cast<unsigned long>(MOUNT_ATTR__ATIME));
  MountOptions strict = parse_ok({"rstrictatime"});
  EXPECT_EQ(strict.recursive_attr_set, static_cast<unsigned long>(MOUNT_ATTR_STRICTATIME));
  EXPECT_EQ(strict.recursive_attr_clear, static_cast<unsigned long>(MOUNT_ATTR__ATIME));
  MountOptions relatime = parse_ok({"rrelatime"});
  EXPECT_EQ(relatime.recursive_attr_clear, static_cast<unsigned long>(MOUNT_ATTR__ATIME));
  MountOptions nodiratime = parse_ok({"rnodiratime"});
  EXPECT_EQ(nodiratime.recursive_attr_clear, 0u);
}

TEST(MountOptions, UnknownOptionsJoinTheDataInOrder) {
  MountOptions o = parse_ok({"lowerdir=/a:/b", "ro", "upperdir=/u", "workdir=/w", "index=off"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_RDONLY));
  EXPECT_EQ(o.data, "lowerdir=/a:/b,upperdir=/u,workdir=/w,index=off");
}

TEST(MountOptions, DefaultsAndNoOptionsSetNothing) {
  MountOptions o = parse_ok({"defaults"});
  EXPECT_EQ(o.flags, 0u);
  EXPECT_EQ(o.data, "");
  MountOptions none = parse_ok({});
  EXPECT_EQ(none.flags, 0u);
  EXPECT_EQ(none.propagation, 0u);
  EXPECT_EQ(none.recursive_attr_set | none.recursive_attr_clear, 0u);
}

TEST(MountOptions, EmptyAndUnsupportedOptionsAreErrorsNamingTheOption) {
  auto empty = parse_mount_options({"ro", ""});
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().message(), "options[1]: empty mount option");
  auto idmap = parse_mount_options({"rbind", "idmap"});
  ASSERT_FALSE(idmap.has_value());
  EXPECT_EQ(idmap.error().message(), "options[1]: mount option \"idmap\" is not supported");
  EXPECT_FALSE(parse_mount_options({"tmpcopyup"}).has_value());
}

TEST(MountOptions, BindIsTheTypeOrTheOption) {
  spec::Mount typed{"/data", "bind", "/srv", {}};
  EXPECT_TRUE(is_bind_mount(typed, parse_ok(typed.options)));
  spec::Mount by_option{"/data", "none", "/srv", {"rbind", "ro"}};
  EXPECT_TRUE(is_bind_mount(by_option, parse_ok(by_option.options)));
  spec::Mount tmpfs{"/tmp", "tmpfs", "tmpfs", {"nosuid"}};
  EXPECT_FALSE(is_bind_mount(tmpfs, parse_ok(tmpfs.options)));
}

TEST(MountFlags, StatfsFlagsBecomeMountFlagsWithStrictatimeWhenNoAtimeMode) {
  struct statfs st = {};
  st.f_flags = ST_RDONLY | ST_NOSUID | ST_NODEV | ST_RELATIME;
  EXPECT_EQ(mount_flags_from_statfs(st), MS_RDONLY | MS_NOSUID | MS_NODEV | MS_RELATIME);
  st.f_flags = ST_NOEXEC;
  EXPECT_EQ(mount_flags_from_statfs(st), MS_NOEXEC | MS_STRICTATIME);
}

TEST(MountFlags, DescribedByTheirOptionNames) {
  EXPECT_EQ(describe_mount_flags(MS_RDONLY | MS_NOSUID | MS_BIND | MS_REMOUNT),
            "ro,nosuid,remount,bind");
  EXPECT_EQ(describe_mount_flags(MS_SLAVE | MS_REC), "rec,slave");
  EXPECT_EQ(describe_mount_flags(0), "none");
}

TEST(MountPaths, CleanPathCollapsesSlashesDotsAndStopsAtRoot) {
  EXPECT_EQ(clean_path("//dev/./pts/"), "/dev/pts");
  EXPECT_EQ(clean_path("/dev/../../../etc"), "/etc");
  EXPECT_EQ(clean_path("/"), "/");
  EXPECT_EQ(clean_path(""), "/");
}

}  // namespace
}  // namespace berth::linux
