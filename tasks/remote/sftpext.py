"""The only places the project reaches past paramiko's public SFTP API, each kept small and tested.

- `drain_writes`: paramiko drops the status of a pipelined write at close(), so a write that the
  server refused (a full disk) would go unnoticed and a short temp file would be renamed into place;
  the status of every outstanding write is collected here, raising the server's error.
- `statvfs`: the OpenSSH `statvfs@openssh.com` extension, which paramiko does not expose, to tell a
  read-only or full file system from SFTP's catch-all "Failure".
- `finish`: the CLOSE of a pipelined write sent behind its data, every
  status collected in one round trip.
- `read_many`: several whole files read with their requests pipelined (every stat, then every
  open, every read and every close in flight at once): four round trips for all the files a host's
  steps read, instead of four per file.
- `put_many`: several new files created (each with its mode) and written with their requests
  pipelined: every OPEN in one round trip, every WRITE and CLOSE in the next (a write's backup, its
  temp file and the manifest that records them: two round trips instead of six).
- `create`: a new file opened with its permissions in the OPEN request (paramiko's open() sends none
  and needs a second round trip, fsetstat, to set them): the server creates it with that mode (less
  its umask), exclusively, so it never exists with more access than wanted.
"""
from __future__ import annotations

from dataclasses import dataclass

import stat as statmod

from paramiko.message import Message
from paramiko.sftp import (CMD_ATTRS, CMD_CLOSE, CMD_DATA, CMD_STATUS, CMD_WRITE, CMD_EXTENDED, CMD_EXTENDED_REPLY,
                           CMD_HANDLE, CMD_NAME, CMD_OPEN, CMD_REALPATH, CMD_LSTAT, CMD_READ, SFTP_FLAG_CREATE,
                           SFTP_FLAG_EXCL, SFTP_FLAG_READ, SFTP_FLAG_TRUNC, SFTP_FLAG_WRITE, SFTPError, int64)
from paramiko.sftp_attr import SFTPAttributes
from paramiko.sftp_file import SFTPFile

ST_RDONLY = 1


def finish(f) -> None:
    """Close a file written with pipelined writes: the CLOSE goes right behind the writes, and
    every status is collected at once (one round trip instead of two); IOError when the server
    refused a write or the close."""
    f.flush()
    c = _Collector()
    num = f.sftp._async_request(c, CMD_CLOSE, f.handle)
    f._closed = True  # paramiko must not flush or send a second CLOSE (its __del__ closes an open file)
    refused = None
    try:
        drain_writes(f)
    except OSError as e:  # still wait for the close: the handle is gone on the server before this returns
        refused = e
        f._reqs.clear()
    while num not in c.got:
        f.sftp._read_response()
    if refused is not None:
        raise refused
    t, msg = c.got[num]
    if t == CMD_STATUS:
        code = msg.get_int()
        if code != 0:
            raise OSError(f"close refused (SFTP status {code}: {msg.get_text()})")


def drain_writes(f) -> None:
    """Wait for the server's status of every pipelined write of an open paramiko SFTPFile; IOError on a refusal."""
    while f._reqs:
        f.sftp._read_response(f._reqs.popleft())


@dataclass(frozen=True)
class FsStat:
    """The part of statvfs the messages need."""

    blocks_free: int
    blocks_avail: int
    files_avail: int
    read_only: bool

    @property
    def full(self) -> bool:
        return self.blocks_avail == 0 or self.files_avail == 0


def statvfs(sftp, path: str) -> FsStat | None:
    """statvfs@openssh.com for path's file system; None when the server lacks the extension or refuses."""
    try:
        kind, msg = sftp._request(CMD_EXTENDED, "statvfs@openssh.com", path)
        if kind != CMD_EXTENDED_REPLY:
            return None
        # bsize frsize blocks bfree bavail files ffree favail fsid flag namemax
        v = [msg.get_int64() for _ in range(11)]
    except Exception:  # an old server without the extension: no diagnosis
        return None
    return FsStat(v[3], v[4], v[7], bool(v[9] & ST_RDONLY))


def create(sftp, path: str, mode: int) -> SFTPFile:
    """A new file (it must not exist: O_EXCL) opened for writing, created with `mode` (less the server's umask)."""
    attrs = SFTPAttributes()
    attrs.st_mode = mode
    flags = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC | SFTP_FLAG_EXCL
    kind, msg = sftp._request(CMD_OPEN, sftp._adjust_cwd(path), flags, attrs)
    if kind != CMD_HANDLE:
        raise SFTPError("Expected handle")
    return SFTPFile(sftp, msg.get_binary(), "wb", -1)


class _Collector:
    """Where paramiko hands the responses of requests sent with it as their file object."""

    def __init__(self):
        self.got: dict[int, tuple[int, Message]] = {}

    def _async_response(self, t, msg, num):
        self.got[num] = (t, msg)


def _round(sftp, requests: list[tuple]) -> list[tuple[int, Message]]:
    """Send every request, then collect every response (in any order): one round trip for all of them."""
    c = _Collector()
    nums = [sftp._async_request(c, *r) for r in requests]
    while any(n not in c.got for n in nums):
        sftp._read_response()
    return [c.got[n] for n in nums]


#: the most one READ request asks for (OpenSSH serves up to 256 KiB; every server 32 KiB)
CHUNK = 32768


def realpath_many(sftp, paths: list[str]) -> dict[str, str]:
    """The server's real path of each path (links resolved by the node's own resolver), one round
    trip for all of them; a path the server cannot resolve (missing, refused) is left out."""
    out: dict[str, str] = {}
    for p, (t, msg) in zip(paths, _round(sftp, [(CMD_REALPATH, sftp._adjust_cwd(p)) for p in paths]), strict=False):
        if t == CMD_NAME and msg.get_int() == 1:
            out[p] = msg.get_text()
    return out


def read_many(sftp, paths: list[str], limit: int) -> dict[str, tuple[object, bytes | None]]:
    """For each path that is itself a regular file (not a link) of at most `limit` bytes: (its
    SFTPAttributes, its bytes); a missing file: (None, None). Paths that are anything else (a link,
    a folder) or fail are left out (a plain read says why, or follows the link)."""
    from paramiko.sftp_attr import SFTPAttributes
    out: dict[str, tuple[object, bytes | None]] = {}
    stats = _round(sftp, [(CMD_LSTAT, sftp._adjust_cwd(p)) for p in paths])
    files = []
    for p, (t, msg) in zip(paths, stats, strict=False):
        if t == CMD_ATTRS:
            a = SFTPAttributes._from_msg(msg)
            if statmod.S_ISREG(a.st_mode or 0) and (a.st_size or 0) <= limit:
                files.append((p, a))
        elif t != CMD_ATTRS and msg is not None:
            code = msg.get_int()
            if code == 2:  # SSH_FX_NO_SUCH_FILE
                out[p] = (None, None)
    if not files:
        return out
    opened = _round(sftp, [(CMD_OPEN, sftp._adjust_cwd(p), SFTP_FLAG_READ, SFTPAttributes()) for p, _ in files])
    handles = [(p, a, msg.get_binary()) for (p, a), (t, msg) in zip(files, opened, strict=False) if t == CMD_HANDLE]
    reads, index = [], []
    for p, a, h in handles:
        size = (a.st_size or 0) + 1  # one byte more: a file that grew since the stat is seen
        for off in range(0, size, CHUNK):
            reads.append((CMD_READ, h, int64(off), min(CHUNK, size - off)))
            index.append(p)
    chunks: dict[str, list[bytes]] = {p: [] for p, _, _ in handles}
    ok = {p: True for p, _, _ in handles}
    for p, (t, msg) in zip(index, _round(sftp, reads), strict=False):
        if t == CMD_DATA:
            chunks[p].append(msg.get_string())
        elif msg is None or msg.get_int() != 1:  # anything but EOF (SSH_FX_EOF)
            ok[p] = False
    _round(sftp, [(CMD_CLOSE, h) for _, _, h in handles])
    for p, a, _ in handles:
        data = b"".join(chunks[p])
        if ok[p] and len(data) == (a.st_size or 0):  # short or grown: left to a plain read
            out[p] = (a, data)
    return out


def _status(msg) -> tuple[int, str]:
    code = msg.get_int()
    try:
        text = msg.get_text()
    except Exception:
        text = ""
    return code, text


def put_many(sftp, files: list[tuple[str, bytes, int]]) -> None:
    """Create each file (it must not exist: O_EXCL) with its mode and write its bytes, every OPEN in
    one round trip and every WRITE and CLOSE in the next; OSError for the first refusal (every file
    opened is closed either way; the caller removes what it created)."""
    from paramiko.sftp_attr import SFTPAttributes
    flags = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC | SFTP_FLAG_EXCL
    opens = []
    for path, _, mode in files:
        attrs = SFTPAttributes()
        attrs.st_mode = mode
        opens.append((CMD_OPEN, sftp._adjust_cwd(path), flags, attrs))
    failure = None
    handles = []
    for (path, data, _), (t, msg) in zip(files, _round(sftp, opens), strict=False):
        if t == CMD_HANDLE:
            handles.append((data, msg.get_binary()))
        elif failure is None:
            code, text = _status(msg)
            failure = OSError(code, f"{path}: {text or 'refused'}")
    writes = [] if failure else [(CMD_WRITE, h, int64(off), data[off:off + CHUNK])
                                 for data, h in handles for off in range(0, len(data), CHUNK)]
    for t, msg in _round(sftp, writes + [(CMD_CLOSE, h) for _, h in handles]):
        if t == CMD_STATUS and failure is None:
            code, text = _status(msg)
            if code != 0:
                failure = OSError(code, text or "write refused")
    if failure is not None:
        raise failure
