#!/usr/bin/env bash
# Builds the .deb from a build tree with cpack (into a temp dir, nothing is installed) and
# checks what it holds: the daemon and lacquerctl, the conffiles, the unit, the dashboard and
# alert rules, the maintainer scripts, a Depends line from dpkg-shlibdeps, and no lintian errors
# (warnings are printed, not fatal).
# Usage: check_deb.sh BUILD_DIR VERSION    (lacquerd and lacquerctl must be built in BUILD_DIR)
set -euo pipefail
build=$1 version=$2
for tool in cpack dpkg-deb dpkg-shlibdeps lintian; do
  command -v "$tool" >/dev/null ||
    { echo "$tool not found: run tools/install-deps.sh package" >&2; exit 1; }
done
[ -f "$build/CPackConfig.cmake" ] || { echo "no CPackConfig.cmake in $build" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! cpack --config "$build/CPackConfig.cmake" -G DEB -B "$tmp" >"$tmp/cpack.log" 2>&1; then
  cat "$tmp/cpack.log" >&2
  exit 1
fi
debs=("$tmp"/lacquer_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || { echo "cpack made no single .deb" >&2; exit 1; }
deb=${debs[0]}
echo "built $(basename "$deb")"

fail=0
check() {  # check DESCRIPTION COMMAND...: runs COMMAND, reports and counts a failure
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what" >&2; fail=1; fi
}

dpkg-deb --info "$deb" > "$tmp/info"
dpkg-deb --contents "$deb" > "$tmp/contents"
dpkg-deb --control "$deb" "$tmp/control"
dpkg-deb --field "$deb" Depends > "$tmp/depends"
cat "$tmp/info" "$tmp/contents"

has_file() {  # has_file PATH [MODE]: a regular file at PATH in the package (mode like -rwxr-xr-x)
  awk -v p="./$1" -v m="${2:-}" \
      '$6 == p && $1 ~ /^-/ && (m == "" || $1 == m) { found = 1 } END { exit !found }' \
      "$tmp/contents"
}
check "/usr/bin/lacquerd, executable" has_file usr/bin/lacquerd -rwxr-xr-x
check "/usr/bin/lacquerctl, executable" has_file usr/bin/lacquerctl -rwxr-xr-x
check "/etc/lacquer/lacquer.yaml" has_file etc/lacquer/lacquer.yaml -rw-r--r--
check "/etc/logrotate.d/lacquer" has_file etc/logrotate.d/lacquer -rw-r--r--
check "/lib/systemd/system/lacquer.service" has_file lib/systemd/system/lacquer.service
check "the Grafana dashboard" has_file usr/share/lacquer/grafana/lacquer.json
check "the Prometheus alert rules" has_file usr/share/lacquer/prometheus/lacquer-alerts.yml
check "the example scrape config" has_file usr/share/lacquer/prometheus/prometheus.example.yml
check "the HAProxy fleet config" has_file usr/share/lacquer/haproxy/lacquer-fleet.cfg
check "the nginx fleet config" has_file usr/share/lacquer/nginx/lacquer-fleet.conf
check "examples/full.yaml" has_file usr/share/doc/lacquer/examples/full.yaml
check "copyright" has_file usr/share/doc/lacquer/copyright
check "changelog.gz" has_file usr/share/doc/lacquer/changelog.gz
check "the man page" has_file usr/share/man/man8/lacquerd.8.gz
check "lacquerctl's man page" has_file usr/share/man/man1/lacquerctl.1.gz
check "nothing outside /usr, /etc, /lib" \
  awk '$6 != "./" && $6 !~ /^\.\/(usr|etc|lib)\// { bad = 1; print "unexpected: " $6 }
       END { exit bad }' \
  "$tmp/contents"

check "conffiles lists /etc/lacquer/lacquer.yaml" grep -qx /etc/lacquer/lacquer.yaml \
  "$tmp/control/conffiles"
check "conffiles lists /etc/logrotate.d/lacquer" grep -qx /etc/logrotate.d/lacquer \
  "$tmp/control/conffiles"
for script in postinst prerm postrm; do
  check "$script is executable shell" \
    sh -c 'test -x "$1" && sh -n "$1"' sh "$tmp/control/$script"
done
check "postinst creates the lacquer user" grep -q "adduser --system --group" \
  "$tmp/control/postinst"
check "postinst makes the admin token of the shipped config" grep -q "/etc/lacquer/admin.token" \
  "$tmp/control/postinst"
check "Depends: adduser" grep -qw adduser "$tmp/depends"
check "Depends from dpkg-shlibdeps (libevent)" grep -q "libevent" "$tmp/depends"
check "Depends: libprometheus-cpp-core1.0 (/metrics)" grep -q "libprometheus-cpp-core1.0" "$tmp/depends"
check "Version is the project version ($version)" \
  test "$(dpkg-deb --field "$deb" Version)" = "$version"

# Unpacked into a throwaway root (nothing is installed on the machine): the installed binaries
# run, and the installed lacquerd accepts the installed default config.
dpkg-deb -x "$deb" "$tmp/root"
check "the unpacked lacquerd --check-config accepts the packaged /etc/lacquer/lacquer.yaml" \
  "$tmp/root/usr/bin/lacquerd" --check-config --config "$tmp/root/etc/lacquer/lacquer.yaml"
check "the unpacked lacquerctl runs" "$tmp/root/usr/bin/lacquerctl" --version

# lintian: errors fail, warnings and lower are listed.
echo "== lintian"
lintian --display-level ">=pedantic" --fail-on error "$deb" \
  >"$tmp/lintian.log" 2>&1 || lintian_rc=$?
cat "$tmp/lintian.log"
check "lintian reports no errors" test "${lintian_rc:-0}" -eq 0

exit $fail
