"""The only places the project reaches past paramiko's public SFTP API, each kept small and tested.

- `drain_writes`: paramiko drops the status of a pipelined write at close(), so a write that the server
  refused (a full disk) would go unnoticed and a short temp file would be renamed into place; the status
  of every outstanding write is collected here, raising the server's error.
- `statvfs`: the OpenSSH `statvfs@openssh.com` extension, which paramiko does not expose, to tell a
  read-only or full file system from SFTP's catch-all "Failure".
- `create`: a new file opened with its permissions in the OPEN request (paramiko's open() sends none and
  needs a second round trip, fsetstat, to set them): the server creates it with that mode (less its
  umask), exclusively, so it never exists with more access than wanted.
"""
from __future__ import annotations

from dataclasses import dataclass

from paramiko.sftp import (CMD_EXTENDED, CMD_EXTENDED_REPLY, CMD_HANDLE, CMD_OPEN, SFTP_FLAG_CREATE, SFTP_FLAG_EXCL,
                           SFTP_FLAG_TRUNC, SFTP_FLAG_WRITE, SFTPError)
from paramiko.sftp_attr import SFTPAttributes
from paramiko.sftp_file import SFTPFile

ST_RDONLY = 1


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
