#include "common/server/token_auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/store/files.h"

namespace gridcast {
namespace {

// Shorter tokens are guessable; a generated one (openssl rand -hex 32) is
// far longer.
constexpr size_t kMinTokenLength = 16;
constexpr absl::string_view kBearerPrefix = "Bearer ";
constexpr absl::string_view kHealthService = "/grpc.health.v1.Health/";
constexpr absl::string_view kReflectionService =
    "/grpc.reflection.v1alpha.ServerReflection/";

constexpr Role kAllRoles[] = {Role::kUpload, Role::kTrain, Role::kForecast,
                              Role::kAdmin};

struct MethodRole {
  const char* method;
  Role role;
};

// Every RPC of both services and the role it needs. An RPC missing here
// needs admin: a new RPC is closed until someone decides who may call it.
constexpr MethodRole kMethodRoles[] = {
    {"/gridcast.v1.TrainerService/UploadHistory", Role::kUpload},
    {"/gridcast.v1.TrainerService/GetDataset", Role::kUpload},
    {"/gridcast.v1.TrainerService/ListDatasets", Role::kUpload},
    {"/gridcast.v1.TrainerService/DeleteDataset", Role::kAdmin},
    {"/gridcast.v1.TrainerService/CreateTrainingJob", Role::kTrain},
    {"/gridcast.v1.TrainerService/GetTrainingJob", Role::kTrain},
    {"/gridcast.v1.TrainerService/ListTrainingJobs", Role::kTrain},
    {"/gridcast.v1.TrainerService/CancelTrainingJob", Role::kTrain},
    {"/gridcast.v1.TrainerService/WatchTrainingJob", Role::kTrain},
    {"/gridcast.v1.ForecasterService/Forecast", Role::kForecast},
    {"/gridcast.v1.ForecasterService/ForecastBatch", Role::kForecast},
    {"/gridcast.v1.ForecasterService/DetectAnomalies", Role::kForecast},
    {"/gridcast.v1.ForecasterService/ListModels", Role::kForecast},
    {"/gridcast.v1.ForecasterService/GetModel", Role::kForecast},
};

std::array<uint8_t, 32> DigestOf(absl::string_view token) {
  std::array<uint8_t, 32> digest;
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
         digest.data());
  return digest;
}

absl::StatusOr<uint32_t> ParseRoles(absl::string_view text, int line) {
  uint32_t roles = 0;
  for (absl::string_view name : absl::StrSplit(text, ',')) {
    bool known = false;
    for (Role role : kAllRoles) {
      if (name == RoleName(role)) {
        roles |= static_cast<uint32_t>(role);
        known = true;
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokens file line ", line, ": unknown role \"", name,
                       "\"; use upload, train, forecast or admin"));
    }
  }
  return roles;
}

absl::StatusOr<TokenEntry> ParseTokenLine(absl::string_view text, int line) {
  const std::vector<absl::string_view> fields =
      absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (fields.size() < 2 || fields.size() > 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokens file line ", line, " has ", fields.size(),
                     " fields; expected: TOKEN ROLE[,ROLE...] [CLIENT]"));
  }
  if (fields[0].size() < kMinTokenLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tokens file line ", line, ": the token has ", fields[0].size(),
        " characters, fewer than ", kMinTokenLength));
  }
  TokenEntry entry;
  entry.digest = DigestOf(fields[0]);
  GC_ASSIGN_OR_RETURN(entry.roles, ParseRoles(fields[1], line));
  entry.client =
      fields.size() == 3 ? std::string(fields[2]) : absl::StrCat("line-", line);
  return entry;
}

std::optional<absl::string_view> FindHeader(
    const grpc::AuthMetadataProcessor::InputMetadata& metadata,
    absl::string_view key) {
  const auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return std::nullopt;
  return absl::string_view(it->second.data(), it->second.size());
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kUpload:
      return "upload";
    case Role::kTrain:
      return "train";
    case Role::kForecast:
      return "forecast";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

absl::StatusOr<std::vector<TokenEntry>> ParseTokens(absl::string_view text) {
  std::vector<TokenEntry> entries;
  int line = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line;
    const absl::string_view stripped = absl::StripAsciiWhitespace(raw);
    if (stripped.empty() || absl::StartsWith(stripped, "#")) continue;

    GC_ASSIGN_OR_RETURN(TokenEntry entry, ParseTokenLine(stripped, line));
    for (const TokenEntry& earlier : entries) {
      if (earlier.digest == entry.digest) {
        return absl::InvalidArgumentError(
            absl::StrCat("tokens file line ", line,
                         " repeats the token of client ", earlier.client));
      }
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

Access RequiredAccess(absl::string_view method, bool open_health,
                      bool open_reflection) {
  const bool health = absl::StartsWith(method, kHealthService);
  const bool reflection = absl::StartsWith(method, kReflectionService);
  if ((health && open_health) || (reflection && open_reflection)) {
    return {Access::Kind::kOpen, Role::kAdmin};
  }
  if (health || reflection) return {Access::Kind::kAnyToken, Role::kAdmin};

  return {Access::Kind::kRole, RoleOfMethod(method).value_or(Role::kAdmin)};
}

std::optional<Role> RoleOfMethod(absl::string_view method) {
  for (const MethodRole& entry : kMethodRoles) {
    if (method == entry.method) return entry.role;
  }
  return std::nullopt;
}

TokenTable::TokenTable(std::string path, absl::Duration reload_interval)
    : path_(std::move(path)), reload_interval_(reload_interval) {}

absl::StatusOr<std::unique_ptr<TokenTable>> TokenTable::Load(
    const std::string& path, absl::Duration reload_interval) {
  auto table =
      std::unique_ptr<TokenTable>(new TokenTable(path, reload_interval));
  absl::MutexLock lock(&table->mu_);
  GC_RETURN_IF_ERROR(table->Read());
  table->last_check_ = absl::Now();
  return table;
}

absl::Status TokenTable::Read() {
  struct stat info;
  if (stat(path_.c_str(), &info) != 0) {
    return absl::NotFoundError(
        absl::StrCat("tokens file ", path_, " cannot be read"));
  }
  GC_ASSIGN_OR_RETURN(const std::string text, ReadFileToString(path_));
  absl::StatusOr<std::vector<TokenEntry>> entries = ParseTokens(text);
  if (!entries.ok()) {
    return absl::Status(entries.status().code(),
                        absl::StrCat(path_, ": ", entries.status().message()));
  }

  entries_ = *std::move(entries);
  stamp_ = {static_cast<int64_t>(info.st_ino),
            static_cast<int64_t>(info.st_size),
            static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 +
                info.st_mtim.tv_nsec};
  LogInfo("tokens_loaded")
      .Field("file", path_)
      .Field("tokens", static_cast<int64_t>(entries_.size()));
  return absl::OkStatus();
}

void TokenTable::MaybeReload() {
  const absl::Time now = absl::Now();
  if (now - last_check_ < reload_interval_) return;
  last_check_ = now;

  struct stat info;
  if (stat(path_.c_str(), &info) != 0) return;
  const FileStamp current = {
      static_cast<int64_t>(info.st_ino), static_cast<int64_t>(info.st_size),
      static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 +
          info.st_mtim.tv_nsec};
  if (current == stamp_) return;

  const absl::Status read = Read();
  if (!read.ok()) {
    // Keep serving with the tokens we have rather than lock everyone out
    // because of a half-edited file.
    stamp_ = current;
    LogError("tokens_reload_failed").Field("reason", read);
  }
}

std::optional<TokenEntry> TokenTable::Find(absl::string_view token) {
  const std::array<uint8_t, 32> digest = DigestOf(token);
  absl::MutexLock lock(&mu_);
  MaybeReload();

  // Every entry is compared, and with CRYPTO_memcmp, so that the time
  // taken says nothing about which bytes matched.
  const TokenEntry* found = nullptr;
  for (const TokenEntry& entry : entries_) {
    if (CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0) {
      found = &entry;
    }
  }
  if (found == nullptr) return std::nullopt;
  return *found;
}

size_t TokenTable::size() {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

absl::Status Authorize(TokenTable& tokens, const AuthorizationOptions& options,
                       absl::string_view method,
                       std::optional<absl::string_view> authorization) {
  const Access access =
      RequiredAccess(method, options.open_health, options.open_reflection);
  if (access.kind == Access::Kind::kOpen) return absl::OkStatus();

  if (!authorization.has_value()) {
    return absl::UnauthenticatedError(absl::StrCat(
        method, " needs a bearer token (authorization: Bearer <token>)"));
  }
  if (!absl::StartsWith(*authorization, kBearerPrefix)) {
    return absl::UnauthenticatedError(
        "the authorization header is not of the form \"Bearer <token>\"");
  }
  const std::optional<TokenEntry> entry =
      tokens.Find(authorization->substr(kBearerPrefix.size()));
  if (!entry.has_value()) {
    return absl::UnauthenticatedError("the bearer token is not known");
  }
  if (access.kind == Access::Kind::kAnyToken) return absl::OkStatus();

  const uint32_t needed = static_cast<uint32_t>(access.role);
  const uint32_t admin = static_cast<uint32_t>(Role::kAdmin);
  if ((entry->roles & (needed | admin)) != 0) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("the token of client ", entry->client, " lacks role ",
                   RoleName(access.role), ", which ", method, " needs"));
}

TokenAuthProcessor::TokenAuthProcessor(std::unique_ptr<TokenTable> tokens,
                                       AuthorizationOptions options)
    : tokens_(std::move(tokens)), options_(options) {}

grpc::Status TokenAuthProcessor::Process(const InputMetadata& auth_metadata,
                                         grpc::AuthContext* context,
                                         OutputMetadata* consumed_auth_metadata,
                                         OutputMetadata* response_metadata) {
  const absl::string_view method =
      FindHeader(auth_metadata, ":path").value_or("");
  const std::optional<absl::string_view> authorization =
      FindHeader(auth_metadata, "authorization");

  const absl::Status status =
      Authorize(*tokens_, options_, method, authorization);
  if (authorization.has_value()) {
    consumed_auth_metadata->emplace("authorization",
                                    std::string(*authorization));
  }
  if (status.ok()) return grpc::Status::OK;

  LogWarning("call_refused").Field("method", method).Field("reason", status);
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace gridcast
