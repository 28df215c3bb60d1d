#!/usr/bin/env bash
# Can kernel TLS work here (issue 18)? Prints the kernel's CONFIG_TLS (from /proc/config.gz when
# the kernel exposes it), whether TCP_ULP "tls" is accepted on a loopback socket, and what
# OpenSSL makes of SSL_OP_ENABLE_KTLS on a real handshake (perf/ktls_probe.c, against
# `openssl s_client`): BIO_get_ktls_send/recv, and the setsockopt calls it tried (strace).
# lacquerd has no kTLS option while this prints 0: an option that cannot be tested is not built.
#   perf/ktls_probe.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "kernel $(uname -r)"
if [ -r /proc/config.gz ]; then
  zcat /proc/config.gz | grep -E '^(# )?CONFIG_(TLS|MODULES)[ =]' || true
fi
[ -r /proc/modules ] && { grep -w tls /proc/modules || echo "tls module: not loaded"; }
python3 - <<'PY'
import errno, socket
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
c = socket.create_connection(l.getsockname()); l.accept()
try:
    c.setsockopt(socket.SOL_TCP, 31, b"tls")  # TCP_ULP
    print('setsockopt(TCP_ULP, "tls"): ok')
except OSError as e:
    print(f'setsockopt(TCP_ULP, "tls"): {errno.errorcode.get(e.errno)} ({e.strerror})')
PY
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2> /dev/null
cc -O1 -o "$tmp/probe" perf/ktls_probe.c -lssl -lcrypto
for version in 1.2 1.3; do
  if command -v strace > /dev/null; then
    strace -f -e trace=setsockopt -o "$tmp/strace.$version" "$tmp/probe" "$tmp/cert.pem" "$tmp/key.pem" "$version"
    # The SOL_TLS calls carry the session's keys: only their names and results are shown.
    grep -E 'TCP_ULP|SOL_TLS' "$tmp/strace.$version" |
      sed -E 's/^[0-9]+ +/  /; s/(TLS_[RT]X), "[^"]*"[.]*, /\1, <keys>, /' || true
  else
    "$tmp/probe" "$tmp/cert.pem" "$tmp/key.pem" "$version"
  fi
done
