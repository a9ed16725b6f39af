#include "common/server/security.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/server/token_auth.h"
#include "common/status_macros.h"
#include "common/store/files.h"

namespace gridcast {
namespace {

absl::StatusOr<std::string> ReadPem(const char* flag, const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFileToString(path);
  if (!pem.ok()) {
    return absl::NotFoundError(
        absl::StrCat("--", flag, "=", path, " cannot be read"));
  }
  return pem;
}

// Checks with OpenSSL what gRPC would otherwise only report as a port that
// failed to bind: each file parses, and the key belongs to the
// certificate.
absl::Status CheckKeyPair(const ServerSecurityOptions& options,
                          const std::string& cert_pem,
                          const std::string& key_pem) {
  BIO* cert_bio = BIO_new_mem_buf(cert_pem.data(), cert_pem.size());
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), key_pem.size());
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);

  absl::Status status;
  if (cert == nullptr) {
    status = absl::InvalidArgumentError(
        absl::StrCat("--tls_cert_file=", options.tls_cert_file,
                     " holds no PEM certificate"));
  } else if (key == nullptr) {
    status = absl::InvalidArgumentError(
        absl::StrCat("--tls_key_file=", options.tls_key_file,
                     " holds no unencrypted PEM private key"));
  } else if (X509_check_private_key(cert, key) != 1) {
    status = absl::InvalidArgumentError(absl::StrCat(
        "--tls_key_file=", options.tls_key_file,
        " is not the key of --tls_cert_file=", options.tls_cert_file));
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  return status;
}

absl::Status CheckCertificates(const char* flag, const std::string& path,
                               const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), pem.size());
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  const bool ok = cert != nullptr;
  X509_free(cert);
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, "=", path, " holds no PEM certificate"));
}

absl::Status CheckConsistent(const ServerSecurityOptions& options) {
  const bool tls = !options.tls_cert_file.empty();
  if (tls != !options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert_file and --tls_key_file go together: set both or neither");
  }
  if (!tls && !options.tls_client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca_file needs --tls_cert_file and --tls_key_file");
  }
  if (!tls && !options.tokens_file.empty()) {
    return absl::InvalidArgumentError(
        "--tokens_file needs --tls_cert_file and --tls_key_file: bearer "
        "tokens must not cross the network in clear text");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> BuildServerCredentials(
    const ServerSecurityOptions& options) {
  GC_RETURN_IF_ERROR(CheckConsistent(options));
  if (options.tls_cert_file.empty()) {
    LogInfo("tls_off").Field("reason",
                             "no --tls_cert_file: plaintext, no tokens");
    return grpc::InsecureServerCredentials();
  }

  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  GC_ASSIGN_OR_RETURN(pair.cert_chain,
                      ReadPem("tls_cert_file", options.tls_cert_file));
  GC_ASSIGN_OR_RETURN(pair.private_key,
                      ReadPem("tls_key_file", options.tls_key_file));
  GC_RETURN_IF_ERROR(CheckKeyPair(options, pair.cert_chain, pair.private_key));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));

  const bool mutual = !options.tls_client_ca_file.empty();
  if (mutual) {
    GC_ASSIGN_OR_RETURN(
        ssl.pem_root_certs,
        ReadPem("tls_client_ca_file", options.tls_client_ca_file));
    GC_RETURN_IF_ERROR(CheckCertificates(
        "tls_client_ca_file", options.tls_client_ca_file, ssl.pem_root_certs));
    ssl.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::SslServerCredentials(ssl);

  int64_t tokens = 0;
  if (!options.tokens_file.empty()) {
    GC_ASSIGN_OR_RETURN(
        std::unique_ptr<TokenTable> table,
        TokenTable::Load(options.tokens_file, options.tokens_reload_interval));
    tokens = static_cast<int64_t>(table->size());
    AuthorizationOptions authorization;
    authorization.open_health = options.open_health;
    authorization.open_reflection = options.open_reflection;
    credentials->SetAuthMetadataProcessor(
        std::make_shared<TokenAuthProcessor>(std::move(table), authorization));
  }

  LogInfo("tls_on")
      .Field("client_certificates", mutual ? "required" : "not_requested")
      .Field("tokens", options.tokens_file.empty() ? "off" : "on")
      .Field("token_count", tokens)
      .Field("open_health", options.open_health)
      .Field("open_reflection", options.open_reflection);
  return credentials;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
BuildChannelCredentials(const ClientSecurityOptions& options) {
  if (options.ca_file.empty() && options.cert_file.empty() &&
      options.key_file.empty() && options.token.empty()) {
    return grpc::InsecureChannelCredentials();
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate and its key go together: give both or neither");
  }

  grpc::SslCredentialsOptions ssl;
  if (!options.ca_file.empty()) {
    GC_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFileToString(options.ca_file));
  }
  if (!options.cert_file.empty()) {
    GC_ASSIGN_OR_RETURN(ssl.pem_cert_chain,
                        ReadFileToString(options.cert_file));
    GC_ASSIGN_OR_RETURN(ssl.pem_private_key,
                        ReadFileToString(options.key_file));
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::SslCredentials(ssl);
  if (options.token.empty()) return credentials;
  return grpc::CompositeChannelCredentials(
      credentials, grpc::AccessTokenCredentials(options.token));
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) {
    return absl::NotFoundError(
        absl::StrCat("token file ", path, " cannot be read"));
  }
  const std::string token(absl::StripAsciiWhitespace(*text));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token file ", path, " is empty"));
  }
  return token;
}

}  // namespace gridcast
