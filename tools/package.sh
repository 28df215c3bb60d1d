#!/usr/bin/env bash
# Builds the Lacquer .deb on Debian 12: installs what is missing (Debian packages only),
# configures the release preset, builds lacquerd and lacquerctl (only), packages them with CPack
# and prints the path of the .deb (build/release/packages/lacquer_VERSION_ARCH.deb). Install it:
#   sudo dpkg -i build/release/packages/lacquer_*.deb
# What goes in the package is in packaging/package.cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh build
tools/install-deps.sh package

cmake --preset release >/dev/null
cmake --build --preset release --target lacquerd lacquerctl -j "$(nproc)"
out=build/release/packages
mkdir -p "$out"
cpack --config build/release/CPackConfig.cmake -G DEB -B "$out" >"$out/cpack.log" 2>&1 ||
  { cat "$out/cpack.log" >&2; exit 1; }
rm -rf "$out/_CPack_Packages"
deb=$(sed -n 's/^CPack: - package: \(.*\.deb\) generated\.$/\1/p' "$out/cpack.log")
[ -f "$deb" ] || { cat "$out/cpack.log" >&2; echo "cpack made no .deb" >&2; exit 1; }
echo "$deb"
