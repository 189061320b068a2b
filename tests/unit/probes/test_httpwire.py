"""HTTP/1.1 over a node's channel (tasks/probes/httpwire.py): the pure head and chunk parsers, then one kept-alive
connection against a small scripted server on loopback: bodies by length, chunked and to the close, a closed idle
connection opened again once, the size cap and the deadline, and TLS verified (a certificate this machine does not
trust, or for another name, is refused; with the node's CA it is taken)."""
from __future__ import annotations

import datetime
import socket
import ssl
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tasks.probes.httpwire import Chunked, HttpConnection, HttpError, parse_head


def test_a_head_gives_status_reason_and_every_value_of_a_repeated_header():
    r = parse_head(b"HTTP/1.1 207 Multi-Status\r\nDAV: 1,2\r\nDAV: version-control\r\nSVN-Youngest-Rev:  12 \r\n")
    assert (r.status, r.reason) == (207, "Multi-Status")
    assert r.headers["dav"] == ["1,2", "version-control"] and r.header("SVN-Youngest-Rev") == "12"
    assert r.header("missing") is None
    for bad in (b"SSH-2.0-OpenSSH", b"HTTP/2 200", b"HTTP/1.1 200 OK\r\nno colon here", b"HTTP/1.1 200\r\nba d: x"):
        with pytest.raises(HttpError):
            parse_head(bad)


def test_a_chunked_body_decodes_in_any_split_and_leaves_what_follows():
    body = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nHTTP/1.1 200 OK"
    for step in (1, 2, 7, len(body)):
        dec = Chunked()
        out = b""
        for i in range(0, len(body), step):
            out += b"".join(dec.feed(body[i:i + step]))
        assert out == b"hello world" and dec.done and dec.rest == b"HTTP/1.1 200 OK", step
    for bad in (b"zz\r\n", b"3\r\nabcX\r\n", b"9" * 5000):
        with pytest.raises(HttpError):
            Chunked().feed(bad)


# ---------------------------------------------------------------- a scripted server on loopback

class Server:
    """Answers each request with the next scripted reply (bytes); "close" ends the connection before answering,
    "hang" never answers. Records each request head and how many connections were made."""

    def __init__(self, replies: list, tls: ssl.SSLContext | None = None):
        self.replies, self.tls, self.requests, self.connections = list(replies), tls, [], 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            buf = b""
            while self.replies:
                while b"\r\n\r\n" not in buf:
                    got = conn.recv(65536)
                    if not got:
                        return
                    buf += got
                head, _, buf = buf.partition(b"\r\n\r\n")
                n = int(next((line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")), b"0"))
                while len(buf) < n:
                    buf += conn.recv(65536)
                buf = buf[n:]
                self.requests.append(head)
                reply = self.replies.pop(0)
                if reply == "close":
                    conn.close()
                    return
                if reply == "hang":
                    time.sleep(5)
                    return
                conn.sendall(reply)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def close(self):
        self.sock.close()


class Direct:
    """The node's channel, as a plain socket from here."""

    def __init__(self):
        self.opened = 0

    def open_channel(self, host, port, timeout=None):
        self.opened += 1
        return socket.create_connection((host, port), timeout)


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


def test_one_connection_carries_bodies_by_length_chunked_and_to_the_close():
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    to_close = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nthe rest"
    srv, node = Server([OK, chunked, to_close]), Direct()
    try:
        conn = HttpConnection(node, "127.0.0.1", srv.port, False, 5)
        assert conn.request("GET", "/a", {"X": "1"}).body == b"hello"
        seen: list[bytes] = []
        r = conn.request("GET", "/b", {}, sink=seen.append)
        assert r.status == 200 and b"".join(seen) == b"abc" and r.body == b""
        assert conn.request("GET", "/c", {}).body == b"the rest"
        first = srv.requests[0]
        assert node.opened == 1 and first.startswith(b"GET /a HTTP/1.1\r\n") and b"\r\nX: 1" in first
        assert conn.chan is None  # closed after a body that ran to the close
    finally:
        srv.close()


def test_an_idle_connection_the_server_closed_is_opened_again_once_but_a_fresh_one_is_not_retried():
    srv, node = Server([OK, "close", OK]), Direct()
    try:
        conn = HttpConnection(node, "127.0.0.1", srv.port, False, 5)
        assert conn.request("GET", "/", {}).body == b"hello"
        assert conn.request("GET", "/", {}).body == b"hello"  # the kept connection was closed: a new one answers
        assert node.opened == 2
    finally:
        srv.close()
    srv, node = Server(["close"]), Direct()
    try:
        with pytest.raises(HttpError, match="closed the connection without an answer"):
            HttpConnection(node, "127.0.0.1", srv.port, False, 5).request("GET", "/", {})
        assert node.opened == 1
    finally:
        srv.close()


def test_the_size_cap_and_the_deadline_hold():
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100
    endless = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + (b"10\r\n" + b"y" * 16 + b"\r\n") * 5
    for reply in (big, endless):
        srv = Server([reply, "hang"])
        try:
            with pytest.raises(HttpError, match="over 50"):
                HttpConnection(Direct(), "127.0.0.1", srv.port, False, 5).request("GET", "/", {}, limit=50)
        finally:
            srv.close()
    srv = Server(["hang"])
    try:
        t0 = time.monotonic()
        with pytest.raises(HttpError, match="no answer .* within 0.5 s"):
            HttpConnection(Direct(), "127.0.0.1", srv.port, False, 0.5).request("GET", "/", {})
        assert time.monotonic() - t0 < 3
    finally:
        srv.close()


def _cert(name: str, issuer_key, issuer_name, key, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
         .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def test_tls_is_verified_against_the_node_trust_and_the_host_name(tmp_path):
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca = _cert("Test CA", ca_key, ca_name, ca_key, True)
    leaf = _cert("svn.example", ca_key, ca_name, key, False)
    (tmp_path / "c.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    der = ca.public_bytes(serialization.Encoding.DER)
    srv = Server([OK, OK, OK], tls=sctx)
    try:
        with pytest.raises(HttpError, match="certificate of svn.example:.* is not trusted"):
            HttpConnection(Direct(), "127.0.0.1", srv.port, True, 5, server_name="svn.example").request("GET", "/", {})
        with pytest.raises(HttpError, match="certificate of other.example:.* is not trusted .*[Hh]ostname"):
            HttpConnection(Direct(), "127.0.0.1", srv.port, True, 5, trust=(der,),
                           server_name="other.example").request("GET", "/", {})
        conn = HttpConnection(Direct(), "127.0.0.1", srv.port, True, 5, trust=(b"not a certificate", der),
                              server_name="svn.example")
        assert conn.request("GET", "/", {}).body == b"hello"
        assert b"Host: svn.example:" in srv.requests[-1]
    finally:
        srv.close()
