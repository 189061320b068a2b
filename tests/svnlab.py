"""A real svnserve for the acceptance tests, and helpers to look at what it serves.

`svnserve -d --foreground` listens on the lab manager's loopback address and a free
port, serving <lab dir>/svn; the lab's [svn] url is svn://<mgr>:<that port>/depsyncrepo/
and repo_path <lab dir>/svn/depsyncrepo.  Import the fixtures into a test module:
`from tests.svnlab import svnserve, svn_lab  # noqa: F401`.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.lab import free_port


@dataclass
class SvnServe:
    root: Path
    address: str
    port: int
    proc: subprocess.Popen

    @property
    def repo(self) -> Path:
        return self.root / "depsyncrepo"

    @property
    def url(self) -> str:
        return f"svn://{self.address}:{self.port}/depsyncrepo/"

    def svn(self, *args: str, user: str | None = None, password: str | None = None,
            url: str | None = None) -> subprocess.CompletedProcess:
        """Run the local svn client on the served repository (password on stdin, never on the command line)."""
        with tempfile.TemporaryDirectory() as cfg:
            cmd = ["svn", *args, "--config-dir", cfg, "--non-interactive", "--no-auth-cache"]
            if user:
                cmd += ["--username", user, "--password-from-stdin"]
            return subprocess.run(cmd + [url or self.url], input=(password or "") + "\n", capture_output=True,
                                  text=True, timeout=30)

    def snapshot(self) -> dict[str, tuple[bytes, int]]:
        """Bytes and mtime_ns of every file under the served root (the lab snapshot does not cover it)."""
        return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(self.root.rglob("*")) if p.is_file()}


def start_svnserve(lab, port: int | None = None) -> SvnServe:
    """Start svnserve on the lab manager's address and a free port (or `port`: a restart), serving <lab dir>/svn;
    the lab's [svn] url is pointed at it (lab.svn_port)."""
    mgr = lab.hosts["esb-mgr"]
    root = lab.dir / "svn"
    root.mkdir(exist_ok=True)
    port = port or free_port(mgr.address)
    proc = subprocess.Popen(["svnserve", "-d", "--foreground", "--listen-host", mgr.address,
                             "--listen-port", str(port), "-r", str(root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection((mgr.address, port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("svnserve did not start") from None
            time.sleep(0.05)
    lab.svn_port = port
    return SvnServe(root, mgr.address, port, proc)


@pytest.fixture(scope="session")
def svnserve(lab_session):
    """One svnserve per test session on the manager's address; the lab's [svn] url points at it."""
    server = start_svnserve(lab_session)
    yield server
    server.proc.terminate()
    server.proc.wait(5)


@pytest.fixture
def svn_lab(lab, svnserve):
    """The lab (fresh homes) with an empty served root and hosts.toml pointing at svnserve."""
    if svnserve.repo.exists():
        shutil.rmtree(svnserve.repo)
    lab.write_toml()
    return lab
