"""A real Apache httpd with mod_dav_svn for the acceptance tests: the http:// SvnUrl the guide itself shows.

Apache (Debian's apache2 and libapache2-mod-svn) runs in the foreground with its own small configuration on a
loopback address and a free port, serving one repository made by `svnadmin create` at /svn/depsyncrepo with
Basic authentication from an htpasswd file ({SHA} entries written here). It drops to `nobody`, so its folder
is world-readable (a lab's own folders are not) and the repository's db and locks world-writable (commits)."""
from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.lab import free_port

MODULES = "/usr/lib/apache2/modules"
LOADED = ("mpm_event", "authz_core", "authn_core", "authn_file", "auth_basic", "authz_user", "dav", "dav_svn")


def available() -> bool:
    return bool(shutil.which("apache2") or os.path.exists("/usr/sbin/apache2")) and \
        os.path.exists(f"{MODULES}/mod_dav_svn.so")


class SvnHttp:
    """Apache + mod_dav_svn serving one repository; `url` is what [svn].url takes."""

    def __init__(self, address: str = "127.0.0.1"):
        self.dir = Path(tempfile.mkdtemp(prefix="esb-svnhttp-"))
        os.chmod(self.dir, 0o755)
        self.address, self.port = address, free_port(address)
        subprocess.run(["svnadmin", "create", str(self.dir / "repo")], check=True, capture_output=True)
        subprocess.run(["chmod", "-R", "a+rX", str(self.dir)], check=True)
        subprocess.run(["chmod", "-R", "a+w", str(self.dir / "repo" / "db"), str(self.dir / "repo" / "locks")],
                       check=True)  # Apache (nobody) commits: DepSync's manager writes through it
        conf = "\n".join(f"LoadModule {m}_module {MODULES}/mod_{m}.so" for m in LOADED) + f"""
Listen {address}:{self.port}
ServerName localhost
PidFile {self.dir}/httpd.pid
DefaultRuntimeDir {self.dir}
Mutex file:{self.dir} default
ErrorLog {self.dir}/error.log
User nobody
Group nogroup
<Location /svn/depsyncrepo>
  DAV svn
  SVNPath {self.dir}/repo
  AuthType Basic
  AuthName "depsync"
  AuthUserFile {self.dir}/htpasswd
  Require valid-user
</Location>
"""
        (self.dir / "httpd.conf").write_text(conf)
        self.users({})
        apache = shutil.which("apache2") or "/usr/sbin/apache2"
        self.proc = subprocess.Popen([apache, "-f", str(self.dir / "httpd.conf"), "-DFOREGROUND"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection((address, self.port), 0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        self.close()
        raise RuntimeError(f"apache2 did not listen on {address}:{self.port}: {self.error_log()}")

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}/svn/depsyncrepo/"

    def users(self, users: dict[str, str]) -> None:
        """The htpasswd file: user -> password ({SHA}: Apache reads it, no apache2-utils needed)."""
        lines = [f"{u}:{{SHA}}{base64.b64encode(hashlib.sha1(p.encode('utf-8')).digest()).decode()}\n"
                 for u, p in users.items()]
        (self.dir / "htpasswd").write_text("".join(lines))
        os.chmod(self.dir / "htpasswd", 0o644)

    def error_log(self) -> str:
        p = self.dir / "error.log"
        return p.read_text(errors="replace")[-2000:] if p.exists() else ""

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
