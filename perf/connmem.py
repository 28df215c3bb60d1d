#!/usr/bin/env python3
"""Memory per client connection of a running lacquerd (perf/connmem.sh starts it).

usage: connmem.py PID PORT N KIND [ADMIN_PORT]
  KIND hit:  every connection asks the stored object /v3/connmem-hot (the caller stored it)
  KIND miss: every connection asks its own key, fetched from the origin and stored

Phases, each measured as lacquerd's VmRSS (and RssAnon) from /proc/PID/status once its open
sockets (/proc/PID/fd against /proc/net/tcp) say it has accepted or closed the connections
and the RSS has stopped moving:
  before   after the warm-up requests, no client connection open
  open     N connections accepted, nothing sent yet
  idle     each has sent one request and read the whole answer (keep-alive, idle now)
  head     each has then sent the first ~180 bytes of a second head (no blank line yet)
  closed   all N closed by the client, and CLOSE_SETTLE (2.5) seconds passed
  again    the same N open/request/close once more (what a second wave leaves)
Prints one line per phase: RSS, growth over `before`, and that growth per connection. Requests
go out in windows of WINDOW (64) outstanding, so that misses stay inside the origin pool's
connection cap. With ADMIN_PORT, the store's growth (lacquer_store_bytes: a miss's object
stays stored) is shown, and the growth per connection less it (less_store). With
MALLOC_INFO=1 (needs gdb), glibc's heap in use is shown too (malloc_info through gdb, the
process stopped a moment at each phase). Every wait is bounded (60 s a phase); one thread,
one epoll set."""
import os
import re
import resource
import selectors
import socket
import subprocess
import sys
import time
import urllib.request

pid, port, n, kind = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
admin = int(sys.argv[5]) if len(sys.argv) > 5 else 0
window = int(os.environ.get("WINDOW", "64"))
# lacquerd gives memory back 1 s after a wave of connections closes (net/memory_trim.h).
close_settle = float(os.environ.get("CLOSE_SETTLE", "2.5"))
HOT = "/v3/connmem-hot?size=1024&cc=max-age%3D3600"
HALF_HEAD = (b"GET /v3/connmem-hot?size=1024&cc=max-age%3D3600 HTTP/1.1\r\nHost: api.test\r\n"
             b"User-Agent: connmem\r\nAccept: */*\r\nX-Pad: " + b"p" * 80)


def target(i, wave):
    if kind == "hit":
        return HOT
    return f"/v3/connmem-{wave}-{i}?size=1024&cc=max-age%3D3600"


def status_kib(field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def client_sockets():
    """lacquerd's open sockets of connections to PORT (its upstream ones are not counted)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] != "0A":
                        inodes.add(fields[9])
        except FileNotFoundError:
            pass
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in inodes:
            count += 1
    return count


def wait_for(cond, what, seconds=60.0):
    end = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > end:
            sys.exit(f"connmem: timed out waiting for {what}")
        time.sleep(0.02)


def settled_rss():
    """VmRSS and RssAnon once two reads 200 ms apart agree within 64 KiB (at most 5 s)."""
    last = status_kib("VmRSS")
    for _ in range(25):
        time.sleep(0.2)
        now = status_kib("VmRSS")
        if abs(now - last) <= 64:
            break
        last = now
    return status_kib("VmRSS"), status_kib("RssAnon")


def store_kib():
    if not admin:
        return 0
    with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("lacquer_store_bytes "):
                return int(float(line.split()[1])) // 1024
    return 0


def malloc_in_use_kib():
    """glibc's heap in use (system bytes less free chunks, all arenas), through gdb's malloc_info;
    None without MALLOC_INFO=1 or when gdb cannot attach."""
    if os.environ.get("MALLOC_INFO") != "1":
        return None
    out = f"/tmp/connmem-malloc-{os.getpid()}.xml"
    try:
        subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx",
                        "-ex", f'set $f = (void *) fopen("{out}", "w")',
                        "-ex", "call (int) malloc_info(0, $f)", "-ex", "call (int) fclose($f)"],
                       capture_output=True, timeout=60, check=False)
        with open(out) as f:
            xml = f.read()
        os.unlink(out)
    except (OSError, subprocess.SubprocessError):
        return None
    tail = xml[xml.rfind("</heap>"):]  # the process-wide totals follow the last arena
    def total(tag, kind):
        m = re.search(rf'<{tag} type="{kind}" (?:count="\d+" )?size="(\d+)"', tail)
        return int(m.group(1)) if m else 0
    return (total("system", "current") - total("total", "fast") - total("total", "rest")) // 1024


def response_end(data):
    """Length of the first whole response in `data` (Content-Length framed), or -1."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return -1
    length = 0
    for line in data[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    total = end + 4 + length
    return total if len(data) >= total else -1


def open_all():
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setblocking(False)
        socks.append(s)
    wait_for(lambda: client_sockets() >= n, f"{n} connections accepted")
    return socks


def request_all(socks, wave):
    """One request on each, WINDOW at a time, each answer read whole; returns the statuses."""
    sel = selectors.EpollSelector()
    statuses = {}
    pending = {}
    next_i = 0
    end = time.monotonic() + 60
    while len(statuses) < len(socks):
        while next_i < len(socks) and len(pending) < window:
            s = socks[next_i]
            req = (f"GET {target(next_i, wave)} HTTP/1.1\r\nHost: api.test\r\n"
                   "User-Agent: connmem\r\n\r\n")
            s.sendall(req.encode())
            pending[s] = [next_i, b""]
            sel.register(s, selectors.EVENT_READ)
            next_i += 1
        if time.monotonic() > end:
            sys.exit(f"connmem: {len(pending)} answers missing after 60 s")
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            entry = pending[s]
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            if not chunk:
                sys.exit("connmem: lacquerd closed a keep-alive connection")
            entry[1] += chunk
            if response_end(entry[1]) >= 0:
                statuses[entry[0]] = entry[1][9:12].decode()
                sel.unregister(s)
                del pending[s]
    sel.close()
    return statuses


def close_all(socks):
    for s in socks:
        s.close()
    wait_for(lambda: client_sockets() == 0, "the connections to close")
    time.sleep(close_settle)


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 100)), hard))
    rows = []
    store_kib()  # the admin thread's first answer allocates (its arena): before `before`

    def measure(phase):
        rss, anon = settled_rss()
        rows.append((phase, rss, anon, store_kib(), malloc_in_use_kib()))

    measure("before")
    socks = open_all()
    measure("open")
    statuses = request_all(socks, 1)
    measure("idle")
    for s in socks:
        s.sendall(HALF_HEAD)
    time.sleep(0.5)  # loopback: read by then; settled_rss() waits for the RSS to stop moving
    measure("head")
    close_all(socks)
    measure("closed")
    socks = open_all()
    statuses2 = request_all(socks, 2)
    close_all(socks)
    measure("again")

    rss0 = rows[0][1]
    store0 = rows[0][3]
    print(f"{'phase':<8} {'VmRSS_KiB':>10} {'RssAnon_KiB':>11} {'growth_KiB':>10} {'store_KiB':>9} "
          f"{'B/conn':>8} {'less_store':>10} {'malloc_used_KiB':>15}")
    for phase, rss, anon, store, used in rows:
        growth = rss - rss0
        per = f"{growth * 1024 / n:8.0f}" if phase in ("open", "idle", "head") else f"{'':>8}"
        net = (f"{(growth - store + store0) * 1024 / n:10.0f}" if phase in ("open", "idle", "head")
               else f"{'':>10}")
        used_text = f"{used:15d}" if used is not None else f"{'-':>15}"
        print(f"{phase:<8} {rss:10d} {anon:11d} {growth:10d} {store - store0:9d} {per} {net} "
              f"{used_text}")
    closed, again = rows[4][1], rows[5][1]
    print(f"after close: {closed / rss0 * 100:.1f}% of before ({closed - rss0:+d} KiB); "
          f"after a second wave: {again / rss0 * 100:.1f}% ({again - rss0:+d} KiB)")
    stored = rows[5][3] - rows[0][3]
    if stored > 64:
        print(f"of which stored objects (lacquer_store_bytes): {stored} KiB; without them, after "
              f"the second wave: {(again - stored) / rss0 * 100:.1f}% of before")
    counts = {}
    for st in list(statuses.values()) + list(statuses2.values()):
        counts[st] = counts.get(st, 0) + 1
    print(f"{n} connections, kind {kind}; answers: " +
          ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))


main()
