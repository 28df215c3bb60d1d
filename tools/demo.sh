#!/usr/bin/env bash
# Try Lacquer on a fresh Debian 12 machine: installs what is missing, builds, starts the demo
# origin on 127.0.0.1:9000 and lacquerd on :8080 with vcl-like-config/lacquer.yaml, and shows
# a first request. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh build

cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target lacquerd lacquer-demo-origin
bin=build/release

for port in 8080 9000; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "port $port is in use: stop what listens there, or edit vcl-like-config/lacquer.yaml" >&2
    exit 1
  fi
done

"$bin/lacquer-demo-origin" --listen 127.0.0.1:9000 > /tmp/lacquer-demo-origin.log 2>&1 &
origin=$!
"$bin/lacquerd" --config vcl-like-config/lacquer.yaml &
proxy=$!
trap 'kill $proxy $origin 2>/dev/null; wait 2>/dev/null' EXIT INT TERM

for _ in $(seq 50); do
  curl -s -o /dev/null http://127.0.0.1:8080/__stats && break
  sleep 0.1
done

cat <<'MSG'

Lacquer is running on http://127.0.0.1:8080 in front of the demo origin on 127.0.0.1:9000.
Try (look at the Cache-Status and Age headers):
  curl -si 'http://127.0.0.1:8080/v3/listings?limit=5'               # miss, then hit
  curl -si 'http://127.0.0.1:8080/v3/listings?limit=5&utm=x'         # hit: utm is not keyed
  curl -si -H 'Accept-Language: de-AT,de;q=0.9' 'http://127.0.0.1:8080/v3/listings?limit=5'
                                                                    # the de-DE variant
  curl -si 'http://127.0.0.1:8080/v3/users/42'                       # never cached (pass)
  curl -si 'http://127.0.0.1:8080/demo?cc=max-age%3D5'               # default route, 5 s fresh
  curl -s  http://127.0.0.1:9000/__stats                            # what reached the origin
The access log follows below. Ctrl-C stops both.

MSG
for attempt in first second; do
  echo "-- $attempt request for /v3/listings?limit=5:"
  curl -si 'http://127.0.0.1:8080/v3/listings?limit=5' | sed -n '1p;/^Age/p;/^Cache-Status/p'
done
wait $proxy
