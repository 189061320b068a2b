"""The one remote I/O layer, in parts; steps never touch paramiko, they call `read`, `write`, `stat`, `run` here.

- transport.py: one SSH connection and SFTP session per host, every operation under [run].op_timeout,
  commands (secrets on stdin only) and channels (the database tunnel);
- files.py: reads (the run's read cache shared by a machine's nodes, a pipelined read-ahead, size caps)
  and atomic writes: backup of the original (once per run), a temp file beside the target with the
  wanted mode before its first byte, the owner, the rename;
- journal.py: each run's backups and manifest (mode, owner, private: what rollback needs);
- lock.py: the node's lock and the machine's; runlocks.py: the run's own locks (the deadlock rule);
- sudo.py: root's way where the login user may not; common.py: limits, errors, stats, counters;
- host.py: RemoteHost, one host's connection for the whole run, made of those parts.

Counters record connections, commands, SFTP operations and bytes for the benchmark.
"""
from __future__ import annotations

from .common import (CONFIG_LIMIT, DEFAULT_OP_TIMEOUT, JAR_LIMIT, SCRIPT_LIMIT, SMALL_LIMIT, TMP_MARK, UPLOAD_RATE,
                     Counters, FileStat, RemoteError, SudoRefused, Unreachable, WriteRecord, node_state_dir)
from .host import RemoteHost
from .runlocks import RunLocks

__all__ = ["RemoteHost", "RemoteError", "SudoRefused", "Unreachable", "FileStat", "Counters", "WriteRecord",
           "RunLocks", "node_state_dir", "CONFIG_LIMIT", "SCRIPT_LIMIT", "SMALL_LIMIT", "JAR_LIMIT", "TMP_MARK",
           "UPLOAD_RATE", "DEFAULT_OP_TIMEOUT"]
