#!/usr/bin/env bash
# Installs, from Debian packages only, whatever Lacquer needs to build, test and run that is
# missing. Safe to run again: it installs nothing when everything is there.
# Usage: tools/install-deps.sh [build|test|fuzz|perf|compare|package]   (default: test)
set -euo pipefail
what=${1:-test}

# prometheus-cpp-dev: the core library writes /metrics (the pull and push parts are not used).
pkgs=(build-essential cmake ninja-build pkg-config git ca-certificates
      libevent-dev libssl-dev libxxhash-dev libyaml-cpp-dev node-llhttp libsystemd-dev libre2-dev
      googletest libgtest-dev libgmock-dev libbenchmark-dev curl
      prometheus-cpp-dev)
# The .deb (tools/package.sh, and its test): dpkg-shlibdeps (dpkg-dev) for the Depends line,
# lintian to check the result.
package_pkgs=(dpkg-dev lintian)
case "$what" in
  build) ;;
  # prometheus brings promtool (packaging/ checks) and the server that integration_prometheus
  # starts on its own port; its systemd service is not used.
  # systemd brings systemd-analyze (packaging_systemd_unit: verify, security); nothing is started.
  # clang-tidy: tools/tidy.py (.clang-tidy); python3 also runs tools/check_includes.py.
  # haproxy and nginx: integration_fleet runs each on its own ports and temp dir (the configs
  # in packaging/haproxy/ and packaging/nginx/); their system services are not used.
  test)  pkgs+=(clang clang-format clang-tidy libclang-rt-dev python3 procps prometheus systemd
                haproxy nginx "${package_pkgs[@]}") ;;
  # libFuzzer and the sanitizer runtimes come with clang (libclang-rt-dev); llvm brings
  # llvm-symbolizer for readable stack traces.
  fuzz)  pkgs+=(clang llvm libclang-rt-dev) ;;
  perf)  pkgs+=(wrk procps) ;;
  # perf/compare.sh runs Varnish and nginx on its own ports, from its own temp dirs; the
  # packages' system services (:80, :6081) are not used.
  compare) pkgs+=(wrk procps python3 varnish nginx-light) ;;
  package) pkgs+=("${package_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|fuzz|perf|compare|package]" >&2; exit 64 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
