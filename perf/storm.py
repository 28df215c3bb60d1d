#!/usr/bin/env python3
"""N clients ask one cold key at the same instant; prints how many origin requests that cost and
the clients' latency percentiles. Usage: storm.py PROXY_PORT ORIGIN_PORT [N] [DELAY_MS]"""
import json
import socket
import sys
import threading
import time
import urllib.request

proxy, origin = int(sys.argv[1]), int(sys.argv[2])
n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
delay = int(sys.argv[4]) if len(sys.argv) > 4 else 500
target = f"/v3/storm-{time.time_ns()}?delay_ms={delay}&cc=max-age%3D60"
latencies = [0.0] * n
statuses = [b""] * n
barrier = threading.Barrier(n, timeout=30)


def client(i):
    s = socket.create_connection(("127.0.0.1", proxy), timeout=30)
    barrier.wait()
    start = time.perf_counter()
    s.sendall(f"GET {target} HTTP/1.1\r\nHost: storm\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    latencies[i] = (time.perf_counter() - start) * 1000
    statuses[i] = data.split(b"\r\n", 1)[0]
    s.close()


urllib.request.urlopen(f"http://127.0.0.1:{origin}/__reset", data=b"").read()
threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
latencies.sort()
ok = sum(1 for s in statuses if s.startswith(b"HTTP/1.1 200"))
stats = json.load(urllib.request.urlopen(f"http://127.0.0.1:{origin}/__stats"))
print(f"{n} concurrent cold misses, origin {delay} ms: {ok}/{n} answered 200, "
      f"origin requests {stats['requests']}, latency p50 {latencies[n // 2]:.0f} ms, "
      f"p99 {latencies[max(0, int(n * 0.99) - 1)]:.0f} ms, max {latencies[-1]:.0f} ms")
