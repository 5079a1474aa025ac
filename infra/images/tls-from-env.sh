#!/bin/sh
# Container entrypoint of both services. ECS injects the TLS key and chain from Secrets Manager as
# TLS_KEY_PEM / TLS_CERT_PEM; the services read files (TLS_KEY_FILE / TLS_CERT_FILE, as locally),
# so write them, owner-only, to the task's scratch volume and drop the variables before exec.
set -eu
if [ -n "${TLS_KEY_PEM:-}" ] && [ -n "${TLS_CERT_PEM:-}" ]; then
  dir="${TLS_PEM_DIR:-/tmp/tls}"
  umask 077
  mkdir -p "$dir"
  printf '%s\n' "$TLS_KEY_PEM" > "$dir/key.pem"
  printf '%s\n' "$TLS_CERT_PEM" > "$dir/chain.pem"
  export TLS_KEY_FILE="$dir/key.pem" TLS_CERT_FILE="$dir/chain.pem"
  unset TLS_KEY_PEM TLS_CERT_PEM
fi
exec "$@"
