"""The atomic replace done by a shell on the host, in one form: for what cannot go over SFTP (a copy
as root, a backup restored on the host, a key or keystore made on the host).

A node's folders are untrusted input: the user the server runs as may plant a link at any name
in its product home, its state dir or certs.dir, or swap a folder for a link between a check and
a write. So every script made here works the same way:

1. `enter`: `cd -P` into the target's folder and check that it is the real folder the plan
   checked (`pwd -P`); every name after that is relative to that folder's inode, whatever the node
   renames meanwhile;
2. `work`: make a fresh private folder there with a random name (`mkdir -m 700`, which fails
   rather than follow anything planted at the name), enter it and check it again: the tools
   (keytool, openssl, cp) write their new files inside it, where nothing of the node's can be;
3. `install`: give the new file its mode and owner (inside the private folder, so no link can be
   followed), then `mv -fT` it over the target: a rename replaces the folder entry, never a file a
   link leads to; the private folder is removed at exit, whatever happened.

There are no fixed temporary names: a name is random per script. The SFTP form of the same
sequence is Files.replace (a random temp name created exclusively with its mode, owner, rename).
"""
from __future__ import annotations

import posixpath
import secrets as pysecrets
import shlex

from .common import TMP_MARK

q = shlex.quote


def work_name(name: str) -> str:
    """A fresh random name for the private work folder of a write of `name` (its dead run's
    leftovers are found by the name's prefix, `.<name>.esb-tmp-`)."""
    return f".{name}{TMP_MARK}{pysecrets.token_hex(8)}"


def enter(folder: str, real: str | None = None) -> str:
    """Shell: into `folder` through its real path; where `real` is given (what the plan resolved and
    checked), refuse when the folder is not that one (a link planted since)."""
    step = f"cd -P -- {q(folder)}"
    if real is None:
        return step
    return (f"{{ {step} && [ \"$(pwd -P)\" = {q(real)} ]; }} || "
            f"{{ echo {q(f'{folder}: not the folder checked ({real}); refused')} >&2; exit 3; }}")


def work(folder_real: str, w: str) -> str:
    """Shell (run inside folder_real): make the private work folder `w`, enter it, check it, and
    remove it at exit."""
    inside = posixpath.join(folder_real, w)
    return " && ".join([
        f"mkdir -m 700 -- {q(w)}",
        f"trap {q('cd / && rm -rf -- ' + q(inside))} EXIT",
        enter(w, inside),
    ])


def install(new: str, target: str, mode: int, owner: str | None = None, tolerate_owner: bool = False) -> str:
    """Shell (run inside the private work folder): the new file's mode, its owner ("uid:gid";
    "target": the target's own where it exists and is no link; None: as made), then the rename
    over ../target (the folder entry: a link planted there is replaced, never followed).
    tolerate_owner: a login user that may not chown keeps its own ownership."""
    dest = f"../{target}"
    parts = [f"chmod {mode:o} -- {q(new)}"]
    if owner == "target":
        parts.append(f"{{ [ -L {q(dest)} ] || [ ! -e {q(dest)} ] || chown --reference={q(dest)} -- {q(new)}"
                     + (" 2>/dev/null || true; }" if tolerate_owner else "; }"))
    elif owner:
        chown = f"chown -- {owner} {q(new)}"
        parts.append(f"{{ {chown} 2>/dev/null || true; }}" if tolerate_owner else chown)
    parts.append(f"mv -fT -- {q(new)} {q(dest)}")
    return " && ".join(parts)


def replace(src: str, target: str, mode: int, owner: str | None = None, tolerate_owner: bool = False,
            real_dir: str | None = None, sha256: str | None = None, show_sha256: bool = False) -> str:
    """Shell: copy the file src (never through a link at its last name: `dd iflag=nofollow`) into a
    private work folder beside target, then install it over target. `real_dir`: the target
    folder's real path as the plan checked it (default: the folder as given, which must then be
    the real one). `sha256`: the copy must have these bytes (checked in the private folder, where
    nothing can change it before it is installed), else nothing is installed (exit 4). `show_sha256`:
    print the copy's sha256 (`<hex>  new`, sha256sum's line) before it is installed: a backup made on
    the host records what it holds without its bytes crossing the connection."""
    folder, name = posixpath.split(target)
    if real_dir is None and not folder.startswith("/"):
        raise ValueError(f"{target}: a relative folder needs its real path (real_dir) to be checked")
    real = real_dir or folder
    w = work_name(name)
    # a relative source (the default state_dir is relative to the login's home) is taken from the folder
    # the command starts in, before it enters the target's
    source = q(src) if src.startswith("/") else f'"$ESB_FROM"/{q(src)}'
    steps = ["umask 077", 'ESB_FROM="$(pwd -P)"', enter(folder, real), work(real, w),
             f"dd if={source} of=new iflag=nofollow status=none"]
    if sha256 is not None:
        steps.append(f"{{ printf '%s  new\\n' {q(sha256)} | sha256sum -c --status || "
                     f"{{ echo {q(f'{src}: not the bytes the run saved; refused')} >&2; exit 4; }}; }}")
    if show_sha256:
        steps.append("sha256sum -- new")
    return " && ".join(steps + [install("new", name, mode, owner, tolerate_owner)])


__all__ = ["work_name", "enter", "work", "install", "replace"]
