"""HTTP from a node's own network position: one request over a direct-tcpip channel
of the run's SSH connection (TLS over the channel, SNI = the name asked for), the
status of an answer's head (pure)."""
from __future__ import annotations

import re
import ssl
import time

from ..remote import RemoteError
from ..remote.protocol import NodeReads


def http_status(head: bytes) -> int | None:
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return int(m.group(1)) if m else None


def http_exchange(remote: NodeReads, address: str, port: int, host: str, tls: bool, timeout: float,
                  request: bytes) -> tuple[bytes | None, str]:
    """One HTTP request from the node over its SSH connection: (the response head, why-not).
    TLS runs over the channel with SNI = host; the certificate is not verified here
    (create-certs' own check covers it)."""
    try:
        chan = remote.open_channel(address, port, timeout)
    except RemoteError as e:
        return None, str(e)
    deadline = time.monotonic() + timeout
    try:
        if not tls:
            chan.sendall(request)
            head = b""
            while b"\r\n\r\n" not in head and time.monotonic() < deadline:
                chunk = chan.recv(4096)
                if not chunk:
                    break
                head += chunk
            return head, ""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        s = ctx.wrap_bio(inc, out, server_hostname=host)

        def pump(fn):
            while time.monotonic() < deadline:
                try:
                    return fn()
                except ssl.SSLWantReadError:
                    if out.pending:
                        chan.sendall(out.read())
                    data = chan.recv(65536)
                    if not data:
                        raise OSError("the server closed the connection") from None
                    inc.write(data)
            raise OSError("no answer in time")

        pump(s.do_handshake)
        if out.pending:
            chan.sendall(out.read())
        s.write(request)
        chan.sendall(out.read())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = pump(lambda: s.read(4096))
            if not chunk:
                break
            head += chunk
        return head, ""
    except (OSError, ssl.SSLError) as e:
        return None, str(e)
    finally:
        chan.close()


def http_through(remote: NodeReads, address: str, port: int, host: str, tls: bool,
                 timeout: float) -> tuple[int | None, str]:
    """A GET through the balancer from the node: (status, why-not)."""
    request = (f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
               "User-Agent: wso2-esb-cluster-live\r\n\r\n").encode()
    head, why = http_exchange(remote, address, port, host, tls, timeout, request)
    return (None, why) if head is None else (http_status(head), "")
