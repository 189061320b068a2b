"""The type checker and the linter on tasks/ (mypy.ini, ruff.toml): both report nothing, so a change that
breaks a type or the style fails the suite, not only a reviewer's eye."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_mypy_reports_nothing_on_tasks(tmp_path):
    r = run("mypy", "--cache-dir", str(tmp_path / "mypy"), "tasks")
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_passes_on_tasks(tmp_path):
    r = run("ruff", "check", "--no-cache", "tasks")
    assert r.returncode == 0, r.stdout + r.stderr
