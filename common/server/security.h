// Transport security and call authorization of both servers: TLS from
// certificate files, optional mutual TLS, and bearer tokens with roles
// (common/server/token_auth.h). With nothing configured a server speaks
// plaintext to anyone, as it is meant to behind a trusted network or a
// `kubectl port-forward`.
#ifndef GRIDCAST_COMMON_SERVER_SECURITY_H_
#define GRIDCAST_COMMON_SERVER_SECURITY_H_

#include <memory>
#include <string>

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gridcast {

struct ServerSecurityOptions {
  // PEM certificate chain and private key; TLS is on when both are set.
  std::string tls_cert_file;
  std::string tls_key_file;
  // PEM CA bundle; when set, every client must present a certificate that
  // it signed (mutual TLS). Needs TLS.
  std::string tls_client_ca_file;
  // Bearer tokens with roles; when set, every call needs one (see
  // token_auth.h). Needs TLS, so that tokens never cross a network in
  // clear text.
  std::string tokens_file;
  // Whether grpc.health.v1.Health and server reflection answer without a
  // token (Kubernetes probes send none).
  bool open_health = true;
  bool open_reflection = false;
  // How often the tokens file is checked for changes.
  absl::Duration tokens_reload_interval = absl::Seconds(1);
};

// The credentials of a listening port for `options`: insecure when TLS is
// off. INVALID_ARGUMENT for an inconsistent set of options or a key that
// does not match its certificate, NOT_FOUND for a file that cannot be
// read; each names the flag and file.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> BuildServerCredentials(
    const ServerSecurityOptions& options);

// What a client needs to reach a server: plaintext when all is empty.
struct ClientSecurityOptions {
  // PEM CA bundle that signed the server's certificate; empty uses the
  // system's roots when TLS is on.
  std::string ca_file;
  // Client certificate and key, for servers that require mutual TLS.
  std::string cert_file;
  std::string key_file;
  // Sent as `authorization: Bearer <token>`.
  std::string token;
};

// TLS is on when any field is set: a token is never sent in clear text.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
BuildChannelCredentials(const ClientSecurityOptions& options);

// Reads a token from a file (a mounted Secret), ignoring surrounding
// whitespace; errors name the file but never its contents.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_SERVER_SECURITY_H_
