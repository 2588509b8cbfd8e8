// Standard base64 (RFC 4648 §4, with padding): the `auth` field of
// ~/.docker/config.json and HTTP Basic credentials.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"

namespace berth::registry {

std::string base64_encode(std::string_view bytes);
// Refuses anything but canonical padded base64 (no whitespace, no URL
// alphabet), naming what is wrong.
Result<std::string> base64_decode(std::string_view text);

}  // namespace berth::registry
