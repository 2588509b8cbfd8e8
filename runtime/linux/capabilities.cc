#include "linux/capabilities.h"

#include <fmt/ranges.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cctype>
#include <type_traits>

#include "core/c_handle.h"
#include "core/log.h"

namespace berth::linux {
namespace {

// cap_t is libcap's pointer to its opaque state; cap_free frees that and
// the strings libcap allocates (cap_to_name).
using CapabilityState = CHandle<std::remove_pointer_t<cap_t>, cap_free>;
using CapabilityName = CHandle<char, cap_free>;

struct NamedCapability {
  std::string name;
  cap_value_t value;
};

// One of the spec's sets, resolved. A name libcap knows but the running
// kernel does not (a spec written for a newer kernel) is left out with a
// warning, as runc does: the kernel can neither grant nor drop it, and the
// bounding set cannot hold it anyway.
Result<std::vector<NamedCapability>> resolve_set(const std::vector<std::string>& names,
                                                 const char* set_name) {
  std::vector<NamedCapability> resolved;
  std::vector<std::string> unknown_to_kernel;
  const cap_value_t kernel_bits = cap_max_bits();
  for (const std::string& name : names) {
    auto value = capability_from_name(name);
    if (!value) return value.error().add_context(fmt::format("{} capabilities", set_name));
    if (*value >= kernel_bits) {
      unknown_to_kernel.push_back(name);
      continue;
    }
    resolved.push_back({name, *value});
  }
  if (!unknown_to_kernel.empty())
    log::warning("ignoring {} capabilities this kernel does not know: {}", set_name,
                 fmt::join(unknown_to_kernel, ", "));
  return resolved;
}

bool contains(const std::vector<NamedCapability>& set, cap_value_t value) {
  return std::any_of(set.begin(), set.end(),
                     [value](const NamedCapability& cap) { return cap.value == value; });
}

// "CAP_CHOWN" for 0; libcap spells names in lower case. Returns "" for a
// capability too new for libcap's table (libcap then answers with a number).
std::string capability_name(cap_value_t value) {
  CapabilityName raw(cap_to_name(value));
  if (!raw) return {};
  std::string name = raw.get();
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return {};
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return name;
}

std::string describe_capability(cap_value_t value) {
  std::string name = capability_name(value);
  return name.empty() ? fmt::format("capability {}", value) : name;
}

Status raise_in_state(cap_t state, cap_flag_t flag, const std::vector<NamedCapability>& set,
                      const char* set_name) {
  for (const NamedCapability& cap : set) {
    if (cap_set_flag(state, flag, 1, &cap.value, CAP_SET) != 0)
      return sys_error("add {} to the {} set", cap.name, set_name);
  }
  return ok();
}

std::string names_of(const std::vector<NamedCapability>& set) {
  std::vector<std::string> names;
  for (const NamedCapability& cap : set) names.push_back(cap.name);
  return fmt::format("[{}]", fmt::join(names, " "));
}

}  // namespace

Result<int> capability_from_name(const std::string& name) {
  // libcap also accepts "cap_chown" and bare numbers; the spec spells
  // capabilities "CAP_CHOWN" only.
  cap_value_t value = 0;
  if (!name.starts_with("CAP_") || cap_from_name(name.c_str(), &value) != 0)
    return make_error("unknown capability \"{}\"", name);
  return static_cast<int>(value);
}

std::vector<std::string> known_capability_names() {
  std::vector<std::string> names;
  for (cap_value_t value = 0; value < cap_max_bits(); ++value) {
    std::string name = capability_name(value);
    if (!name.empty()) names.push_back(std::move(name));
  }
  return names;
}

Status drop_bounding_capabilities(const spec::Capabilities& caps) {
  std::vector<NamedCapability> keep = TRY_VALUE(resolve_set(caps.bounding, "bounding"));
  for (cap_value_t value = 0; value < cap_max_bits(); ++value) {
    if (contains(keep, value)) continue;
    int present = cap_get_bound(value);
    if (present < 0) {
      int saved = errno;
      return Error::from_errno_value(
          fmt::format("read {} in the bounding set", describe_capability(value)), saved);
    }
    // Already gone (e.g. the runtime itself runs with a reduced set):
    // dropping again would needlessly require CAP_SETPCAP.
    if (present == 0) continue;
    if (cap_drop_bound(value) != 0) {
      int saved = errno;
      return Error::from_errno_value(
          fmt::format("drop {} from the bounding set", describe_capability(value)), saved);
    }
  }
  return ok();
}

Status keep_capabilities_across_setuid() {
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return sys_error("prctl(PR_SET_KEEPCAPS, 1)");
  return ok();
}

Status apply_capability_sets(const spec::Capabilities& caps) {
  std::vector<NamedCapability> effective = TRY_VALUE(resolve_set(caps.effective, "effective"));
  std::vector<NamedCapability> permitted = TRY_VALUE(resolve_set(caps.permitted, "permitted"));
  std::vector<NamedCapability> inheritable =
      TRY_VALUE(resolve_set(caps.inheritable, "inheritable"));
  std::vector<NamedCapability> ambient = TRY_VALUE(resolve_set(caps.ambient, "ambient"));

  CapabilityState state(cap_init());
  if (!state) return sys_error("allocate a libcap capability state");
  TRY(raise_in_state(state.get(), CAP_EFFECTIVE, effective, "effective"));
  TRY(raise_in_state(state.get(), CAP_PERMITTED, permitted, "permitted"));
  TRY(raise_in_state(state.get(), CAP_INHERITABLE, inheritable, "inheritable"));
  if (cap_set_proc(state.get()) != 0) {
    int saved = errno;  // formatting the names allocates, which may change errno
    return Error::from_errno_value(
        fmt::format("set capabilities effective={} permitted={} inheritable={}",
                    names_of(effective), names_of(permitted), names_of(inheritable)),
        saved);
  }

  // Ambient capabilities inherited from the runtime's own environment must
  // not leak into the container, so the set is emptied before raising the
  // spec's. Raising comes after cap_set_proc: the kernel only accepts an
  // ambient capability that is already permitted and inheritable, and clears
  // ambient bits whenever either of those sets loses them.
  if (cap_reset_ambient() != 0) return sys_error("clear the ambient capability set");
  // An ambient capability missing from permitted or inheritable cannot be
  // raised (EPERM). runc's own default spec lists ambient capabilities with
  // no inheritable set, and runc skips them; so does berth, rather than
  // refusing every such bundle.
  for (const NamedCapability& cap : ambient) {
    if (cap_set_ambient(cap.value, CAP_SET) == 0) continue;
    if (errno != EPERM) return sys_error("raise ambient capability {}", cap.name);
    log::debug("ambient capability {} skipped: not both permitted and inheritable", cap.name);
  }

  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return sys_error("prctl(PR_SET_KEEPCAPS, 0)");
  return ok();
}

}  // namespace berth::linux
