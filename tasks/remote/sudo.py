"""Sudo: reads, writes and removals as root where the login user may not, the password on stdin only."""
from __future__ import annotations

import base64
import posixpath
import secrets as pysecrets
import shlex

from ..secrets import redact
from .replace import replace
from .common import CONFIG_LIMIT, FileStat, RemoteError, SudoRefused, TMP_MARK


class Sudo:
    """Root's way for files the login user may not read or write."""

    def _check_sudo_auth(self, stderr: str) -> None:
        """Raise SudoRefused when sudo itself said no (wrong or missing password, not in sudoers)."""
        user = self.host.user
        if "no password was provided" in stderr or "a password is required" in stderr:
            if not self.sudo_password:
                raise SudoRefused(f"sudo asks {user} for a password and SUDO_PASSWORD is not set")
            raise SudoRefused(f"sudo refused the password of {user} (SUDO_PASSWORD)")
        if "incorrect password attempt" in stderr or "Sorry, try again" in stderr:
            raise SudoRefused(f"sudo refused the password of {user} (SUDO_PASSWORD)")
        if "is not in the sudoers file" in stderr or "is not allowed to execute" in stderr:
            raise SudoRefused(f"{user} may not use sudo on {self.host.name} (sudoers)")
        if "sudo: command not found" in stderr or "sudo: not found" in stderr:
            raise SudoRefused(f"sudo is not installed on {self.host.name}")

    def _sudo(self, path: str, command: str, doing: str) -> str:
        """Run a command as root for path; its stdout. A RemoteError naming path and what failed."""
        try:
            code, out, err = self.run(command, sudo=True, check=False)
        except SudoRefused as e:
            raise RemoteError(f"{path}: {e}") from None
        if code != 0:
            last = (err.strip().splitlines() or [f"exit {code}"])[-1]
            raise RemoteError(f"{path}: cannot {doing} even with sudo: {redact(last)}")
        return out

    def _sudo_read(self, path: str, limit: int = CONFIG_LIMIT) -> bytes:
        """The exact bytes of a file only root may read (base64 on the wire: no decoding on the way), at most
        only when it holds at most limit bytes."""
        q = shlex.quote(path)
        script = (f'n=$(stat -L -c %s -- {q}) || exit 3; [ "$n" -le {limit} ] || '
                  f'{{ echo "$n bytes, more than the limit of {limit} bytes; refused, not read" >&2; exit 4; }}; '
                  f'base64 -- {q}')
        out = self._sudo(path, f"sh -c {shlex.quote(script)}", "read")
        return base64.b64decode("".join(out.split()))

    def _sudo_write(self, path: str, data: bytes, mode: int, st: FileStat | None) -> None:
        """Stage the bytes as the login user (0600), then as root: copy beside the target, mode, owner (the old
        file's, or for a new file its folder's), rename over it. The staged copy is removed whatever happens."""
        staging = f"/tmp/{TMP_MARK.strip('.')}{pysecrets.token_hex(6)}"
        self._put(staging, data, 0o600)
        tmp = self._beside(path)
        if st is None:
            st = self.stat(posixpath.dirname(path) or ".")
        owner = f"{st.uid}:{st.gid}" if st else "root:root"
        q = shlex.quote
        script = replace(staging, tmp, path, mode, owner)
        try:
            self._sudo(path, f"sh -c {q(script)}", "write")
        finally:
            self._cleanup(staging)  # the login user's own file: removable over SFTP even when sudo said no

    def _sudo_remove(self, path: str) -> None:
        self._sudo(path, f"rm -f -- {shlex.quote(path)}", "remove")
