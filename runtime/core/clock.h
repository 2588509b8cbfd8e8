// Wall-clock timestamps as the OCI tools write them.
#pragma once

#include <string>

namespace berth {

// Now in UTC as RFC3339: "2026-12-01T19:15:09Z" (runc's log lines), or with
// nanoseconds "2026-12-01T19:15:09.123456789Z" (runc's state "created").
std::string rfc3339_now(bool nanoseconds);

}  // namespace berth
