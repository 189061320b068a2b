"""Local run state beside hosts.toml (.esb-state/<task>.json):
where a rollout stopped, for --resume.

Written atomically (temp file in the same folder, fsync, rename), so a killed fab
leaves either the old state or the new one.  It holds names and run ids only,
never a secret.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from ..config import Inventory

STATE_DIR = ".esb-state"


def state_path(inv: Inventory, task: str) -> Path:
    """.esb-state/<task>.json in the folder of hosts.toml."""
    return inv.base_dir / STATE_DIR / f"{task}.json"


def inventory_digest(inv: Inventory) -> str:
    """sha256 of the hosts.toml bytes: tells a resume whether the inventory changed meanwhile."""
    try:
        return hashlib.sha256(inv.path.read_bytes()).hexdigest()
    except OSError:
        return ""


def load_state(path: Path) -> dict | None:
    """The recorded state, or None when there is none (or it is unreadable: it is only a hint)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def save_state(path: Path, state: dict) -> None:
    """Replace the state file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(state, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
