"""HTTP/1.1 from a node's own network position, for the Subversion client over http(s):// (svndav.py):
requests on one connection, a direct-tcpip channel of the run's SSH connection kept alive between
requests (opened again once when the server closed an idle one); over https, TLS runs over the
channel and the server's certificate is verified, always: against the trust anchors given (the
node's own trust store) and this machine's CAs, with the URL's host name. Every request has a
deadline, the head and the body a size cap; a body streams to a callback (Content-Length, chunked,
or to the end of the connection), never held whole unless asked. The head and chunk parsers are
pure. No request (its Authorization header) ever shows in an error."""
from __future__ import annotations

import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Callable

from ..remote import RemoteError
from ..remote.protocol import NodeReads

#: the most bytes a response head may take
HEAD_LIMIT = 64 << 10
#: the most bytes a body kept in memory (an XML answer) may take
SMALL_BODY = 4 << 20


class HttpError(Exception):
    """No usable HTTP answer: the connection, TLS (an untrusted certificate), the deadline, a malformed answer."""


@dataclass
class Response:
    """A response's status line and headers (names lower-cased; a repeated header keeps every value), and
    its body when it was kept."""

    status: int
    reason: str
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None


def parse_head(head: bytes) -> Response:
    """The status line and headers of a response head (up to its blank line); an HttpError when it is not HTTP/1.x."""
    lines = head.split(b"\r\n")
    m = re.fullmatch(rb"HTTP/1\.([01]) (\d{3})(?: (.*))?", lines[0])
    if not m:
        raise HttpError(f"not an HTTP/1.x answer ({lines[0][:60]!r})")
    out = Response(int(m.group(2)), (m.group(3) or b"").decode("latin-1"))
    if m.group(1) == b"0":
        out.headers["x-http-1.0"] = ["yes"]
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep or not re.fullmatch(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
            raise HttpError(f"a malformed header line ({line[:60]!r})")
        out.headers.setdefault(name.decode("ascii").lower(), []).append(value.strip().decode("latin-1"))
    return out


class Chunked:
    """A chunked body, decoded as it arrives: `feed` returns the data in the bytes given; `done` once the
    last chunk and the trailers passed (what follows belongs to the next response: `rest`)."""

    def __init__(self) -> None:
        self.buf = b""
        self.left = 0  # bytes of the current chunk still to come
        self.state = "size"  # size, data, crlf, trailer, done

    @property
    def done(self) -> bool:
        return self.state == "done"

    @property
    def rest(self) -> bytes:
        return self.buf if self.done else b""

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        out: list[bytes] = []
        while not self.done:
            if self.state == "data":
                if not self.buf:
                    break
                take = self.buf[:self.left]
                out.append(take)
                self.buf, self.left = self.buf[len(take):], self.left - len(take)
                if not self.left:
                    self.state = "crlf"
                continue
            end = self.buf.find(b"\r\n")
            if end < 0:
                if len(self.buf) > 4096:
                    raise HttpError("a chunk-size or trailer line longer than 4096 bytes")
                break
            line, self.buf = self.buf[:end], self.buf[end + 2:]
            if self.state == "crlf":
                if line:
                    raise HttpError("a chunk not followed by CRLF")
                self.state = "size"
            elif self.state == "size":
                m = re.fullmatch(rb"([0-9A-Fa-f]{1,15})[ \t]*(?:;.*)?", line)
                if not m:
                    raise HttpError(f"a malformed chunk size ({line[:40]!r})")
                self.left = int(m.group(1), 16)
                self.state = "data" if self.left else "trailer"
            elif not line:  # trailer: its blank line ends the body
                self.state = "done"
        return out


def tls_context(trust: tuple[bytes, ...]) -> ssl.SSLContext:
    """Verification on, host names checked: this machine's CAs and the DER certificates in `trust`."""
    ctx = ssl.create_default_context()
    for der in trust:
        try:
            ctx.load_verify_locations(cadata=der)
        except (ssl.SSLError, ValueError):
            continue  # one unreadable entry of a node's store leaves the others
    return ctx


class HttpConnection:
    """One HTTP/1.1 connection to host:port from the node, opened on the first request."""

    def __init__(self, remote: NodeReads, host: str, port: int, tls: bool, timeout: float,
                 trust: tuple[bytes, ...] = (), server_name: str | None = None):
        self.remote, self.host, self.port, self.tls, self.timeout = remote, host, port, tls, timeout
        self.trust, self.server_name = trust, server_name or host
        self.chan = None
        self._tls: ssl.SSLObject | None = None
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.buf = b""  # bytes received past the last response
        self.deadline = 0.0
        self.used = False  # a request was answered on this connection (a closed idle one is opened again)

    # ---------------------------------------------------------------- the wire
    def _raw_recv(self) -> bytes:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise HttpError(f"no answer from {self.host}:{self.port} within {self.timeout:g} s")
        assert self.chan is not None
        self.chan.settimeout(left)
        try:
            return self.chan.recv(65536)
        except socket.timeout:
            raise HttpError(f"no answer from {self.host}:{self.port} within {self.timeout:g} s") from None

    def _flush(self) -> None:
        if self._out.pending:
            assert self.chan is not None
            self.chan.sendall(self._out.read())

    def _tls_call(self, fn: Callable):
        while True:
            try:
                return fn()
            except ssl.SSLWantReadError:
                self._flush()
                data = self._raw_recv()
                if not data:
                    self._in.write_eof()
                else:
                    self._in.write(data)

    def connect(self) -> None:
        """Open the channel (and TLS over it: the certificate verified, or an HttpError saying why)."""
        self.close()
        self.deadline = time.monotonic() + self.timeout
        try:
            self.chan = self.remote.open_channel(self.host, self.port, self.timeout)
        except RemoteError as e:
            raise HttpError(f"no connection to {self.host}:{self.port} from the node ({e})") from None
        if not self.tls:
            return
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._tls = tls_context(self.trust).wrap_bio(self._in, self._out, server_hostname=self.server_name)
        try:
            self._tls_call(self._tls.do_handshake)
            self._flush()
        except ssl.SSLCertVerificationError as e:
            self.close()
            raise HttpError(f"the certificate of {self.server_name}:{self.port} is not trusted "
                            f"({e.verify_message}; trusted: the node's trust store and this machine's CAs)") from None
        except (ssl.SSLError, OSError) as e:
            self.close()
            raise HttpError(f"TLS with {self.server_name}:{self.port} failed: {e}") from None

    def send(self, data: bytes) -> None:
        assert self.chan is not None
        if self._tls is None:
            self.chan.sendall(data)
            return
        self._tls.write(data)
        self._flush()

    def recv(self) -> bytes:
        """The next bytes of the answer (b"": the server closed the connection)."""
        if self.buf:
            data, self.buf = self.buf, b""
            return data
        if self._tls is None:
            return self._raw_recv()
        tls = self._tls
        try:
            return self._tls_call(lambda: tls.read(65536))
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""

    def close(self) -> None:
        if self.chan is not None:
            try:
                self.chan.close()
            except OSError:
                pass
        self.chan, self._tls, self.buf, self.used = None, None, b"", False

    # ---------------------------------------------------------------- a request
    def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"",
                sink: Callable[[bytes], None] | None = None, limit: int = SMALL_BODY,
                extra_time: float = 0.0) -> Response:
        """Send one request and read its answer within the deadline (+ extra_time for a large body);
        the body goes to `sink` as it arrives, else it is kept (at most `limit` bytes either way). A
        connection the server closed while idle is opened again once."""
        for attempt in (0, 1):
            reused = self.chan is not None and self.used
            if self.chan is None:
                self.connect()
            self.deadline = time.monotonic() + self.timeout + extra_time
            head = [f"{method} {path} HTTP/1.1", f"Host: {self.server_name}" + (
                f":{self.port}" if self.port not in (80, 443) else ""),
                f"Content-Length: {len(body)}", "User-Agent: SVN/1.14 wso2-esb-cluster"]
            head += [f"{k}: {v}" for k, v in headers.items()]
            try:
                self.send(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
                return self._answer(method, sink, limit)
            except _Closed:
                self.close()
                if not reused or attempt:
                    raise HttpError(f"{self.host}:{self.port} closed the connection without an answer") from None
            except (OSError, ssl.SSLError) as e:
                self.close()
                if not reused or attempt:
                    raise HttpError(f"the connection to {self.host}:{self.port} broke: {e}") from None
            except HttpError:
                self.close()
                raise
        raise HttpError("unreachable")  # pragma: no cover

    def _answer(self, method: str, sink: Callable[[bytes], None] | None, limit: int) -> Response:
        data = b""
        while b"\r\n\r\n" not in data:
            if len(data) > HEAD_LIMIT:
                raise HttpError(f"a response head over {HEAD_LIMIT} bytes")
            got = self.recv()
            if not got:
                if not data:
                    raise _Closed()
                raise HttpError("the server closed the connection in the middle of its answer")
            data += got
        raw, _, rest = data.partition(b"\r\n\r\n")
        resp = parse_head(raw)
        kept: list[bytes] = []
        total = 0

        def take(chunk: bytes) -> None:
            nonlocal total
            total += len(chunk)
            if total > limit:
                raise HttpError(f"an answer over {limit} bytes; refused")
            if sink is not None:
                sink(chunk)
            else:
                kept.append(chunk)
        close = "close" in (resp.header("connection") or "").lower() or "x-http-1.0" in resp.headers
        length = resp.header("content-length")
        if method == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200:
            self.buf = rest
        elif "chunked" in (resp.header("transfer-encoding") or "").lower():
            dec = Chunked()
            pending = rest
            while True:
                for piece in dec.feed(pending):
                    take(piece)
                if dec.done:
                    break
                pending = self.recv()
                if not pending:
                    raise HttpError("the server closed the connection in the middle of a chunked body")
            self.buf = dec.rest
        elif length is not None:
            if not re.fullmatch(r"\d{1,15}", length.strip()):
                raise HttpError(f"a malformed Content-Length ({length[:40]!r})")
            n = int(length)
            if n > limit:
                raise HttpError(f"an answer of {n} bytes, over {limit}; refused")
            pending = rest
            while True:
                piece, pending = pending[:n - total], pending[n - total:]
                if piece:
                    take(piece)
                if total >= n:
                    break
                pending = self.recv()
                if not pending:
                    raise HttpError(f"the server closed the connection after {total} of {n} bytes")
            self.buf = pending
        else:  # the body runs to the end of the connection
            close = True
            pending = rest
            while pending:
                take(pending)
                pending = self.recv()
        resp.body = b"".join(kept)
        if close:
            self.close()
        else:
            self.used = True
        return resp


class _Closed(Exception):
    """The server closed the connection before the first byte of an answer (an idle keep-alive)."""
