// Section parsers shared between the spec module's files; each takes the
// section's node and validates everything below it.
#pragma once

#include "spec/json_node.h"
#include "spec/spec.h"

namespace berth::spec::detail {

Result<Linux> parse_linux(const JsonNode& node);      // spec_linux.cc
Result<Seccomp> parse_seccomp(const JsonNode& node);  // spec_seccomp.cc

// A string that must be an absolute path.
Result<std::string> parse_absolute_path(const JsonNode& node);

}  // namespace berth::spec::detail
