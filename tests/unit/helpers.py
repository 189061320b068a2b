"""Shared helpers of the unit tests: a valid inventory, the product fixture's bytes, planner runs."""
from __future__ import annotations

import tomllib
from pathlib import Path

from tasks.config import Inventory, parse_inventory
from tasks.engine.plan import FileChange
from tasks.secrets import Secrets
from tasks.steps.base import XmlEdits, plan_xml
from tests.lab import CLUSTER_TOML, product_fixture

BASE_TOML = CLUSTER_TOML + """
[defaults]
user = "wso2"
product_home = "/opt/wso2esb-4.9.0"

[hosts.esb-mgr]
address = "192.168.1.12"
role = "manager"
member_port = 4100

[hosts.esb-w1]
address = "192.168.1.13"
role = "worker"
member_port = 4200

[hosts.esb-w2]
address = "192.168.1.14"
role = "worker"
member_port = 4300

[hosts.db1]
address = "192.168.1.20"
role = "db"

[groups]
canary = ["esb-w1"]

[database]
host = "db1"

[svn]
host = "esb-mgr"
url = "svn://192.168.1.12/depsyncrepo/"
user = "repouser"
"""


def base_data() -> dict:
    """A fresh dict of the valid base hosts.toml (mutate it freely)."""
    return tomllib.loads(BASE_TOML)


def inventory(data: dict | None = None, path: str = "/etc/esb/hosts.toml") -> Inventory:
    """A validated Inventory from data (default: the base hosts.toml)."""
    return parse_inventory(base_data() if data is None else data, Path(path))


def shipped(rel: str) -> bytes:
    """Bytes of a file of the product fixture, relative to the product home."""
    return (product_fixture() / rel).read_bytes()


def run_planner(rel: str, planner, host: str, inv: Inventory | None = None,
                secrets: Secrets | None = None, data: bytes | None = None) -> tuple[XmlEdits, FileChange]:
    """Plan one file on one host; return the edits and the FileChange (diff) they make."""
    inv = inv or inventory()
    old = shipped(rel) if data is None else data
    edits = plan_xml(old, rel, planner, inv.hosts[host], inv, secrets or Secrets({}))
    return edits, FileChange(rel, old, edits.doc.render(), secret_lines=tuple(edits.secret_values))


def changed_lines(fc: FileChange) -> list[str]:
    """The +/- lines of a FileChange's diff, without headers."""
    return [ln for ln in fc.diff().splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


#: every secret a step may ask for (none of them the shipped value)
STEP_SECRETS = {"SVN_PASSWORD": "Svn-pässword1", "WSO2_DB_PASSWORD": "Db-pässword22", "ADMIN_PASSWORD": "Admin-pass33",
                "KEYSTORE_PASSWORD": "Keystore-pass44"}


def plan_on(step, node, inv: Inventory | None = None, secrets: dict | None = None, mode=None, others=None,
            memo: dict | None = None):
    """(the plan, the context) of a step on a MemoryNode (tests/memnode.py), as a run of `mode` (patch) makes it."""
    from tasks.engine.mode import Mode
    from tests.memnode import node_context
    ctx = node_context(node, inv or inventory(), Secrets(dict(STEP_SECRETS if secrets is None else secrets)),
                       mode or Mode.PATCH, others, memo)
    return step.plan(ctx), ctx


def patch_on(step, node, inv: Inventory | None = None, secrets: dict | None = None, others=None,
             memo: dict | None = None):
    """Plan a step on a MemoryNode and apply the plan as patch does (step.apply); the plan."""
    plan, ctx = plan_on(step, node, inv, secrets, None, others, memo)
    if plan.refusals:
        raise AssertionError(f"patch would refuse: {plan.refusals}")
    if plan:
        step.apply(ctx, plan)
    return plan


def whats(plan) -> list[tuple[str, str]]:
    """(file, what) of each item of a plan, in order."""
    return [(i.file, i.what) for i in plan.items]
