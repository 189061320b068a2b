"""Diff size: this project's edits against Ansible's community.general.xml making the same values.

Takes the shipped axis2.xml, carbon.xml and catalina-server.xml (the product fixture, or the
project's sample), sets on a copy the manager's values of patch-axis2, set-hostnames,
enable-depsync and set-proxyports with our planners (tasks.steps.*, no SSH: the same pure
functions the steps run), and on another copy the same values with an Ansible playbook of
community.general.xml tasks of bench/ansible_ssh.py (connection: local). Prints, per file, the changed lines of each
against the shipped bytes and what else changed (XML declaration, blank lines, line count).

Ansible is not a project dependency; install it in a separate venv:

    python3 -m venv /tmp/ansible && /tmp/ansible/bin/pip install ansible lxml
    .venv/bin/python bench/ansible_diff.py --ansible-playbook /tmp/ansible/bin/ansible-playbook

Writes bench/out/ansible-diff/{ours,ansible}/... and bench/out/ansible-diff.json.
"""
from __future__ import annotations

import argparse
import difflib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tasks.secrets import Secrets  # noqa: E402
from tasks.steps.axis2 import AXIS2, plan_axis2  # noqa: E402
from tasks.steps.base import plan_xml  # noqa: E402
from tasks.steps.carbon import CARBON, plan_depsync, plan_hostnames  # noqa: E402
from tasks.steps.catalina import CATALINA, plan_catalina  # noqa: E402
from tests.lab import product_fixture  # noqa: E402
from tests.unit.helpers import inventory  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
from ansible_ssh import node_vars, playbook  # noqa: E402  (the same tasks as over SSH)

OUT = REPO / "bench" / "out" / "ansible-diff"
SVN_PASSWORD = "bench-not-a-secret"

#: our planners per file, in step order (carbon.xml gets two steps)
PLANNERS = {AXIS2: (plan_axis2,), CARBON: (plan_hostnames, plan_depsync), CATALINA: (plan_catalina,)}


def ours(home: Path) -> None:
    """Apply the manager's four steps to the copy in home with the project's planners."""
    inv = inventory()
    host = inv.hosts["esb-mgr"]
    for rel, planners in PLANNERS.items():
        p = home / rel
        data = p.read_bytes()
        for planner in planners:
            data = plan_xml(data, rel, planner, host, inv, Secrets({"SVN_PASSWORD": SVN_PASSWORD})).doc.render()
        p.write_bytes(data)


def local_inventory(home: Path, python: str) -> dict:
    """The manager of the unit-test inventory, on this machine (connection: local), its product home a copy."""
    inv = inventory()
    mgr = inv.hosts["esb-mgr"]
    peers = [(w.member_host, w.member_port) for w in inv.esb_nodes if w.role == "worker"]
    host = {"ansible_connection": "local", "ansible_python_interpreter": python,
            **node_vars(str(home), mgr.role, mgr.member_host, mgr.member_port, peers)}
    return {"all": {"hosts": {"esb-mgr": host}, "vars": {"svn_url": inv.svn.url, "svn_password": SVN_PASSWORD}}}


def changed(old: bytes, new: bytes) -> list[str]:
    """The +/- lines of a unified diff of the real bytes (latin-1: every byte is a character)."""
    a = old.decode("latin-1").splitlines(keepends=True)
    b = new.decode("latin-1").splitlines(keepends=True)
    return [ln.rstrip("\r\n") for ln in difflib.unified_diff(a, b, n=0)
            if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def traits(old: bytes, new: bytes) -> dict:
    """What else differs: the XML declaration, CRLF, blank lines, line count."""
    first = lambda b: b.split(b"\n", 1)[0].decode("latin-1").rstrip("\r")
    blank = lambda b: sum(1 for ln in b.split(b"\n") if not ln.strip())
    return {"declaration": [first(old), first(new)], "crlf": [b"\r\n" in old, b"\r\n" in new],
            "blank_lines": [blank(old), blank(new)], "lines": [old.count(b"\n"), new.count(b"\n")]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ansible-playbook", default="ansible-playbook", help="path of ansible-playbook")
    a = ap.parse_args()
    src = product_fixture()
    shutil.rmtree(OUT, ignore_errors=True)
    homes = {k: OUT / k for k in ("ours", "ansible")}
    for home in homes.values():
        for rel in PLANNERS:
            (home / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / rel, home / rel)
    t0 = time.perf_counter()
    ours(homes["ours"])
    ours_s = time.perf_counter() - t0
    book, inv = OUT / "playbook.json", OUT / "inventory.json"  # JSON is YAML
    book.write_text(json.dumps(playbook(), indent=1))
    python = Path(shutil.which(a.ansible_playbook) or a.ansible_playbook).parent / "python"  # the venv's, with lxml
    inv.write_text(json.dumps(local_inventory(homes["ansible"], str(python)), indent=1))
    t0 = time.perf_counter()
    r = subprocess.run([a.ansible_playbook, "-i", str(inv), str(book)], capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "0",
                            "HOME": str(OUT)})
    ansible_s = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"ansible-playbook exited {r.returncode}:\n{r.stdout[-4000:]}\n{r.stderr[-2000:]}")
    report = {"fixture": str(src), "seconds": {"ours": round(ours_s, 3), "ansible": round(ansible_s, 3)}, "files": {}}
    print(f"product files: {src}\n")
    print(f"{'file':<38} {'ours':>6} {'ansible':>8}   (changed lines against the shipped file)")
    for rel in PLANNERS:
        old = (src / rel).read_bytes()
        row = {}
        for who, home in homes.items():
            new = (home / rel).read_bytes()
            row[who] = {"changed_lines": len(changed(old, new)), **traits(old, new)}
        report["files"][rel] = row
        print(f"{rel:<38} {row['ours']['changed_lines']:>6} {row['ansible']['changed_lines']:>8}")
        for who in homes:
            t = row[who]
            print(f"    {who:<8} declaration {t['declaration'][1]!r}, CRLF {t['crlf'][1]}, "
                  f"blank lines {t['blank_lines'][0]} -> {t['blank_lines'][1]}, lines {t['lines'][0]} -> {t['lines'][1]}")
    total = {who: sum(f[who]["changed_lines"] for f in report["files"].values()) for who in homes}
    report["total_changed_lines"] = total
    print(f"\ntotal changed lines: ours {total['ours']}, ansible {total['ansible']}")
    print(f"seconds (one host, no SSH): ours {ours_s:.2f}, ansible-playbook {ansible_s:.2f}")
    (OUT.parent / "ansible-diff.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {OUT.parent / 'ansible-diff.json'}; the files are in {OUT}")


if __name__ == "__main__":
    main()
