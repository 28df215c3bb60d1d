#!/usr/bin/env python3
"""N clients ask one cold key at the same instant; prints how many origin requests that cost and
the clients' latency percentiles. Usage: storm.py PROXY_PORT ORIGIN_PORT [N] [DELAY_MS]

One thread and one epoll set drive all N connections: they are opened first (and given
STORM_SETTLE_MS to be accepted), then the N requests go out back to back (about 2 ms for 200),
and each client's latency runs from its own send to the moment the poll that delivered the last
byte of its response returned. A thread per client
measured the GIL instead: 200 threads waking at once to take their answers added 30-60 ms to the
tail whatever the server did.

With PROXY_PORT equal to ORIGIN_PORT the clients go to the origin itself: the baseline the
waiters' latency is compared with (every client then costs an origin request)."""
import json
import os
import selectors
import socket
import sys
import time
import urllib.request

proxy, origin = int(sys.argv[1]), int(sys.argv[2])
n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
delay = int(sys.argv[4]) if len(sys.argv) > 4 else 500
# A fresh key per run, unless STORM_TARGET names one (perf/allocs.sh asks one key twice).
target = os.environ.get("STORM_TARGET") or f"/v3/storm-{time.time_ns()}?delay_ms={delay}&cc=max-age%3D60"
request = f"GET {target} HTTP/1.1\r\nHost: storm\r\nConnection: close\r\n\r\n".encode()
deadline = time.monotonic() + 60


def response_complete(data):
    """True once `data` holds a whole response framed by Content-Length (else EOF decides)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    for line in data[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(data) - end - 4 >= int(value.strip())
    return False


urllib.request.urlopen(f"http://127.0.0.1:{origin}/__reset", data=b"").read()
sel = selectors.EpollSelector()
clients = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", proxy), timeout=30)
    s.setblocking(False)
    clients.append(s)
    sel.register(s, selectors.EVENT_READ, i)
# The storm measures coalescing, not accepting: API clients keep their connections open, so
# the server gets STORM_SETTLE_MS (default 200) to take the N new connections before the
# requests go. Without it the first requests of a fresh server waited behind up to 200 accepts
# (each ~85 us of a 1-worker lacquerd's CPU, mostly the kernel's) and every client's latency
# grew by that backlog.
time.sleep(int(os.environ.get("STORM_SETTLE_MS", "200")) / 1000)
started = [0.0] * n
latencies = [None] * n
received = [b""] * n
for i, s in enumerate(clients):
    started[i] = time.perf_counter()
    s.send(request)  # a few dozen bytes into an empty socket buffer: never short
open_count = n
while open_count and time.monotonic() < deadline:
    ready = sel.select(timeout=1)
    now = time.perf_counter()
    for key, _ in ready:
        i = key.data
        try:
            chunk = clients[i].recv(65536)
        except ConnectionError:
            chunk = b""
        received[i] += chunk
        if chunk and not response_complete(received[i]):
            continue
        latencies[i] = (now - started[i]) * 1000
        sel.unregister(clients[i])
        clients[i].close()
        open_count -= 1
for s in clients:
    if s.fileno() >= 0:
        s.close()
done = sorted(x for x in latencies if x is not None)
statuses = [r.split(b"\r\n", 1)[0] for r in received]
ok = sum(1 for s in statuses if s.startswith(b"HTTP/1.1 200"))
stats = json.load(urllib.request.urlopen(f"http://127.0.0.1:{origin}/__stats"))
if not done:
    print(f"{n} concurrent cold misses, origin {delay} ms: 0/{n} answered 200, "
          f"origin requests {stats['requests']}, no client finished")
    sys.exit(1)
m = len(done)
print(f"{n} concurrent cold misses, origin {delay} ms: {ok}/{n} answered 200, "
      f"origin requests {stats['requests']}, latency p50 {done[m // 2]:.0f} ms, "
      f"p99 {done[max(0, int(m * 0.99) - 1)]:.0f} ms, max {done[-1]:.0f} ms")
