#include "rootfs/registry/base64.h"

#include <openssl/evp.h>

namespace berth::registry {

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  // EVP_EncodeBlock writes a terminating NUL past the last group: size + 1.
  std::string buffer(out.size() + 1, '\0');
  int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(buffer.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  buffer.resize(static_cast<size_t>(written));
  return buffer;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return make_error("invalid base64: length {} is not a multiple of 4", text.size());
  }
  size_t padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/';
    if (c == '=' && i + 2 >= text.size()) {
      ++padding;
    } else if (!alphabet || padding > 0) {
      return make_error("invalid base64: unexpected '{}' at offset {}", c, i);
    }
  }
  // EVP_DecodeBlock trims no padding: its output counts the '=' as zero bytes.
  std::string out(text.size() / 4 * 3, '\0');
  int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (written < 0) return make_error("invalid base64");
  out.resize(static_cast<size_t>(written) - padding);
  return out;
}

}  // namespace berth::registry
