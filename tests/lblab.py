"""A real nginx for the load-balancer tests and the demo, and stand-in Carbon backends.

`Nginx.start(lab, lb)` runs Debian's nginx as a real process with its own prefix, pid file and main
config, which includes `<prefix>/conf.d/*.conf` (the lab's `[lb].conf_dir`); configure-lb writes the
server files there.  `Backends` are small HTTP and HTTPS servers on every node's member_host at
8280/8243/9443 + offset that answer with the node's name, so a test sees where a request went.
"""
from __future__ import annotations

import http.client
import http.server
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.lab import process_children

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MAIN = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    include {prefix}/conf.d/*.conf;
}}
"""


@dataclass
class Nginx:
    prefix: Path
    proc: subprocess.Popen | None = None

    @property
    def conf(self) -> Path:
        return self.prefix / "nginx.conf"

    @property
    def conf_dir(self) -> Path:
        return self.prefix / "conf.d"

    @classmethod
    def prepare(cls, prefix: Path) -> "Nginx":
        """The prefix, main config and empty conf.d (nginx not started)."""
        prefix.mkdir(parents=True, exist_ok=True)
        (prefix / "conf.d").mkdir(exist_ok=True)
        (prefix / "logs").mkdir(exist_ok=True)
        n = cls(prefix)
        n.conf.write_text(MAIN.format(prefix=prefix))
        return n

    def toml(self, listen: str) -> str:
        return (f'\n[lb]\nconf_dir = "{self.conf_dir}"\nnginx_conf = "{self.conf}"\nlisten = "{listen}"\n'
                f'nginx = "{NGINX}"\n')

    def start(self) -> None:
        """nginx in the foreground of its own process (master + one worker)."""
        self.proc = subprocess.Popen([NGINX, "-p", str(self.prefix), "-c", str(self.conf), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=open(self.prefix / "stderr.log", "ab"))
        deadline = time.monotonic() + 20
        pid = self.prefix / "nginx.pid"
        # ready: the master wrote its pid and has a worker (it listens before; the worker accepts)
        while not (pid.exists() and pid.read_text().strip() and self.workers()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start: {(self.prefix / 'stderr.log').read_text()}")
            time.sleep(0.05)

    def workers(self) -> set[int]:
        """The pids of the master's worker processes (a reload replaces them)."""
        return set(process_children().get(self.proc.pid, [])) if self.proc else set()

    def wait_workers_change(self, old: set[int], timeout: float = 10) -> set[int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.workers()
            if now and not (now & old):
                return now
            time.sleep(0.05)
        raise AssertionError(f"nginx workers not replaced: {old} -> {self.workers()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None
        (self.prefix / "nginx.pid").unlink(missing_ok=True)


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = f"{self.server.node} {self.headers.get('Host')} {self.headers.get('X-Forwarded-For')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@dataclass
class Backends:
    """Stand-ins for the nodes' Carbon ports: (node, address, port, tls) -> a server answering with the node."""

    cert_dir: Path
    servers: dict[tuple[str, int], _Server] = field(default_factory=dict)

    @classmethod
    def create(cls) -> "Backends":
        d = Path(tempfile.mkdtemp(prefix="esb-backend-"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=backend", "-keyout", str(d / "b.key"), "-out", str(d / "b.crt")],
                       check=True, capture_output=True)
        return cls(d)

    def serve(self, node: str, address: str, port: int, tls: bool) -> None:
        srv = _Server((address, port), _Answer)
        srv.node = node
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.cert_dir / "b.crt", self.cert_dir / "b.key")
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.servers[(node, port)] = srv

    def serve_node(self, node: str, address: str, offset: int, role: str) -> None:
        """A worker's 8280 (HTTP) and 8243 (HTTPS), the manager's 9443 (HTTPS), after the offset."""
        if role == "worker":
            self.serve(node, address, 8280 + offset, False)
            self.serve(node, address, 8243 + offset, True)
        else:
            self.serve(node, address, 9443 + offset, True)

    def stop_node(self, node: str) -> None:
        for key in [k for k in self.servers if k[0] == node]:
            srv = self.servers.pop(key)
            srv.shutdown()
            srv.server_close()

    def close(self) -> None:
        for node in {k[0] for k in self.servers}:
            self.stop_node(node)
        shutil.rmtree(self.cert_dir, ignore_errors=True)


def request(address: str, port: int, host: str, tls: bool = False, cafile: Path | None = None,
            source: str | None = None, path: str = "/") -> tuple[int, str]:
    """GET through the balancer as a client would: SNI and Host = host, the certificate checked against cafile
    (create-certs' self-signed certificate is its own trust root), from `source` when given."""
    sock = socket.create_connection((address, port), timeout=10, source_address=(source, 0) if source else None)
    if tls:
        ctx = ssl.create_default_context(cafile=str(cafile))
        sock = ctx.wrap_socket(sock, server_hostname=host)
    conn = (http.client.HTTPSConnection if tls else http.client.HTTPConnection)(host, port, timeout=10)
    conn.sock = sock
    conn.request("GET", path, headers={"Host": host})
    resp = conn.getresponse()
    body = resp.read().decode(errors="replace")
    conn.close()
    return resp.status, body


def free_port_on(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


__all__ = ["Backends", "Nginx", "free_port_on", "request", "NGINX"]
