// Capability sets of the container process, through libcap.
//
// Order matters (capabilities(7)): the bounding set is reduced while the
// process still has CAP_SETPCAP (before the uid switch); PR_SET_KEEPCAPS
// keeps the permitted set across setuid(); then the effective, permitted
// and inheritable sets are set, and ambient capabilities raised last (they
// must be in both permitted and inheritable).
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "spec/spec.h"

namespace berth::linux {

// Drop from the bounding set every capability not in caps.bounding.
Status drop_bounding_capabilities(const spec::Capabilities& caps);

// Call before changing uid: keep the permitted set across setuid().
Status keep_capabilities_across_setuid();

// After the uid change: set effective/permitted/inheritable exactly, raise
// the ambient ones, and turn PR_SET_KEEPCAPS off again.
Status apply_capability_sets(const spec::Capabilities& caps);

// "CAP_SYS_ADMIN" -> its number; an error names an unknown capability.
Result<int> capability_from_name(const std::string& name);

// Every capability this kernel knows, by name ("CAP_CHOWN", ...).
std::vector<std::string> known_capability_names();

}  // namespace berth::linux
