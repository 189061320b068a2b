"""`fab rollback`: put back the files that the last patch run changed, from that run's backups
(command.py; the operations it adds beside the files: ops.py), through a node's links never outside
the managed roots (reach.py), run by run as the node numbered them (runs.py)."""
from __future__ import annotations

from .command import rollback

__all__ = ["rollback"]
