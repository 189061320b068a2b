"""`fab deploy FILE` and `fab undeploy NAME` (CONTRACT §12): the archive checked and written on the manager
(command.py), then the proof that DepSync carried it to every running node (proof.py)."""
from __future__ import annotations

from .command import deploy, undeploy

__all__ = ["deploy", "undeploy"]
