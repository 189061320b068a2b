"""The opt-in stats dump (ESB_STATS_FILE) that the benchmark reads."""
from __future__ import annotations

import json
import time

from tasks.engine import stats


def test_nothing_is_written_unless_asked(tmp_path, monkeypatch):
    monkeypatch.delenv(stats.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    stats.dump("r1", "patch", time.monotonic(), {"h": {"connections": 1}})
    assert list(tmp_path.iterdir()) == []


def test_one_json_line_per_session(tmp_path, monkeypatch):
    out = tmp_path / "stats.jsonl"
    monkeypatch.setenv(stats.ENV, str(out))
    for run in ("r1", "r2"):
        stats.dump(run, "verify", time.monotonic(), {"esb-w1": {"connections": 1, "commands": 0}})
    lines = [json.loads(ln) for ln in out.read_text().splitlines()]
    assert [ln["run_id"] for ln in lines] == ["r1", "r2"]
    assert lines[0]["hosts"] == {"esb-w1": {"connections": 1, "commands": 0}} and lines[0]["mode"] == "verify"
