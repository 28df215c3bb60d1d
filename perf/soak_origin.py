"""A faulty origin for perf/soak.py (run as `soak.py origin`): cuts bodies short, resets, sends
broken heads, stalls mid-body, and flaps. Stdlib only."""
import collections
import socket
import threading
import time

def origin_main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    print(f"listening on 127.0.0.1:{listener.getsockname()[1]}", flush=True)

    flaky = collections.Counter()
    flaky_lock = threading.Lock()

    def serve(s):
        s.settimeout(30)
        buf = b""
        try:
            while b"\r\n\r\n" not in buf:
                data = s.recv(65536)
                if not data:
                    return
                buf += data
            target = buf.split(b" ", 2)[1].decode("latin1")
            name = target.split("?")[0].rsplit("/", 1)[-1]
            if name.startswith("reset-"):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                return
            if name.startswith("flaky-"):
                with flaky_lock:
                    flaky[name] += 1
                    n = flaky[name]
                if n % 2 == 1:
                    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                              b"Cache-Control: max-age=1\r\nConnection: close\r\n"
                              b"Content-Length: 2000\r\n\r\n" + name.encode().ljust(2000, b"f"))
                elif n % 4 == 0:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                else:
                    s.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\n"
                              b"Cache-Control: no-store\r\nConnection: close\r\n\r\nbusy\n")
                return
            if name.startswith("garbage-"):
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n{}")
                return
            if name.startswith("chunkcut-"):
                s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                          b"Cache-Control: max-age=60\r\n\r\n"
                          + b"400\r\n" + b"c" * 1024 + b"\r\n" + b"400\r\n" + b"c" * 512)
                time.sleep(0.05)
                return
            length = 8192
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                      b"Cache-Control: max-age=60\r\nContent-Length: %d\r\n\r\n" % length
                      + b"b" * (length // 2))
            if not name.startswith("cutnow-"):
                time.sleep(4.0 if name.startswith("stall-") else 0.05)
        except OSError:
            pass
        finally:
            s.close()

    while True:
        s, _ = listener.accept()
        threading.Thread(target=serve, args=(s,), daemon=True).start()
