// OCI hooks: each runs as a child process with the container's state JSON
// on stdin, its own args and env, and an optional timeout after which it
// is killed and counted as failed.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "spec/spec.h"

namespace berth::linux {

// Run hooks in order; the first failure stops the list and names the
// hook: "prestart hook[1] /usr/bin/x: exited with status 2".
Status run_hooks(const char* kind, const std::vector<spec::Hook>& hooks,
                 const std::string& state_json);

}  // namespace berth::linux
