#!/usr/bin/env python3
"""Slow clients: keeps N connections to 127.0.0.1:PORT each sending a request head one byte
per second (a slowloris). A connection the server closes (408 after its header timeout) is
reopened at once, so N stay open. Runs for SECONDS, then prints one line:
  slow: N target, M open at the end, R reopened (server closed them), B bytes sent, S 408s seen
MODE tls drips the start of a TLS ClientHello instead (a half-open handshake); tls-silent
connects and sends nothing at all (a TLS handshake that never starts).
usage: slowloris.py PORT N SECONDS [http|tls|tls-silent]"""
import errno
import resource
import selectors
import socket
import sys
import time

HEAD = b"GET /slow HTTP/1.1\r\nHost: api.test\r\nUser-Agent: slowloris\r\nX-Pad: " + b"a" * 200
# A handshake record announcing a 512-byte ClientHello, then its first bytes.
HELLO = b"\x16\x03\x01\x02\x04\x01\x00\x02\x00\x03\x03" + b"\x11" * 200


def main():
    port, n, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    mode = sys.argv[4] if len(sys.argv) > 4 else "http"
    head = {"http": HEAD, "tls": HELLO, "tls-silent": b""}[mode]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 100)), hard))
    sel = selectors.DefaultSelector()
    conns = {}  # socket -> bytes sent
    stats = {"reopened": 0, "bytes": 0, "408": 0}

    def open_one():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            return False
        conns[s] = 0
        sel.register(s, selectors.EVENT_READ)
        return True

    def close_one(s):
        sel.unregister(s)
        del conns[s]
        s.close()

    end = time.monotonic() + seconds
    opened = 0
    while opened < n and time.monotonic() < end:
        opened += 1 if open_one() else 0
    next_tick = time.monotonic()
    while time.monotonic() < end:
        # Whatever the server says (a 408, or EOF) ends that connection; open another.
        for key, _ in sel.select(timeout=max(0.0, min(next_tick, end) - time.monotonic())):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if b" 408 " in data:
                stats["408"] += 1
            close_one(s)
            stats["reopened"] += 1
            open_one()
        if time.monotonic() >= next_tick and not head:
            next_tick += 1.0  # silent: nothing to drip
        elif time.monotonic() >= next_tick:
            next_tick += 1.0
            for s in list(conns):
                sent = conns[s]
                try:
                    if s.send(head[sent % len(head):sent % len(head) + 1]) == 1:
                        conns[s] = sent + 1
                        stats["bytes"] += 1
                except OSError:
                    close_one(s)
                    stats["reopened"] += 1
                    open_one()
    print(f"slow: {n} target, {len(conns)} open at the end, {stats['reopened']} reopened "
          f"(server closed them), {stats['bytes']} bytes sent, {stats['408']} 408s seen",
          flush=True)


if __name__ == "__main__":
    main()
