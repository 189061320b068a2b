"""Helpers shared by the acceptance tests: owned-lines diffs, secret checks, per-host status lines."""
from __future__ import annotations

import json
import subprocess

from tests.lab import Lab, product_fixture


def diff_lines(a, b) -> list[str]:
    """The +/- lines of `git diff --no-index` between two files (headers dropped)."""
    out = subprocess.run(["git", "diff", "--no-index", "--unified=0", str(a), str(b)],
                         capture_output=True).stdout.decode("latin-1")  # the real bytes, a character each
    return [ln for ln in out.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def shipped_conf(rel: str):
    """Path of a shipped file under repository/conf."""
    return product_fixture() / "repository" / "conf" / rel


def conf_diff(lab: Lab, host: str, rel: str) -> list[str]:
    """Owned lines: the shipped file against the host's patched copy."""
    return diff_lines(shipped_conf(rel), lab.hosts[host].conf(rel))


def run_clean(lab: Lab, *args: str, secrets: tuple[str, ...] = (), env: dict | None = None):
    """Run fab and assert no secret value shows in stdout or stderr (any mode)."""
    r = lab.fab(*args, env=env)
    for s in secrets:
        assert s not in r.stdout and s not in r.stderr, f"secret leaked by fab {' '.join(args)}"
    return r


def statuses(r, step: str) -> dict[str, str]:
    """host -> status from a --json run."""
    doc = json.loads(r.stdout)
    return {h: steps[step]["status"] for h, steps in doc["hosts"].items() if step in steps}


def edit(path, old: str, new: str, encoding: str = "latin-1") -> None:
    """Hand-edit a file (one exact replacement; bytes kept, CRLF included)."""
    text = path.read_bytes().decode(encoding)
    assert text.count(old) == 1, old
    path.write_bytes(text.replace(old, new).encode(encoding))




def open_backups(lab: Lab, host: str) -> dict[str, int]:
    """Every file under the node's state dir that its group or others may access (path -> mode): a backup is
    private whatever the mode of the file it copies (the README); empty when all are."""
    root = lab.state_dir(host)
    return {str(p): p.stat().st_mode & 0o777 for p in root.rglob("*")
            if p.is_file() and not p.is_symlink() and p.stat().st_mode & 0o077}


def recorded_modes(lab: Lab, host: str) -> dict[str, int]:
    """path -> the mode the manifests of the node's runs record for it (the original's, restored by rollback)."""
    out = {}
    for m in sorted((lab.state_dir(host) / "backups").glob("*/manifest.json")):
        for rec in json.loads(m.read_text())["files"]:
            if rec.get("mode") is not None:
                out.setdefault(rec["path"], rec["mode"])
    return out
