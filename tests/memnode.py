"""MemoryNode: a node held in memory, for unit tests of a step's plan and apply without sshd.

It implements the remote layer's NodeIO (tasks/remote/protocol.py) the way RemoteHost behaves
where a step can tell: a missing file reads as None, a directory or a file over the size cap is
refused by a RemoteError, a write through a symbolic link writes the link's target (a link stays
a link), a written file keeps its mode and owner, `realpath` follows links like `realpath -m`. It
holds files (bytes, mode, owner), folders, links and the answers of the commands a test expects;
a command nobody answered fails the test (AssertionError), so a plan that starts running
something new is noticed. What apply did is recorded: writes, removals, backups, kept SQL,
peers, commands.

`node_context` builds the StepContext a step gets in a run (the other hosts' MemoryNodes behind
`other`, the run's memo), `load_tree` copies a local folder (the shipped 4.9.0 product fixture)
in."""
from __future__ import annotations

import hashlib
import posixpath
import re
import stat as statmod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tasks.config import Host, Inventory
from tasks.engine.context import StepContext
from tasks.engine.mode import Checks, Mode
from tasks.remote import CONFIG_LIMIT, JAR_LIMIT, FileStat, RemoteError
from tasks.remote.protocol import NodeIO
from tasks.remote.readcache import ReadCache
from tasks.secrets import Secrets

#: what a command handler returns: (exit code, stdout, stderr)
Result = tuple[int, str, str]
Answer = Result | Callable[[str, bytes | None, bool], Result]


@dataclass
class MemFile:
    data: bytes
    mode: int = 0o644
    uid: int = 1000
    gid: int = 1000
    mtime: int = 1_700_000_000


@dataclass
class MemDir:
    mode: int = 0o755
    uid: int = 1000
    gid: int = 1000


@dataclass
class MemoryNode:
    """One node's files, folders, links and command answers, in memory (NodeIO)."""

    host: Host
    home: str = ""  # the login's home, where a relative path leads (SFTP's); default /home/<user> (/root for root)
    files: dict[str, MemFile] = field(default_factory=dict)
    dirs: dict[str, MemDir] = field(default_factory=lambda: {"/": MemDir()})
    links: dict[str, str] = field(default_factory=dict)  # path -> target (as the link holds it)
    sudo_ok: bool = False  # can_sudo: the host may use sudo
    answers: list[tuple[re.Pattern, Answer]] = field(default_factory=list)
    # what the node saw: the commands run (with sudo or not), reads, writes, removals, backups, SQL, peers
    commands: list[tuple[str, bool]] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    backups: list[str] = field(default_factory=list)
    sql: list[tuple[str, bytes, str | None]] = field(default_factory=list)
    peers: list[str] = field(default_factory=list)
    cache: ReadCache = field(default_factory=ReadCache)  # the run's parsed documents (a parse kept per bytes)

    def __post_init__(self) -> None:
        self.home = self.home or ("/root" if self.host.user == "root" else f"/home/{self.host.user}")

    def _abs(self, path: str) -> str:
        """An absolute, normalized path: a relative one is taken from the login's home, as SFTP does."""
        return _norm(path if path.startswith("/") else posixpath.join(self.home, path))

    # ------------------------------------------------------------ building the node
    def add_dir(self, path: str, mode: int = 0o755, uid: int = 1000, gid: int = 1000) -> None:
        """A folder and its parents."""
        path = self._abs(path)
        parent = posixpath.dirname(path)
        if parent != path and parent not in self.dirs:
            self.add_dir(parent, 0o755, uid, gid)
        self.dirs.setdefault(path, MemDir(mode, uid, gid))

    def add_file(self, path: str, data: bytes, mode: int = 0o644, uid: int = 1000, gid: int = 1000) -> None:
        """A regular file (its folders made as needed)."""
        path = self._abs(path)
        self.add_dir(posixpath.dirname(path))
        self.links.pop(path, None)
        self.files[path] = MemFile(data, mode, uid, gid)

    def add_link(self, path: str, target: str) -> None:
        """A symbolic link at path to target (absolute, or relative to its folder)."""
        path = self._abs(path)
        self.add_dir(posixpath.dirname(path))
        self.files.pop(path, None)
        self.links[path] = target

    def load_tree(self, local: Path, at: str, mode: int | None = None) -> None:
        """Every file of a local folder under `at` (mode: the local file's, or `mode`)."""
        for p in sorted(local.rglob("*")):
            if p.is_file():
                self.add_file(posixpath.join(at, p.relative_to(local).as_posix()), p.read_bytes(),
                              mode if mode is not None else statmod.S_IMODE(p.stat().st_mode))

    def on(self, pattern: str, answer: Answer) -> None:
        """Answer the commands matching the regular expression (searched in the command line) with
        (exit, stdout, stderr), or with what answer(command, stdin, sudo) returns; the first match wins."""
        self.answers.append((re.compile(pattern), answer))

    def data(self, path: str) -> bytes | None:
        """A file's bytes as the node holds them (links followed), None when absent."""
        f = self.files.get(self._resolve(path))
        return None if f is None else f.data

    # ------------------------------------------------------------ paths
    def _resolve(self, path: str, final: bool = True) -> str:
        """The real path: every link on the way followed (the last one too when `final`)."""
        parts = [p for p in self._abs(path).split("/") if p]
        out = "/"
        hops = 0
        i = 0
        while i < len(parts):
            nxt = posixpath.join(out, parts[i])
            last = i == len(parts) - 1
            if nxt in self.links and (final or not last):
                hops += 1
                if hops > 40:
                    raise RemoteError(f"{path}: too many levels of symbolic links")
                target = self.links[nxt]
                rest = parts[i + 1:]
                base = target if target.startswith("/") else posixpath.join(out, target)
                parts = [p for p in _norm(base).split("/") if p] + rest
                out, i = "/", 0
                continue
            out = nxt
            i += 1
        return out

    def _stat_of(self, path: str) -> FileStat | None:
        if path in self.links:
            return FileStat(statmod.S_IFLNK | 0o777, 1000, 1000, len(self.links[path]), 1_700_000_000)
        f = self.files.get(path)
        if f is not None:
            return FileStat(statmod.S_IFREG | f.mode, f.uid, f.gid, len(f.data), f.mtime)
        d = self.dirs.get(path)
        if d is not None:
            return FileStat(statmod.S_IFDIR | d.mode, d.uid, d.gid, 4096, 1_700_000_000)
        return None

    def _file(self, path: str, limit: int, kind: str) -> MemFile | None:
        real = self._resolve(path)
        if real in self.dirs:
            raise RemoteError(f"{path}: is a directory, expected a file")
        f = self.files.get(real)
        if f is not None and len(f.data) > limit:
            raise RemoteError(f"{path}: {len(f.data)} bytes, more than {kind} may hold ({limit} bytes); refused, "
                              f"not read (check the file by hand)")
        return f

    # ------------------------------------------------------------ NodeReads
    def read(self, path: str, limit: int = CONFIG_LIMIT, kind: str = "a configuration file",
             cache: bool = True) -> bytes | None:
        self.reads.append(path)
        f = self._file(path, limit, kind)
        return None if f is None else f.data

    def read_range(self, path: str, offset: int, length: int) -> tuple[bytes, int]:
        f = self._file(path, 1 << 62, "a file")
        if f is None:
            raise RemoteError(f"{path}: does not exist")
        size = len(f.data)
        start = max(0, size + offset) if offset < 0 else min(offset, size)
        return f.data[start:start + max(0, min(length, size - start))], size

    def stat(self, path: str, follow: bool = True) -> FileStat | None:
        return self._stat_of(self._resolve(path, final=follow))

    def lstat(self, path: str) -> FileStat | None:
        return self.stat(path, follow=False)

    def known_stat(self, path: str) -> FileStat | None:
        return self.stat(path)

    def listdir(self, path: str) -> list[str] | None:
        real = self._resolve(path)
        if real not in self.dirs:
            if real in self.files:
                raise RemoteError(f"{path}: not a directory")
            return None
        prefix = real.rstrip("/") + "/"
        return sorted({p[len(prefix):] for p in (*self.files, *self.dirs, *self.links)
                       if p.startswith(prefix) and "/" not in p[len(prefix):] and p != real})

    def sha256(self, path: str, limit: int = JAR_LIMIT) -> str | None:
        f = self._file(path, limit, "a jar")
        return None if f is None else hashlib.sha256(f.data).hexdigest()

    def realpath(self, path: str) -> str:
        return self._resolve(path)

    def prefetch(self, paths: list[str]) -> None:
        return None  # every read is answered from memory already

    @property
    def can_sudo(self) -> bool:
        return self.sudo_ok

    def run(self, command: str, stdin: bytes | None = None, sudo: bool = False, check: bool = True,
            extra_time: float = 0.0):
        self.commands.append((command, sudo))
        for pattern, answer in self.answers:
            if pattern.search(command):
                code, out, err = answer(command, stdin, sudo) if callable(answer) else answer
                break
        else:
            raise AssertionError(f"MemoryNode {self.host.name}: no answer for the command {command!r}")
        if check and code != 0:
            raise RemoteError(f"`{command.split()[0]}` exited {code}: {(err or out).strip()}")
        return code, out, err

    # ------------------------------------------------------------ NodeIO: what apply does
    def write(self, path: str, data: bytes, mode: int | None = None, in_place_fallback: bool = False,
              backup: bool = True) -> None:
        real = self._resolve(path)  # a link stays a link: its target gets the bytes
        if posixpath.dirname(real) not in self.dirs:
            raise RemoteError(f"{path}: cannot write: no such file or directory")
        if real in self.dirs:
            raise RemoteError(f"{path}: is a directory, expected a file")
        old = self.files.get(real)
        if backup and old is not None:
            self.backups.append(path)
        keep = old or MemFile(b"", 0o644)
        self.files[real] = MemFile(data, mode if mode is not None else keep.mode, keep.uid, keep.gid)
        self.written.append(path)

    def place(self, path: str, data: bytes, mode: int = 0o600, like: FileStat | None = None) -> None:
        path = self._abs(path)
        if posixpath.dirname(path) not in self.dirs:
            raise RemoteError(f"{path}: cannot write: no such file or directory")
        self.links.pop(path, None)  # whatever was there is replaced, never followed
        self.files[path] = MemFile(data, mode, like.uid if like else 1000, like.gid if like else 1000)
        self.written.append(path)

    def remove(self, path: str, backup: bool = True) -> None:
        path = self._abs(path)
        if path in self.links:
            del self.links[path]
        elif path in self.files:
            if backup:
                self.backups.append(path)
            del self.files[path]
        else:
            return
        self.removed.append(path)

    def chmod(self, path: str, mode: int) -> None:
        real = self._resolve(path)
        target = self.files.get(real) or self.dirs.get(real)
        if target is None:
            raise RemoteError(f"{path}: no such file")
        self.backups.append(path)
        target.mode = mode

    def mkdir_p(self, path: str, mode: int = 0o755) -> None:
        self.add_dir(self._resolve(path), mode)

    def backup_on_host(self, paths: list[str], sudo: bool = False) -> None:
        self.backups += [p for p in paths if self._resolve(p) in self.files]

    def forget_backup(self, path: str) -> None:
        if path in self.backups:
            self.backups.remove(path)

    def keep_sql(self, step: str, data: bytes, via: str | None = None, db: str | None = None) -> None:
        self.sql.append((step, data, via))

    def note_peer(self, name: str) -> None:
        self.peers.append(name)

    def open_channel(self, dest: str, port: int, timeout: float | None = None):
        raise RemoteError(f"{self.host.name} cannot open {dest}:{port} (a MemoryNode has no network)")


def _norm(path: str) -> str:
    """An absolute, normalized path (MemoryNode's key)."""
    if not path.startswith("/"):
        raise ValueError(f"MemoryNode paths are absolute: {path!r}")
    return posixpath.normpath(path).replace("//", "/")


def product_node(host: Host, fixture: Path | None = None) -> MemoryNode:
    """A node holding the shipped 4.9.0 files (tests/lab.py product_fixture()) in its product home, and
    an empty hosts file."""
    from tests.lab import product_fixture
    node = MemoryNode(host)
    node.load_tree(fixture or product_fixture(), host.product_home, mode=0o644)
    node.add_file(posixpath.join(host.product_home, "bin/wso2server.sh"),
                  (fixture or product_fixture()).joinpath("bin/wso2server.sh").read_bytes(), 0o755)
    node.add_file(host.hosts_file, b"127.0.0.1\tlocalhost\n")
    return node


def node_context(node: MemoryNode, inv: Inventory, secrets: Secrets | None = None, mode: Mode = Mode.PATCH,
                 others: dict[str, MemoryNode] | None = None, memo: dict | None = None) -> StepContext:
    """The StepContext a step gets on `node` in a run of `mode`: `others` (name -> MemoryNode) are the
    other hosts' connections (`ctx.other`), `memo` the run's memo (a fresh one by default)."""
    nodes = dict(others or {})
    nodes[node.host.name] = node

    def remote_for(h: Host) -> NodeIO:
        if h.name not in nodes:
            raise RemoteError(f"{h.name}: unreachable (no MemoryNode for it in this test)")
        return nodes[h.name]

    checks: Checks = mode.checks
    return StepContext(node.host, inv, secrets or Secrets({}), node, checks, remote_for, {} if memo is None else memo)


@dataclass
class MemoryRun:
    """The run's hosts as code across hosts sees them (tasks/engine/context.Nodes): hosts.toml, the secrets and
    each host's MemoryNode; a host without one is unreachable (RemoteError), as Session.remote says."""

    inv: Inventory
    nodes: dict[str, MemoryNode]
    secrets: Secrets = field(default_factory=lambda: Secrets({}))

    def remote(self, host: Host) -> NodeIO:
        if host.name not in self.nodes:
            raise RemoteError(f"{host.name}: unreachable (no MemoryNode for it in this test)")
        return self.nodes[host.name]


__all__ = ["MemoryNode", "MemoryRun", "MemFile", "MemDir", "node_context", "product_node"]
