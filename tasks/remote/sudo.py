"""Sudo: reads, writes, removals and path resolution as root where the login user may not, the
password on stdin only (Transport.run feeds it)."""
from __future__ import annotations

import base64
import posixpath
import secrets as pysecrets
import shlex

from ..secrets import redact
from .common import CONFIG_LIMIT, FileStat, RemoteError, SudoRefused, TMP_MARK
from .replace import enter, replace
from .sftpio import SftpIO
from .transport import Transport


class Sudo:
    """Root's way for files the login user may not read or write."""

    def __init__(self, transport: Transport, sftpio: SftpIO):
        self.t = transport
        self.io = sftpio

    @property
    def possible(self) -> bool:
        """The host allows it (sudo = true) and the login is not root already."""
        return self.t.can_sudo

    def as_root(self, path: str, command: str, doing: str) -> str:
        """Run a command as root for path; its stdout. A RemoteError naming path and what failed."""
        try:
            code, out, err = self.t.run(command, sudo=True, check=False)
        except SudoRefused as e:
            raise RemoteError(f"{path}: {e}") from None
        if code != 0:
            last = (err.strip().splitlines() or [f"exit {code}"])[-1]
            raise RemoteError(f"{path}: cannot {doing} even with sudo: {redact(last)}")
        return out

    def read(self, path: str, limit: int = CONFIG_LIMIT) -> bytes:
        """The exact bytes of a file only root may read (base64 on the wire: no decoding on the
        way), only when it holds at most limit bytes."""
        q = shlex.quote(path)
        script = (f'n=$(stat -L -c %s -- {q}) || exit 3; [ "$n" -le {limit} ] || '
                  f'{{ echo "$n bytes, more than the limit of {limit} bytes; refused, not read" >&2; exit 4; }}; '
                  f'base64 -- {q}')
        out = self.as_root(path, f"sh -c {shlex.quote(script)}", "read")
        return base64.b64decode("".join(out.split()))

    def write(self, path: str, data: bytes, mode: int, st: FileStat | None) -> None:
        """Stage the bytes as the login user (0600, a fresh random name made exclusively), then as
        root: copy into a private folder beside the target, mode, owner (the old file's, or for a
        new file its folder's), rename over it (tasks/remote/replace.py: the target's folder checked
        to be the real one, no name followed). The staged copy is removed whatever happens."""
        staging = f"/tmp/{TMP_MARK.strip('.')}{pysecrets.token_hex(8)}"
        self.io.put(staging, data, 0o600, fresh=True)
        if st is None:
            st = self.io.stat(posixpath.dirname(path) or ".")
        owner = f"{st.uid}:{st.gid}" if st else "root:root"
        try:
            real = self._real_folder(path)
            script = replace(staging, path, mode, owner, real_dir=real)
            self.as_root(path, f"sh -c {shlex.quote(script)}", "write")
        finally:
            self.io.cleanup(staging)  # the login user's own file: removable over SFTP even when sudo said no

    def remove(self, path: str) -> None:
        """rm -f as root, of the entry in the folder's real path as resolved now (a link planted at
        a folder on the way is never followed into another folder)."""
        folder, name = posixpath.split(path)
        script = f"{enter(folder, self._real_folder(path))} && rm -f -- {shlex.quote(name)}"
        self.as_root(path, f"sh -c {shlex.quote(script)}", "remove")

    def _real_folder(self, path: str) -> str:
        """The real path of path's folder, as root (a RemoteError naming path)."""
        folder = posixpath.dirname(path) or "."
        return self.as_root(path, f"realpath -m -- {shlex.quote(folder)}", "resolve its folder").strip()

    def realpath(self, path: str) -> str:
        """realpath -m as root (a folder on the way the login user may not enter)."""
        return self.as_root(path, f"realpath -m -- {shlex.quote(path)}", "resolve").strip()
