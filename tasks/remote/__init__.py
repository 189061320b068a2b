"""The one remote I/O layer, in parts that compose one way (each over the ones above
it in this list); steps never touch paramiko, they call `read`, `write`, `stat`,
`run` on the facade (through NodeIO).

- transport.py: one SSH connection and SFTP session per host, every operation under
  [run].op_timeout, commands (secrets on stdin only, sudo's refusals told apart)
  and channels (the database tunnel);
- sftpio.py: the plain SFTP file operations: stat, a file put with its mode before its first byte,
  its owner, rename, mkdir -p, rmtree;
- sudo.py: root's way where the login user may not (over transport and sftpio);
- reads.py: reads (the run's read cache shared by a machine's nodes, a pipelined read-ahead, size
  caps, the confinement of a product home's links);
- files.py: over the reads, the target a write replaces (a link stays a link), the atomic replace,
  removal;
- backupruns.py: the backup runs a node keeps (numbered by the node, listed, read, pruned, the first
  backups kept in originals/);
- journal.py: each run's backups and manifest (mode, owner, private: what rollback needs) and the
  writes and removals that back a file up first;
- lock.py: the node's lock and the machine's; runlocks.py: the run's own locks (the deadlock rule);
- host.py: RemoteHost, one host's connection for the whole run: a thin facade that builds the parts;
- protocol.py: NodeReads and NodeIO, what a step may do on a host (its plan, its apply);
- common.py: limits, errors, stats, counters.

Counters record connections, commands, SFTP operations and bytes for the benchmark.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .common import (CONFIG_LIMIT, DEFAULT_OP_TIMEOUT, JAR_LIMIT, SCRIPT_LIMIT, SMALL_LIMIT, TMP_MARK, UPLOAD_RATE,
                     Counters, FileStat, HostFault, RemoteError, SudoRefused, Unreachable, WriteRecord)

if TYPE_CHECKING:
    from .host import RemoteHost
    from .runlocks import RunLocks

#: the facade's parts, imported when first asked for: a module that needs the layer's limits and errors only
#: (a step's declaration, `fab --list`) does not load the connection's parts
_LAZY = {"RemoteHost": ".host", "RunLocks": ".runlocks"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["RemoteHost", "RemoteError", "SudoRefused", "Unreachable", "FileStat", "Counters", "WriteRecord",
           "RunLocks", "CONFIG_LIMIT", "SCRIPT_LIMIT", "SMALL_LIMIT", "JAR_LIMIT", "TMP_MARK",
           "UPLOAD_RATE", "DEFAULT_OP_TIMEOUT", "HostFault"]
