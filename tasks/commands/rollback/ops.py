"""The operations a rollback adds to a host's plan beside the files it writes back: a private file's backup
restored on the host (its bytes never cross the connection), the run marked rolled back (the undo stack's next
step), and, before rollback --all puts the shipped keystore back, the node's own keystore kept in its state
folder."""
from __future__ import annotations

import hashlib
import json
import posixpath
import shlex
import time
from dataclasses import dataclass
from typing import Sequence

from ...config import Host
from ...engine.context import StepContext, StepError
from ...engine.ops import Op
from ...remote import SCRIPT_LIMIT, RemoteHost
from ...remote.replace import replace
from ...secrets import redact


def restore_on_host_command(backup: str, path: str, mode: int, owner: Sequence[int] | None = None,
                            sha256: str | None = None) -> str:
    """The backup copied into a fresh private folder beside the target (`path`: its real path, as
    Reach checked it) and installed over it: its mode, and the owner the manifest recorded (else the
    target's own), as the remote layer's one shell replace does it (no fixed temporary name, no
    link followed)."""
    who = f"{owner[0]}:{owner[1]}" if owner else "target"
    return f"sh -c {shlex.quote(replace(backup, path, mode, who, tolerate_owner=True, sha256=sha256))}"


@dataclass(frozen=True)
class RestoreOnHost(Op):
    """A private file's backup copied back on the host (its bytes never cross the connection), with
    its old mode and owner; `target` is the file a link leads to (the link stays a link)."""

    path: str
    backup: str
    target: str
    mode: int
    owner: tuple[int, int] | None = None
    sha256: str | None = None  # the backup's bytes as the run saved them

    def describe(self) -> str:
        return f"restore {self.path} on the host from its backup"

    def perform(self, ctx: StepContext) -> None:
        code, _, err = ctx.remote.run(restore_on_host_command(self.backup, self.target, self.mode, self.owner,
                                                              self.sha256), sudo=True, check=False)
        if code == 4:
            raise StepError(f"the backup of {self.path} is not what the run saved (changed on the node since); "
                            f"refused, not restored")
        if code != 0:
            raise StepError(f"restoring {self.path} on the host failed: {redact(last_line(err))}")


def last_line(err: str) -> str:
    return (err.strip().splitlines() or ["no message"])[-1]


@dataclass(frozen=True)
class MarkRolledBack(Op):
    """The run's backup folder says it was rolled back (by which run, when): the undo stack's next step."""

    run: str
    path: str
    by: str

    def describe(self) -> str:
        return f"mark run {self.run} rolled back"

    def perform(self, ctx: StepContext) -> None:
        mark = json.dumps({"run_id": self.run, "rolled_back_at": int(time.time()), "by": self.by}).encode()
        ctx.remote.write(self.path, mark, mode=0o600, backup=False)


def keep_own_key(remote: RemoteHost, host: Host, paths: list[str]) -> "KeepKeystore | None":
    """Where rollback --all puts the shipped keystore back over the node's own key: the op that keeps
    that key first (its server may have encrypted data with it), else None."""
    from ...rules import KEYSTORE, is_shipped, kept_path
    from ...formats import jks
    path = posixpath.join(host.product_home, KEYSTORE)
    if not host.is_esb or path not in paths:
        return None
    st = remote.lstat(path)
    data = remote.read(path, SCRIPT_LIMIT, "a keystore") if st is not None and st.is_file else None
    try:
        if data is None or is_shipped(jks.parse(data)):
            return None
    except jks.JksError:
        return None
    return KeepKeystore(path, kept_path(host), hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class KeepKeystore(Op):
    """The node's own keystore copied, on the host, into its state folder (mode 0600) before rollback
    --all puts the shipped one back (the copy must have the bytes the plan read)."""

    early = True
    path: str
    kept: str
    sha256: str

    def describe(self) -> str:
        return f"keep the node's own keystore in {self.kept}"

    def perform(self, ctx: StepContext) -> None:
        folder = posixpath.dirname(self.kept)
        ctx.remote.mkdir_p(folder, 0o700)
        st = ctx.remote.stat(folder)  # the copy is the state folder owner's (the login's), whoever copies it
        script = replace(self.path, self.kept, 0o600, f"{st.uid}:{st.gid}" if st else None, sha256=self.sha256,
                         real_dir=ctx.remote.realpath(folder))
        code, _, err = ctx.remote.run(f"sh -c {shlex.quote(script)}", sudo=True, check=False)
        if code != 0:
            raise StepError(f"keeping the node's own keystore failed ({redact(last_line(err))}); nothing put back")
