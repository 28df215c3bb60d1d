#!/usr/bin/env bash
# Checks packaging/systemd/lacquer.service offline (no running systemd needed):
#   1. `systemd-analyze verify` prints nothing: it exits 0 on unknown keys and bad values and
#      only warns, so any output at all is a failure here;
#   2. `systemd-analyze security --offline` rates the sandbox at most 2.0 (1.4 when written), so
#      hardening that goes missing fails the test.
# verify also wants every Exec*= binary to exist: /usr/bin/lacquerd and /usr/bin/lacquerctl are
# replaced by the built ones in a copy of the unit. (integration_reload runs the ExecReload line
# against a real lacquerd.)
# Usage: check_systemd_unit.sh UNIT LACQUERD LACQUERCTL
set -euo pipefail
unit=$1 lacquerd=$2 lacquerctl=$3
analyze=$(command -v systemd-analyze || true)
if [ -z "$analyze" ]; then
  echo "systemd-analyze not found (Debian package systemd): run tools/install-deps.sh test" >&2
  exit 1
fi
[ -x "$lacquerd" ] || { echo "lacquerd not built: $lacquerd" >&2; exit 1; }
lacquerd=$(realpath "$lacquerd")   # systemd wants absolute paths
[ -x "$lacquerctl" ] || { echo "lacquerctl not built: $lacquerctl" >&2; exit 1; }
lacquerctl=$(realpath "$lacquerctl")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -e "s#/usr/bin/lacquerd#${lacquerd}#g" -e "s#/usr/bin/lacquerctl#${lacquerctl}#g" "$unit" \
  > "$tmp/lacquer.service"
grep -q "^ExecStart=${lacquerd} --config /etc/lacquer/lacquer.yaml$" "$tmp/lacquer.service" ||
  { echo "ExecStart is not /usr/bin/lacquerd --config /etc/lacquer/lacquer.yaml" >&2; exit 1; }
# A refused reload must fail `systemctl reload`: lacquerctl waits for lacquerd's answer.
[ "$(grep -c '^ExecReload=' "$tmp/lacquer.service")" = 1 ] &&
  grep -q "^ExecReload=${lacquerctl} reload --config /etc/lacquer/lacquer.yaml$" \
    "$tmp/lacquer.service" ||
  { echo "ExecReload is not one /usr/bin/lacquerctl reload --config ... line" >&2; exit 1; }

out=$("$analyze" verify --man=no "$tmp/lacquer.service" 2>&1) || {
  echo "systemd-analyze verify failed:" >&2; echo "$out" >&2; exit 1; }
if [ -n "$out" ]; then
  echo "systemd-analyze verify warned (it ignores what it warns about):" >&2
  echo "$out" >&2
  exit 1
fi
echo "systemd-analyze verify: no warnings"

if ! out=$("$analyze" security --offline=yes --threshold=20 "$tmp/lacquer.service" 2>&1); then
  echo "$out" >&2
  echo "systemd-analyze security: exposure above 2.0 (see the table above)" >&2
  exit 1
fi
echo "$out" | tail -n 1
