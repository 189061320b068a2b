"""The atomic replace done by a shell on the host, in one form: for what cannot go over SFTP (a copy
as root, a backup restored on the host, a key or keystore made on the host).

`settle` gives a file made beside its target the wanted mode and owner and renames it over
the target; `replace` first copies a source there (umask 077: the copy is private from the
moment it exists). The SFTP form of the same sequence is Files._replace (temp file created
with its mode, owner, posix-rename).
"""
from __future__ import annotations

import shlex


def settle(tmp: str, target: str, mode: int, owner: str | None = None, tolerate_owner: bool = False) -> str:
    """Shell: the mode, the owner ("uid:gid"; "target": the target's own where it exists; None:
    as made), the rename. tolerate_owner: a login user that may not chown keeps its own
    ownership (rollback without sudo)."""
    q = shlex.quote
    parts = [f"chmod {mode:o} {q(tmp)}"]
    if owner == "target":
        parts.append(f"{{ [ ! -e {q(target)} ] || chown --reference={q(target)} {q(tmp)}"
                     + (" 2>/dev/null || true; }" if tolerate_owner else "; }"))
    elif owner:
        chown = f"chown {owner} {q(tmp)}"
        parts.append(f"{{ {chown} 2>/dev/null || true; }}" if tolerate_owner else chown)
    parts.append(f"mv -f {q(tmp)} {q(target)}")
    return " && ".join(parts)


def replace(src: str, tmp: str, target: str, mode: int, owner: str | None = None,
            tolerate_owner: bool = False) -> str:
    """Shell: copy src to tmp beside the target (private from its first byte), settle it over the
    target; the copy is removed when any part fails."""
    q = shlex.quote
    return (f"umask 077 && cp {q(src)} {q(tmp)} && {settle(tmp, target, mode, owner, tolerate_owner)} "
            f"|| {{ rc=$?; rm -f {q(tmp)}; exit $rc; }}")


__all__ = ["settle", "replace"]
