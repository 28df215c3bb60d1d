#!/usr/bin/env python3
"""Soak traffic for lacquerd (perf/soak.sh). Stdlib only: threads and raw sockets.
usage:
  soak.py origin
      A faulty origin on 127.0.0.1, port 0; prints "listening on HOST:PORT". Under /v3/broken/
      it cuts bodies short (cut-, cutnow-, chunkcut-), resets before answering (reset-), sends a
      broken head (garbage-), stalls mid-body for 4 s (stall-); flaky-NAME answers every other request
      with a 2000-byte 200 fresh for 1 s, the others with a 503 or a reset.
  soak.py run PORT PID SECONDS [--clients 50] [--slow-clients 5] [--keys 50000] [--interval 30]
              [--admin PORT] [--budget BYTES --overhead BYTES] [--quiet]
      CLIENTS keep-alive clients (SLOW of them only do the requests that take seconds) send a
      mix of hits, misses, pass, POSTs, variants, conditionals and faults to lacquerd on PORT
      for SECONDS. Every INTERVAL s: elapsed, lacquerd's RSS and open fds, requests so far and
      errors by kind. At the end: outcomes by status and by traffic kind, the responses that were
      not what their kind expects, lacquerd's peak RSS (VmHWM) against BUDGET + OVERHEAD.
      Exits 1 if lacquerd died, the RSS check fails or any outcome was unexpected.
  soak.py settle PID TIMEOUT
      Waits (at most TIMEOUT s) until lacquerd holds no TCP connection other than its listeners
      (idle origin connections close after 30 s), then prints "fds N listening L connected C
      waited S".
"""
import argparse
import collections
import json
import os
import random
import socket
import sys
import threading
import time

MiB = 1 << 20
HOST = b"soak.test"

from soak_origin import origin_main  # noqa: E402  (beside this file)
from soak_proc import fd_count, proc_status, settle, socket_census  # noqa: E402
from soak_http import Conn, Outcome, Response, fnv1a64, request  # noqa: E402,F401


# ---------------------------------------------------------------- traffic kinds

# Per kind: the weight among fast or slow clients, and the outcomes it expects. An outcome is a
# status code ("200"), "conn_error" (no response byte), "truncated" (a response cut short),
# "timeout" (lacquerd silent for too long), "bad_response" (unparseable), "bad_body" (wrong
# bytes: length, path, variant, request echo), "stray_bytes" (bytes after a complete response)
# or "aborted" (this client hung up on purpose).
FAST = {
    "hot_hit":      (330, {"200"}),
    "cold":         (250, {"200"}),
    "miss":         (40, {"200"}),
    "uncacheable":  (20, {"200"}),
    "pass":         (70, {"200"}),
    "head":         (15, {"200"}),
    "chunked":      (20, {"200"}),
    "post":         (50, {"200"}),
    "variant":      (70, {"200"}),
    "cookie":       (10, {"200"}),
    "conditional":  (50, {"200", "304"}),
    "origin_error": (20, {"500", "502", "503"}),
    "origin_cut":   (6, {"truncated", "502"}),
    "origin_reset": (3, {"502"}),
    "origin_flaky": (10, {"200", "502", "503"}),
    "origin_garbage": (3, {"502"}),
    "client_abort": (15, {"aborted"}),
    "malformed":    (15, {"400", "414", "431", "505"}),
}
SLOW = {
    "slow_ok":      (30, {"200"}),
    "slow_origin":  (30, {"504"}),
    "origin_stall": (10, {"truncated", "504"}),
    "slow_head":    (20, {"200"}),
    "stalled_head": (5, {"408"}),
    "abort_waiting": (10, {"aborted"}),
}
EXPECTED = {kind: expected for table in (FAST, SLOW) for kind, (_, expected) in table.items()}

MALFORMED = [  # (bytes, the status it must get)
    (b"GET /v3/items/1 HTTP/1.1\r\nHost: soak\r\nNoColonHere\r\n\r\n", "400"),
    (b"GET /v3/items/1 HTTP/1.1\r\nHost: soak\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
     b"hello!", "400"),
    (b"POST /v3/users/x HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"zz\r\nhello\r\n0\r\n\r\n", "400"),
    (b"G@T /v3/items/1 HTTP/1.1\r\nHost: soak\r\n\r\n", "400"),
    (b"GET /v3/items/1 HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n"
     b"Content-Length: 3\r\n\r\n0\r\n\r\n", "400"),
    (b"GET /v3/items/1 HTTP/1.1\r\nHost: soak\r\nX-Ctl: a\x01b\r\n\r\n", "400"),
    (b"GET /v3/items/1 HTTP/1.1\r\n\r\n", "400"),  # no Host
    (b"GET /v3/items/1 HTTP/7.1\r\nHost: soak\r\n\r\n", "505"),
    (b"GET /v3/items/1 HTTP/1.1\r\nHost: soak\r\nX-Big: " + b"b" * (40 * 1024) + b"\r\n\r\n", "431"),
    (b"GET /v3/items/" + b"u" * (9 * 1024) + b" HTTP/1.1\r\nHost: soak\r\n\r\n", "414"),
]

VARIANTS = [  # (request headers, query, expected locale, expected currency)
    (["Accept-Language: de-DE"], "", "de-DE", "USD"),
    (["Accept-Language: fr-FR,en;q=0.5"], "", "fr-FR", "USD"),
    (["Accept-Language: de-AT,de;q=0.9"], "", "de-DE", "USD"),
    (["Accept-Language: xx-YY"], "", "en-US", "USD"),
    (["Cookie: session=s1; locale=ja-JP; currency=JPY"], "", "ja-JP", "JPY"),
    (["X-Currency: EUR"], "", "en-US", "EUR"),
    (["Accept-Language: de-DE"], "&locale=en-GB&currency=GBP", "en-GB", "GBP"),
    ([], "", "en-US", "USD"),
]


ETAGS = {}  # /v3/tagged/N -> the last ETag any client saw (dict operations are atomic)


def item_size(i):
    return 1024 + (i * 2654435761) % 15361  # 1 KiB .. 16 KiB, fixed per key


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_kind = collections.defaultdict(collections.Counter)
        self.unexpected = collections.Counter()
        self.samples = collections.defaultdict(list)
        self.cache_status = collections.Counter()
        self.cache_by_kind = collections.defaultdict(collections.Counter)
        self.reconnects = collections.Counter()
        self.total = 0

    def record(self, kind, outcome, detail="", cache_status=None):
        with self.lock:
            self.total += 1
            self.by_kind[kind][outcome] += 1
            if outcome not in EXPECTED[kind]:
                self.unexpected[kind] += 1
                if len(self.samples[kind]) < 5:
                    self.samples[kind].append(f"{outcome}: {detail}"[:300])
            if cache_status:
                self.cache_by_kind[kind][cache_status] += 1
                if outcome in ("200", "304"):
                    self.cache_status[cache_status] += 1

    def outcomes(self):
        with self.lock:
            total = collections.Counter()
            for counts in self.by_kind.values():
                total.update(counts)
            return total, sum(self.unexpected.values()), self.total


class Client(threading.Thread):
    def __init__(self, index, table, args, stats, stop):
        super().__init__(daemon=True)
        self.index, self.args, self.stats, self.stop = index, args, stats, stop
        self.kinds = list(table)
        self.weights = [table[k][0] for k in self.kinds]
        self.rng = random.Random(index * 7919 + 17)
        self.conn = None
        self.seq = 0
        self.last_kind = None

    # -- connections
    def drop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def connection(self, timeout):
        if self.conn is not None:
            why = self.conn.idle_state()
            if why is not None:
                # lacquerd closed a connection it had left open (or sent more than it framed).
                self.stats.reconnects[why] += 1
                if why == "stray bytes":
                    self.drop()
                    raise Outcome("stray_bytes", f"bytes after a complete {self.last_kind} response")
                self.drop()
        if self.conn is None:
            try:
                self.conn = Conn(self.args.port, timeout)
            except OSError as e:
                raise Outcome("conn_error", f"connect: {e}")
        self.conn.sock.settimeout(timeout)
        self.conn.got = 0
        return self.conn

    def exchange(self, raw, method="GET", timeout=15.0, fresh=False):
        if fresh:
            self.drop()
        conn = self.connection(timeout)
        try:
            conn.sock.sendall(raw)
        except OSError as e:
            self.drop()
            raise Outcome("conn_error", f"send: {e}")
        try:
            resp = conn.read_response(method)
        except Outcome as e:
            self.drop()
            e.detail = f"{raw[:raw.find(b' HTTP/')].decode('latin1')[:100]}: {e.detail}"
            raise
        if not resp.keep_alive:
            self.drop()
        return resp

    def unique(self):
        self.seq += 1
        return f"c{self.index}-{self.seq}-{self.rng.randrange(1 << 30)}"

    # -- the loop
    def run(self):
        while not self.stop.is_set():
            kind = self.rng.choices(self.kinds, self.weights)[0]
            try:
                self.kind = kind
                outcome, detail, cache_status = getattr(self, "do_" + kind)()
            except Outcome as e:
                outcome, detail, cache_status = e.outcome, e.detail, None
            except Exception as e:  # a bug here must not end the client silently
                outcome, detail, cache_status = "client_bug", repr(e), None
                self.drop()
            self.stats.record(kind, outcome, detail, cache_status)
            self.last_kind = kind
        self.drop()

    @staticmethod
    def status_of(resp):
        cs = resp.header("cache-status") or ""
        if "hit" in cs and "fwd=" not in cs:
            state = "hit"
        elif "fwd=stale" in cs:
            state = "stale_if_error" if "fwd-status" in cs else "stale"
        elif "collapsed" in cs:
            state = "coalesced"
        elif "fwd=bypass" in cs:
            state = "bypass"
        elif "fwd=" in cs:
            state = "miss"
        else:
            state = "none"
        return state

    def check_json(self, resp, path, size=None, locale=None, currency=None):
        """(outcome, detail, cache state) of a demo-origin GET answer."""
        state = self.status_of(resp)
        if resp.status != 200:
            return str(resp.status), f"{path}: {resp.body[:120]!r}", state
        if size is not None and len(resp.body) != size:
            return "bad_body", f"{path}: {len(resp.body)} bytes, expected {size}", state
        try:
            doc = json.loads(resp.body)
        except ValueError:
            return "bad_body", f"{path}: not JSON: {resp.body[:80]!r}", state
        if doc.get("path") != path:
            return "bad_body", f"asked {path}, got the answer for {doc.get('path')}", state
        if locale is not None and (doc.get("locale"), doc.get("currency")) != (locale, currency):
            return "bad_body", (f"{path}: variant {doc.get('locale')}/{doc.get('currency')}, "
                                f"expected {locale}/{currency}"), state
        return "200", "", state

    def do_hot_hit(self):
        return self.get_item(self.rng.randrange(1000))

    def do_cold(self):
        return self.get_item(self.rng.randrange(self.args.keys))

    def get_item(self, i, method="GET", headers=()):
        size = item_size(i)
        path = f"/v3/items/{i}"
        resp = self.exchange(request(method, f"{path}?size={size}", headers), method)
        if method == "HEAD":
            if resp.status != 200:
                return str(resp.status), f"HEAD {path}", None
            if resp.header("content-length") != str(size):
                length = resp.header("content-length")
                return "bad_body", f"HEAD {path}: Content-Length {length}", None
            return "200", "", self.status_of(resp)
        return self.check_json(resp, path, size)

    def do_head(self):
        return self.get_item(self.rng.randrange(1000), "HEAD")

    def do_cookie(self):
        return self.get_item(self.rng.randrange(1000), headers=["Cookie: session=abc123"])

    def do_miss(self):
        path = f"/v3/items/{self.unique()}"
        return self.check_json(self.exchange(request("GET", path + "?size=2048")), path, 2048)

    def do_uncacheable(self):
        path = f"/v3/faults/nostore-{self.rng.randrange(500)}"
        return self.check_json(self.exchange(request("GET", path + "?cc=no-store")), path)

    def do_pass(self):
        i = self.rng.randrange(self.args.keys)
        size = item_size(i)
        # close=1: the origin ends its connection after answering
        extra = self.rng.choice(["", "", "&close=1", "&chunked=1"])
        path = f"/v3/users/{i}"
        resp = self.exchange(request("GET", f"{path}?size={size}{extra}"))
        return self.check_json(resp, path, size)

    def do_chunked(self):
        i = self.rng.randrange(2000)
        size = item_size(i)
        path = f"/v3/faults/chunk-{i}"
        resp = self.exchange(request("GET", f"{path}?size={size}&chunked=1"))
        return self.check_json(resp, path, size)

    def do_post(self):
        body = self.rng.randbytes(self.rng.choice([0, 100, 4096, self.rng.randrange(16384)]))
        path = "/v3/users/orders"
        resp = self.exchange(request("POST", path, ["Content-Type: application/octet-stream"], body,
                                     chunked_body=self.rng.random() < 0.25))
        if resp.status != 200:
            return str(resp.status), f"POST: {resp.body[:120]!r}", None
        try:
            doc = json.loads(resp.body)
        except ValueError:
            return "bad_body", f"POST: not JSON: {resp.body[:80]!r}", None
        want = (len(body), f"{fnv1a64(body):016x}")
        got = (doc.get("body_length"), doc.get("body_fnv1a64"))
        if got != want:
            return "bad_body", f"POST echo {got}, sent {want}", None
        return "200", "", "bypass"

    def do_variant(self):
        i = self.rng.randrange(2000)
        headers, query, locale, currency = self.rng.choice(VARIANTS)
        size = item_size(i)
        path = f"/v3/localized/{i}"
        resp = self.exchange(request("GET", f"{path}?size={size}{query}", headers))
        return self.check_json(resp, path, size, locale, currency)

    def do_conditional(self):
        i = self.rng.randrange(500)
        path = f"/v3/tagged/{i}"
        target = f"{path}?size=1500&etag=1"
        etag = ETAGS.get(i) if self.rng.random() < 0.8 else '"not-this-one"'
        headers = [f"If-None-Match: {etag}"] if etag else []
        resp = self.exchange(request("GET", target, headers))
        if resp.header("etag"):
            ETAGS[i] = resp.header("etag")
        if resp.status == 304:
            if resp.body:
                return "bad_body", "304 with a body", None
            return "304", "", self.status_of(resp)
        return self.check_json(resp, path, 1500)

    def do_origin_error(self):
        code = self.rng.choice([500, 502, 503])
        route = self.rng.choice(["faults", "users"])  # cached route (unique key) or pass
        resp = self.exchange(request("GET", f"/v3/{route}/err-{self.unique()}?status={code}"))
        outcome = str(resp.status)
        return outcome, f"asked the origin for {code}", None

    def broken(self, what):
        resp = self.exchange(request("GET", f"/v3/broken/{what}-{self.unique()}"))
        if resp.status == 200:
            # The whole declared body arrived, yet the origin sent half: lacquerd made it up?
            return "bad_body", f"{what}: complete 200 of {len(resp.body)} bytes", None
        return str(resp.status), f"{what}: {resp.body[:80]!r}", None

    def do_origin_cut(self):
        what = self.rng.choice(["cut", "cutnow", "chunkcut"])
        if self.rng.random() < 0.5:  # a key others may be waiting on at the same time
            resp = self.exchange(request("GET", f"/v3/broken/{what}-shared{self.rng.randrange(10)}"))
            if resp.status == 200:
                return "bad_body", f"{what}: complete 200 of {len(resp.body)} bytes", None
            return str(resp.status), f"{what}: {resp.body[:80]!r}", None
        return self.broken(what)

    def do_origin_flaky(self):
        # Stored for 1 s, then stale: refreshed in the background against an origin that fails
        # every other time. A client sees 200 (fresh or stale) or the origin's failure.
        name = f"flaky-{self.rng.randrange(50)}"
        resp = self.exchange(request("GET", f"/v3/broken/{name}"))
        state = self.status_of(resp)
        if resp.status != 200:
            return str(resp.status), f"{name}: {resp.body[:80]!r}", state
        if resp.body != name.encode().ljust(2000, b"f"):
            return "bad_body", f"{name}: {len(resp.body)} bytes {resp.body[:40]!r}", state
        return "200", "", state

    def do_origin_reset(self):
        return self.broken("reset")

    def do_origin_garbage(self):
        return self.broken("garbage")

    def do_origin_stall(self):
        return self.broken("stall")

    def do_client_abort(self):
        how = self.rng.randrange(3)
        conn = self.connection(15.0)
        try:
            if how == 0:  # a large pass answer, read 4 KiB of it
                conn.sock.sendall(request("GET", "/v3/users/big?size=1048576"))
                conn.read_until(b"\r\n\r\n", 65536)
            elif how == 1:  # a large cached object (8 of 256 KiB..1 MiB), maybe still filling
                k = self.rng.randrange(8)
                conn.sock.sendall(request("GET", f"/v3/faults/big-{k}?size={(k % 4 + 1) * 262144}"))
                conn.read_until(b"\r\n\r\n", 65536)
            else:  # half a POST body, then gone
                conn.sock.sendall(request("POST", "/v3/users/upload", [], b"p" * 10000)[:-7000])
        finally:
            self.drop()
        return "aborted", "", None

    def do_slow_ok(self):
        path = f"/v3/faults/slowok-{self.unique()}"
        delay = self.rng.randrange(200, 1200)
        return self.check_json(self.exchange(request("GET", f"{path}?delay_ms={delay}")), path)

    def do_slow_origin(self):
        # first_byte_timeout is 2 s: 504 after 2 s, whatever the origin does at 3 s.
        resp = self.exchange(request("GET", f"/v3/faults/slow-{self.unique()}?delay_ms=3000"))
        return str(resp.status), f"origin answers after 3 s: {resp.body[:80]!r}", None

    def do_slow_head(self):
        # The head in 6 pieces over about 2 s (client_header_timeout is 5 s): an ordinary 200.
        i = self.rng.randrange(1000)
        size = item_size(i)
        path = f"/v3/items/{i}"
        raw = request("GET", f"{path}?size={size}", ["Accept: application/json", "X-Slow: 1"])
        conn = self.connection(15.0)
        step = len(raw) // 6 + 1
        try:
            for at in range(0, len(raw), step):
                conn.sock.sendall(raw[at:at + step])
                if at + step < len(raw):
                    time.sleep(0.35)
            resp = conn.read_response("GET")
        except OSError as e:
            self.drop()
            raise Outcome("conn_error", f"slow head: {e}")
        except Outcome:
            self.drop()
            raise
        if not resp.keep_alive:
            self.drop()
        return self.check_json(resp, path, size)

    def do_stalled_head(self):
        # Half a head, then nothing: 408 after client_header_timeout (5 s), then a close.
        resp = self.exchange(b"GET /v3/items/1?size=1024 HTTP/1.1\r\nHost: soak\r\nX-Stall: ",
                             timeout=15.0, fresh=True)
        self.drop()
        return str(resp.status), "stalled head", None

    def do_abort_waiting(self):
        conn = self.connection(15.0)
        try:
            conn.sock.sendall(request("GET", f"/v3/faults/wait-{self.unique()}?delay_ms=800"))
            time.sleep(0.1)
        finally:
            self.drop()
        return "aborted", "", None

    def do_malformed(self):
        raw, want = self.rng.choice(MALFORMED)
        try:
            resp = self.exchange(raw, fresh=True)
        finally:
            self.drop()
        outcome = str(resp.status)
        if outcome != want:
            return "unexpected_" + outcome, f"{raw[:60]!r} got {outcome}, expected {want}", None
        if resp.keep_alive:
            return "kept_open", f"{raw[:60]!r}: {outcome} without Connection: close", None
        return outcome, "", None


# ---------------------------------------------------------------- run, report

def admin_stats(port):
    if not port:
        return None
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET /stats HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        return json.loads(data.split(b"\r\n\r\n", 1)[1])
    except (OSError, ValueError, IndexError):
        return None


def error_text(total):
    parts = []
    for key in ("conn_error", "truncated", "timeout", "bad_response", "bad_body", "stray_bytes"):
        parts.append(f"{key}={total.get(key, 0)}")
    for key in sorted(k for k in total if k.isdigit() and int(k) >= 400):
        parts.append(f"{key}={total[key]}")
    for key in sorted(k for k in total if not k.isdigit() and k not in (
            "conn_error", "truncated", "timeout", "bad_response", "bad_body", "stray_bytes",
            "aborted")):
        parts.append(f"{key}={total[key]}")
    return " ".join(parts)


def run_main(args):
    stats = Stats()
    stop = threading.Event()
    clients = [Client(i, SLOW if i < args.slow_clients else FAST, args, stats, stop)
               for i in range(args.clients)]
    start = time.monotonic()
    for c in clients:
        c.start()
    max_rss = 0
    died_at = None
    next_report = start + args.interval
    if not args.quiet:
        print(f"{'elapsed':>7} {'RSS MiB':>8} {'fds':>5} {'requests':>9} {'req/s':>6} "
              f"{'cache MiB':>9} {'objects':>7}  errors by kind "
              "(unexpected: not what the kind expects)",
              flush=True)
    last_total, last_time = 0, start
    while True:
        now = time.monotonic()
        if now - start >= args.seconds:
            break
        time.sleep(min(1.0, max(0.0, start + args.seconds - now)))
        st = proc_status(args.pid)
        if st is None:
            died_at = time.monotonic() - start
            break
        max_rss = max(max_rss, st["VmRSS"])
        if not args.quiet and time.monotonic() >= next_report:
            next_report += args.interval
            total, unexpected, n = stats.outcomes()
            now = time.monotonic()
            rate = (n - last_total) / max(1e-9, now - last_time)
            last_total, last_time = n, now
            cache = admin_stats(args.admin)
            cache_mib = f"{cache['bytes'] / MiB:9.1f}" if cache else f"{'-':>9}"
            objects = f"{cache['objects']:7d}" if cache else f"{'-':>7}"
            print(f"{now - start:6.0f}s {st['VmRSS'] / 1024:8.1f} {fd_count(args.pid):5d} {n:9d} "
                  f"{rate:6.0f} {cache_mib} {objects}  {error_text(total)} unexpected={unexpected}",
                  flush=True)
    stop.set()
    deadline = time.monotonic() + 20  # the longest exchange times out after 15 s
    for c in clients:
        c.join(max(0.1, deadline - time.monotonic()))
    stuck = sum(1 for c in clients if c.is_alive())
    elapsed = time.monotonic() - start
    total, unexpected, n = stats.outcomes()

    if died_at is not None:
        print(f"FAIL: lacquerd (pid {args.pid}) is gone after {died_at:.0f} s "
              f"({n} requests done); see its output", flush=True)
    if args.quiet:
        print(f"warm-up: {n} requests in {elapsed:.0f} s, {error_text(total)} "
              f"unexpected={unexpected}", flush=True)
        for kind, samples in sorted(stats.samples.items()):
            for s in samples:
                print(f"  unexpected {kind}: {s}")
        return 1 if died_at is not None or stuck else 0

    print(f"\n== totals: {n} requests in {elapsed:.0f} s ({n / elapsed:.0f}/s), "
          f"{args.clients} clients ({args.slow_clients} of them slow)")
    codes = sorted(k for k in total if k.isdigit())
    groups = [("2xx", [k for k in codes if k.startswith("2")]),
              ("304", [k for k in codes if k == "304"]),
              ("other 3xx", [k for k in codes if k.startswith("3") and k != "304"]),
              ("4xx", [k for k in codes if k.startswith("4")]),
              ("5xx", [k for k in codes if k.startswith("5")])]
    for name, keys in groups:
        if not keys and name == "other 3xx":
            continue
        line = f"  {name:<22}{sum(total[k] for k in keys):>10}"
        if name in ("4xx", "5xx", "2xx") and keys:
            line += "   (" + ", ".join(f"{k}: {total[k]}" for k in keys) + ")"
        print(line)
    labels = [("conn_error", "connection errors"), ("truncated", "truncated responses"),
              ("timeout", "timeouts (15 s silent)"), ("bad_response", "unparseable responses"),
              ("bad_body", "wrong bodies"), ("stray_bytes", "bytes after a response"),
              ("aborted", "deliberate client aborts")]
    for key, label in labels:
        print(f"  {label:<22}{total.get(key, 0):>10}")
    for key in sorted(k for k in total if not k.isdigit() and k not in dict(labels)):
        print(f"  {key:<22}{total[key]:>10}")
    print("  cache status of 2xx/304: " + ", ".join(
        f"{k} {v}" for k, v in stats.cache_status.most_common()))
    if stats.reconnects:
        print("  idle keep-alive connections found unusable: " + ", ".join(
            f"{k} {v}" for k, v in sorted(stats.reconnects.items())))

    print("  cache status by kind: " + "; ".join(
        f"{kind} " + ", ".join(f"{k} {v}" for k, v in counts.most_common())
        for kind, counts in sorted(stats.cache_by_kind.items())
        if kind in ("hot_hit", "cold", "variant", "conditional", "origin_flaky")))
    print("\n== by traffic kind (expected outcomes in brackets)")
    for table in (FAST, SLOW):
        for kind in table:
            counts = stats.by_kind.get(kind, collections.Counter())
            shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            flag = f"  UNEXPECTED {stats.unexpected[kind]}" if stats.unexpected[kind] else ""
            print(f"  {kind:<15}{sum(counts.values()):>9}  [{'/'.join(sorted(EXPECTED[kind]))}]"
                  f"  {shown}{flag}")
    if died_at is not None:
        print("  (no samples of unexpected outcomes: lacquerd died, they would only say so)")
    else:
        for kind, samples in sorted(stats.samples.items()):
            for s in samples:
                print(f"  unexpected {kind}: {s}")

    ok = True
    final = proc_status(args.pid)
    hwm = final["VmHWM"] * 1024 if final else max_rss * 1024
    print(f"\nmax RSS: {hwm / MiB:.1f} MiB (VmHWM; highest 1 s sample {max_rss / 1024:.1f} MiB)")
    print(f"storage budget: {args.budget / MiB:.0f} MiB, "
          f"overhead allowance: {args.overhead / MiB:.0f} MiB")
    rss_ok = hwm <= args.budget + args.overhead
    ok &= rss_ok
    print(f"check RSS max <= budget + overhead ({hwm / MiB:.1f} <= "
          f"{(args.budget + args.overhead) / MiB:.0f} MiB): {'PASS' if rss_ok else 'FAIL'}")
    print(f"check every outcome as its kind expects ({unexpected} unexpected): "
          f"{'PASS' if unexpected == 0 else 'FAIL'}")
    ok &= unexpected == 0
    if stuck:
        print(f"FAIL: {stuck} clients still waiting 20 s after the end")
        ok = False
    if died_at is not None:
        ok = False
    sys.stdout.flush()
    return 0 if ok else 1


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "origin":
        origin_main()
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "settle":
        settle(int(sys.argv[2]), float(sys.argv[3]))
        return 0
    p = argparse.ArgumentParser(usage=__doc__)
    p.add_argument("mode", choices=["run"])
    p.add_argument("port", type=int)
    p.add_argument("pid", type=int)
    p.add_argument("seconds", type=float)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--slow-clients", type=int, default=5)
    p.add_argument("--keys", type=int, default=50000)
    p.add_argument("--interval", type=float, default=30)
    p.add_argument("--admin", type=int, default=0)
    p.add_argument("--budget", type=int, default=64 * MiB)
    p.add_argument("--overhead", type=int, default=64 * MiB)
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    return run_main(args)


if __name__ == "__main__":
    sys.exit(main())
