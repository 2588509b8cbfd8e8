// sha256 digests in the OCI form "sha256:<64 hex>".
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

#include "core/c_handle.h"

namespace berth::image {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  std::string digest();  // "sha256:<hex>"; the object is spent afterwards

 private:
  CHandle<EVP_MD_CTX, EVP_MD_CTX_free> context_;
};

std::string sha256_digest(std::string_view data);

// "sha256:<64 lowercase hex>" only: digests name files in the store.
bool is_sha256_digest(std::string_view digest);
// The hex part of a digest that is_sha256_digest accepted.
inline std::string digest_hex(std::string_view digest) { return std::string(digest.substr(7)); }

}  // namespace berth::image
