"""The start record: what a node's server started with, kept by `start` in the node's state folder
(<state_dir>/nodes/<name>/server-start.json, mode 0600): the pid it recorded the files for and the
sha256 of every file the project manages for the node as the server started with them; `stop`
marks it stopped. It decides `restart needed` (bytes, never mtimes: a node's clock may step) and
whether a node should run (health is a desired state).

The record lives on the node, so it is untrusted input: read size-capped, parsed defensively, and
anything malformed is no record at all (never an error that hides the node's other rows).
"""
from __future__ import annotations

import hashlib
import json
import posixpath
import re
from dataclasses import dataclass, field

from ..config import Host
from ..remote import CONFIG_LIMIT, RemoteError
from ..rules import node_state_dir
from ..remote.protocol import NodeReads

#: the record's name in the node's state folder
RECORD = "server-start.json"
#: the most a record may hold (thousands of paths and digests fit)
RECORD_LIMIT = 1 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass
class StartRecord:
    """What `start` recorded: the server's pid, the managed files' sha256 (absolute path -> digest,
    None: absent at the start), and whether `stop` has stopped it since."""

    pid: int
    files: dict[str, str | None] = field(default_factory=dict)
    stopped: bool = False
    time: int = 0

    def to_bytes(self) -> bytes:
        """The record as written (JSON)."""
        return json.dumps({"version": 1, "pid": self.pid, "stopped": self.stopped, "time": self.time,
                           "files": self.files}, indent=1, sort_keys=True).encode()


def record_path(host: Host) -> str:
    """Where the node's start record lives (its own state folder: nodes on one machine never share it)."""
    return posixpath.join(node_state_dir(host), RECORD)


def parse_record(data: bytes | None) -> StartRecord | None:
    """The record in `data`, or None when there is none or it is malformed in any way (a node can
    plant anything there: too big, not JSON, wrong types, a path or digest that is not one)."""
    if data is None or len(data) > RECORD_LIMIT:
        return None
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != 1:
        return None
    pid, stopped, when, files = doc.get("pid"), doc.get("stopped"), doc.get("time", 0), doc.get("files")
    if type(pid) is not int or not 0 <= pid < 1 << 31 or type(stopped) is not bool or type(when) is not int \
            or not isinstance(files, dict):
        return None
    out: dict[str, str | None] = {}
    for path, digest in files.items():
        if not path.startswith("/") or "\0" in path or not (digest is None or (isinstance(digest, str)
                                                                             and _SHA256.fullmatch(digest))):
            return None
        out[path] = digest
    return StartRecord(pid, out, stopped, when)


def read_record(remote: NodeReads, host: Host) -> StartRecord | None:
    """The node's start record, or None: absent, malformed, too big, not a plain file (never read past
    RECORD_LIMIT; a FIFO planted there is refused before it is opened)."""
    try:
        return parse_record(remote.read(record_path(host), RECORD_LIMIT, "a start record", cache=False))
    except RemoteError:
        return None


def digests(remote: NodeReads, paths: list[str]) -> dict[str, str | None]:
    """sha256 of each file (None: absent), the configuration files read in one pipelined batch
    (a few round trips for all of them), a larger one (a jar) streamed by the remote layer's sha256."""
    remote.prefetch(paths)
    out: dict[str, str | None] = {}
    for p in paths:
        try:
            data = remote.read(p, CONFIG_LIMIT, "a managed file")
            out[p] = None if data is None else hashlib.sha256(data).hexdigest()
        except RemoteError:  # over the configuration cap: streamed, never whole in memory
            out[p] = remote.sha256(p)
    return out


def changed_files(record: StartRecord, now: dict[str, str | None]) -> list[str]:
    """The files whose bytes differ from the ones the server started with (a file put back as it
    was is no change); a managed file the record does not list (a step added since) counts when it
    exists now."""
    return [p for p, digest in now.items() if record.files.get(p) != digest and (p in record.files or digest)]
