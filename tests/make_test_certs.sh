#!/bin/sh
# Writes throw-away certificates for the TLS tests into DIR with Debian's
# openssl: a CA (ca.pem), a server certificate for localhost and 127.0.0.1
# (server.pem, server.key), a client certificate it signed (client.pem,
# client.key) and a self-signed client certificate no server trusts
# (stranger.pem, stranger.key). Valid for two days.
set -eu
cd "$1"

new_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
}

new_key ca.key
openssl req -x509 -new -key ca.key -days 2 -subj /CN=gridcast-test-ca \
  -out ca.pem

printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
  > server.ext
printf 'extendedKeyUsage=clientAuth\n' > client.ext
for name in server client; do
  new_key "$name.key"
  openssl req -new -key "$name.key" -subj "/CN=gridcast-test-$name" \
    -out "$name.csr"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key \
    -CAcreateserial -days 2 -extfile "$name.ext" -out "$name.pem"
done

new_key stranger.key
openssl req -x509 -new -key stranger.key -days 2 \
  -subj /CN=gridcast-test-stranger -out stranger.pem
