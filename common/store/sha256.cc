#include "common/store/sha256.h"

#include <openssl/evp.h>

#include <cstdint>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "common/log.h"

namespace gridcast {

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  // EVP_Digest fails only when OpenSSL cannot allocate or its SHA-256
  // provider is missing; a wrong checksum would be worse than stopping.
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &digest_length,
                 EVP_sha256(), /*impl=*/nullptr) != 1) {
    LogError("sha256_unavailable")
        .Field("bytes", static_cast<uint64_t>(bytes.size()));
    std::abort();
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), digest_length));
}

}  // namespace gridcast
