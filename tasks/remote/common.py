"""What every part of the remote layer shares: the limits, the errors, a file's stat, the counters, a manifest entry."""
from __future__ import annotations

import stat as statmod
from dataclasses import dataclass

import paramiko


TMP_MARK = ".esb-tmp-"

#: [run].op_timeout's default: seconds any remote operation may wait for an answer
DEFAULT_OP_TIMEOUT = 30

#: bytes per second an upload is granted on top of op_timeout (a slow
#: link still gets a big jar across)
UPLOAD_RATE = 256 << 10

#: the most bytes a read takes by default: WSO2's largest shipped
#: configuration file is under 100 KiB
CONFIG_LIMIT = 16 << 20

#: a product script (dbscripts) or a backup may be larger
SCRIPT_LIMIT = 64 << 20

#: the hosts file, a certificate
SMALL_LIMIT = 4 << 20

#: a jar compared by its sha256 (streamed, never held whole)
JAR_LIMIT = 1 << 30

#: what a dropped connection or a refused SFTP request raises in paramiko
_IO_ERRORS = (OSError, paramiko.SSHException, EOFError)


class HostFault(Exception):
    """What fails one host's work and not the run: the host could not be reached or an operation on it failed
    (RemoteError), or what it holds stops a step there (StepError, tasks/engine/context.py). A handler
    that reports a host's failure and goes on with the others catches this one base."""


class RemoteError(HostFault):
    """A remote operation failed; the message names host, path and cause (never a secret)."""


class SudoRefused(RemoteError):
    """sudo itself refused (wrong or missing SUDO_PASSWORD, not in sudoers): nothing ran."""


class Unreachable(RemoteError):
    """The host could not be reached or refused our credentials."""


@dataclass
class Counters:
    connections: int = 0
    commands: int = 0
    sftp_ops: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    channels: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class FileStat:
    mode: int
    uid: int
    gid: int
    size: int
    mtime: int

    @property
    def is_dir(self) -> bool:
        return statmod.S_ISDIR(self.mode)

    @property
    def is_file(self) -> bool:
        return statmod.S_ISREG(self.mode)

    @property
    def is_link(self) -> bool:
        return statmod.S_ISLNK(self.mode)


@dataclass
class WriteRecord:
    """One manifest entry: everything rollback needs to put a file back as it was."""

    path: str
    backup: str | None  # the backup's name under files/, None when the file did not exist
    existed: bool
    mode: int | None
    private: bool = False  # restore on the host, never over SFTP, never in a diff (a key; a 0600 file)
    owner: list[int] | None = None  # [uid, gid] before the run
    real: str | None = None  # path was a symbolic link (the operator's) to this file when the run wrote it
    sha256: str | None = None  # of the backup's bytes: rollback restores them only while the node left them so


def is_private(path: str, mode: int | None) -> bool:
    """A private file (a key, a password file: no group/other bits, or *.key): backed up and
    restored on the host, never read over SFTP by rollback or shown in a diff. The journal
    records it; rollback reads it back."""
    return path.endswith(".key") or (mode is not None and mode & 0o077 == 0)
