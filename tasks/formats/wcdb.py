"""A Subversion working copy's `.svn/wc.db` (SQLite, format 29-31: svn 1.7+ and SVNKit 1.8), read
from its downloaded bytes with Python's sqlite3 (pure: an in-memory copy, nothing on disk).

What DepSync's proof needs of it: the repository URL the copy tracks, and for the copy's root
and any file in it, the BASE revision (`NODES` at op_depth 0: what the last update brought) and
the pristine's SHA-1 (`$sha1$...`). A copy caught mid-write by its own svn is simply unreadable this
time (WcError): the caller reads it again at its next poll.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

#: the largest wc.db read (DepSync's copy of repository/deployment/server: kB to a few MB)
WC_LIMIT = 64 << 20
WC_DB = ".svn/wc.db"


class WcError(ValueError):
    """The bytes are not a readable working-copy database."""


@dataclass(frozen=True)
class WcNode:
    """One versioned path at BASE: its revision, kind, presence and pristine checksum."""

    revision: int | None
    kind: str
    presence: str
    checksum: str | None = None


@dataclass
class WorkingCopy:
    """The root's URL and revision, and every BASE node by path relative to the root."""

    url: str | None
    revision: int | None
    nodes: dict[str, WcNode] = field(default_factory=dict)

    def file(self, relpath: str) -> WcNode | None:
        """The file at relpath when the copy holds it (presence normal), else None."""
        n = self.nodes.get(relpath)
        return n if n is not None and n.presence == "normal" else None


def read_wc(data: bytes) -> WorkingCopy:
    """The working copy the bytes of a wc.db describe; WcError when they are not one."""
    if len(data) > WC_LIMIT:
        raise WcError(f"{len(data)} bytes: larger than {WC_LIMIT >> 20} MiB")
    if not data.startswith(b"SQLite format 3\x00"):
        raise WcError("not an SQLite database")
    con = sqlite3.connect(":memory:")
    try:
        con.deserialize(data)
        con.execute("PRAGMA query_only = ON")
        rows = con.execute("SELECT n.local_relpath, n.revision, n.kind, n.presence, n.checksum, n.repos_path, r.root "
                           "FROM nodes n LEFT JOIN repository r ON r.id = n.repos_id "
                           "WHERE n.op_depth = 0").fetchall()
    except sqlite3.Error as e:
        raise WcError(f"not a readable working copy database ({e})") from None
    finally:
        con.close()
    wc = WorkingCopy(None, None)
    for relpath, rev, kind, presence, checksum, repos_path, root in rows:
        if not isinstance(relpath, str):
            continue
        wc.nodes[relpath] = WcNode(rev if isinstance(rev, int) else None, str(kind), str(presence),
                                   checksum if isinstance(checksum, str) else None)
        if relpath == "":
            wc.revision = rev if isinstance(rev, int) else None
            if isinstance(root, str):
                wc.url = root.rstrip("/") + ("/" + repos_path if repos_path else "")
    if "" not in wc.nodes:
        raise WcError("no working copy root in it")
    return wc
