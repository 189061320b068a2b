"""Opt-in I/O figures of a run for the benchmark: set ESB_STATS_FILE=path and every Session appends
one JSON line (run id, mode, wall seconds, and per host: connections, commands, SFTP operations,
bytes read and written).  Off unless the variable is set; never holds a secret.
"""
from __future__ import annotations

import json
import os
import time

ENV = "ESB_STATS_FILE"


def dump(run_id: str, mode: str, started: float, counters: dict[str, dict]) -> None:
    """Append this run's counters to $ESB_STATS_FILE (nothing when it is unset or unwritable)."""
    path = os.environ.get(ENV)
    if not path:
        return
    line = json.dumps({"run_id": run_id, "mode": mode, "seconds": round(time.monotonic() - started, 3),
                       "hosts": counters}, sort_keys=True)
    try:
        with open(path, "a") as f:
            f.write(line + "\n")
    except OSError:
        pass
