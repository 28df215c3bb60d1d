"""HTTP/1.1 for perf/soak.py, minimal but strict: one keep-alive connection, requests as bytes,
responses framed by Content-Length or chunked so a truncated one is told apart. Stdlib only."""
import socket

class Outcome(Exception):
    """How an exchange ended when it did not end with a parsed response."""

    def __init__(self, outcome, detail):
        super().__init__(detail)
        self.outcome, self.detail = outcome, detail


class Response:
    def __init__(self, status, headers, body, keep_alive):
        self.status, self.headers, self.body, self.keep_alive = status, headers, body, keep_alive

    def header(self, name):
        values = self.headers.get(name)
        return ", ".join(values) if values else None


class Conn:
    def __init__(self, port, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.got = 0  # bytes of the current response received so far

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def idle_state(self):
        """None if the idle connection looks usable, else why not ('closed' or 'stray bytes')."""
        if self.buf:
            return "stray bytes"
        timeout = self.sock.gettimeout()
        self.sock.settimeout(0.0)  # with a timeout, recv would first wait that long for data
        try:
            data = self.sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return None
        except OSError:
            return "closed"
        finally:
            self.sock.settimeout(timeout)
        return "closed" if data == b"" else "stray bytes"

    def fill(self):
        try:
            data = self.sock.recv(262144)
        except socket.timeout:
            raise Outcome("timeout", "no bytes for %.0f s after %d response bytes"
                          % (self.sock.gettimeout(), self.got))
        except OSError as e:
            data, err = b"", e
        else:
            err = None
        if not data:
            if self.got == 0:
                raise Outcome("conn_error", f"closed before any response byte ({err or 'EOF'})")
            raise Outcome("truncated", f"closed after {self.got} response bytes ({err or 'EOF'})")
        self.got += len(data)
        self.buf += data

    def read_until(self, mark, limit):
        while True:
            at = self.buf.find(mark)
            if at >= 0:
                out = bytes(self.buf[:at])
                del self.buf[:at + len(mark)]
                return out
            if len(self.buf) > limit:
                raise Outcome("bad_response", f"no {mark!r} in {limit} bytes")
            self.fill()

    def read_exact(self, n):
        while len(self.buf) < n:
            self.fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_to_eof(self):
        while True:
            try:
                self.fill()
            except Outcome as e:
                if e.outcome == "truncated":  # EOF is the end of a body without framing
                    out = bytes(self.buf)
                    self.buf.clear()
                    return out
                raise

    def read_chunked(self):
        parts = []
        while True:
            line = self.read_until(b"\r\n", 4096)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise Outcome("bad_response", f"bad chunk size line {line[:40]!r}")
            if size == 0:
                while self.read_until(b"\r\n", 65536):  # trailers, up to the empty line
                    pass
                return b"".join(parts)
            parts.append(self.read_exact(size))
            if self.read_exact(2) != b"\r\n":
                raise Outcome("bad_response", "chunk data not followed by CRLF")

    def read_response(self, method):
        while True:
            head = self.read_until(b"\r\n\r\n", 256 * 1024)
            lines = head.split(b"\r\n")
            parts = lines[0].split(b" ", 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
                raise Outcome("bad_response", f"status line {lines[0][:60]!r}")
            status = int(parts[1])
            headers = {}
            for line in lines[1:]:
                name, colon, value = line.partition(b":")
                if not colon:
                    raise Outcome("bad_response", f"header line {line[:60]!r}")
                headers.setdefault(name.strip().lower().decode("latin1"), []).append(
                    value.strip().decode("latin1"))
            if status >= 200 or status == 101:
                break
        connection = ",".join(headers.get("connection", [])).lower()
        keep_alive = "close" not in connection
        lengths = set(headers.get("content-length", []))
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif "chunked" in ",".join(headers.get("transfer-encoding", [])).lower():
            body = self.read_chunked()
        elif lengths:
            if len(lengths) != 1 or not next(iter(lengths)).isdigit():
                raise Outcome("bad_response", f"Content-Length {sorted(lengths)}")
            body = self.read_exact(int(next(iter(lengths))))
        else:
            body, keep_alive = self.read_to_eof(), False
        return Response(status, headers, body, keep_alive)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def request(method, target, headers=(), body=None, chunked_body=False):
    lines = [f"{method} {target} HTTP/1.1", "Host: soak.test", "User-Agent: soak"]
    lines += list(headers)
    if body is not None:
        lines.append("Transfer-Encoding: chunked" if chunked_body else f"Content-Length: {len(body)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin1")
    if body is not None:
        if chunked_body:
            step = max(1, len(body) // 3)
            for i in range(0, len(body), step):
                piece = body[i:i + step]
                raw += b"%x\r\n" % len(piece) + piece + b"\r\n"
            raw += b"0\r\n\r\n"
        else:
            raw += body
    return raw
