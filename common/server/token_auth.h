// Bearer tokens with roles: who may call which RPC.
//
// The tokens file (a Kubernetes Secret mounted as a file) holds one token
// a line, its roles and an optional client name for the logs:
//
//   # token                            roles          client
//   k3Jd9...                           upload,train   scada-east
//   Qm2x7...                           forecast       ems-replica
//   Zp0a1...                           admin          operator
//
// Blank lines and lines starting with '#' are skipped. Roles are `upload`,
// `train`, `forecast` and `admin`; admin may call everything. A client
// sends `authorization: Bearer <token>`. The table keeps only the tokens'
// SHA-256 digests and compares them in constant time; no message or log
// line ever contains a token (errors in the file name its line number).
//
// Which role each RPC needs is RequiredAccess() below; the table lives in
// docs/reliability.md.
#ifndef GRIDCAST_COMMON_SERVER_TOKEN_AUTH_H_
#define GRIDCAST_COMMON_SERVER_TOKEN_AUTH_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/security/auth_metadata_processor.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace gridcast {

enum class Role : uint32_t {
  kUpload = 1 << 0,
  kTrain = 1 << 1,
  kForecast = 1 << 2,
  kAdmin = 1 << 3,
};

// "upload", "train", "forecast", "admin".
const char* RoleName(Role role);

struct TokenEntry {
  std::array<uint8_t, 32> digest;  // SHA-256 of the token
  uint32_t roles = 0;              // bits of Role
  std::string client;              // for logs; "line-N" when not named
};

// Parses a tokens file. INVALID_ARGUMENT naming the line (never its text)
// for a line without roles, an unknown role, a token shorter than 16
// characters or one that appears twice; an empty file is valid (it lets
// nobody in).
absl::StatusOr<std::vector<TokenEntry>> ParseTokens(absl::string_view text);

// The role an RPC of TrainerService or ForecasterService needs, by its
// full method name ("/gridcast.v1.TrainerService/UploadHistory"); nullopt
// for a method the table does not list.
std::optional<Role> RoleOfMethod(absl::string_view method);

// What an RPC needs: nothing (open), any known token, or a role.
struct Access {
  enum class Kind { kOpen, kAnyToken, kRole };
  Kind kind = Kind::kRole;
  Role role = Role::kAdmin;
};

// The access that `method` ("/gridcast.v1.TrainerService/UploadHistory")
// needs. Health and reflection are open when configured so, otherwise they
// need any known token; an RPC this table does not know needs admin.
Access RequiredAccess(absl::string_view method, bool open_health,
                      bool open_reflection);

// The tokens of a file, re-read when the file changes (Kubernetes updates
// a mounted Secret in place), checked at most once per `reload_interval`.
// A file that stops parsing keeps the previous tokens and logs why.
class TokenTable {
 public:
  static absl::StatusOr<std::unique_ptr<TokenTable>> Load(
      const std::string& path, absl::Duration reload_interval);

  // The entry of `token`, compared in constant time against every entry.
  std::optional<TokenEntry> Find(absl::string_view token);

  size_t size();

 private:
  struct FileStamp {
    int64_t inode = 0;
    int64_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const FileStamp& other) const {
      return inode == other.inode && size == other.size &&
             mtime_ns == other.mtime_ns;
    }
  };

  TokenTable(std::string path, absl::Duration reload_interval);
  absl::Status Read() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeReload() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const absl::Duration reload_interval_;
  absl::Mutex mu_;
  std::vector<TokenEntry> entries_ ABSL_GUARDED_BY(mu_);
  FileStamp stamp_ ABSL_GUARDED_BY(mu_);
  absl::Time last_check_ ABSL_GUARDED_BY(mu_);
};

struct AuthorizationOptions {
  bool open_health = true;
  bool open_reflection = false;
};

// Decides one call: OK, UNAUTHENTICATED (no, malformed or unknown token)
// or PERMISSION_DENIED (a known token without the role). `authorization`
// is the header's value, or nullopt when the call carries none.
absl::Status Authorize(TokenTable& tokens, const AuthorizationOptions& options,
                       absl::string_view method,
                       std::optional<absl::string_view> authorization);

// Runs Authorize() on every call of a TLS server, logs refusals (method,
// peer, client name, never the token) and strips the authorization header
// so that handlers never see it.
class TokenAuthProcessor final : public grpc::AuthMetadataProcessor {
 public:
  TokenAuthProcessor(std::unique_ptr<TokenTable> tokens,
                     AuthorizationOptions options);

  // The table is in memory and its checks are microseconds.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& auth_metadata,
                       grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  const std::unique_ptr<TokenTable> tokens_;
  const AuthorizationOptions options_;
};

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_SERVER_TOKEN_AUTH_H_
