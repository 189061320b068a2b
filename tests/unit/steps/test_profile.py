"""set-worker-profile on the product's own start scripts (4.9.0 and 5.0.0): one token changes, nothing else."""
from __future__ import annotations

import difflib

import pytest

from tasks.engine.context import StepError
from tasks.steps.profile import profile_edit
from tests.lab import REPO, product_fixture
from tasks.rules import START_SCRIPT
from tasks.steps.profile import SetWorkerProfile
from tests.memnode import product_node
from tests.unit.helpers import inventory, patch_on, plan_on, whats

SCRIPTS = [product_fixture() / "bin" / "wso2server.sh",
           REPO.parent / "shared" / "fixtures" / "wso2esb-5.0.0" / "bin" / "wso2server.sh",
           REPO / "sample" / "wso2esb-4.9.0" / "bin" / "wso2server.sh"]


@pytest.mark.parametrize("script", [s for s in SCRIPTS if s.exists()], ids=lambda p: str(p.parent.parent.name))
def test_a_worker_gets_the_worker_profile_and_only_that_token_changes(script):
    data = script.read_bytes()
    new, had = profile_edit(data, worker=True)
    assert had == "false"
    diff = [ln for ln in difflib.unified_diff(data.decode().splitlines(), new.decode().splitlines(), lineterm="", n=0)
            if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    assert diff == ["-    -DworkerNode=false \\", "+    -DworkerNode=true \\"], diff
    assert profile_edit(new, worker=False)[0] == data  # the manager: back to false, byte for byte
    assert profile_edit(data, worker=False) == (data, "false")  # the manager as shipped: nothing to do


def test_crlf_and_a_script_without_the_line_or_with_two():
    crlf = b"#!/bin/sh\r\njava \\\r\n    -DworkerNode=false \\\r\n    Main\r\n"
    assert profile_edit(crlf, True)[0] == crlf.replace(b"=false", b"=true")
    for bad in (b"#!/bin/sh\njava Main\n", b"-DworkerNode=false\n-DworkerNode=true\n"):
        with pytest.raises(StepError, match="expected one '-DworkerNode=...' line"):
            profile_edit(bad, True)


# ---------------------------------------------------------------- the step on a node in memory (tests/memnode.py)

def test_set_worker_profile_plans_a_worker_only_and_converges_keeping_the_scripts_mode():
    inv = inventory()
    mgr = product_node(inv.hosts["esb-mgr"])
    assert not plan_on(SetWorkerProfile(), mgr, inv)[0]  # the shipped script starts a manager already
    node = product_node(inv.hosts["esb-w1"])
    plan, _ = plan_on(SetWorkerProfile(), node, inv)
    assert whats(plan) == [(START_SCRIPT, "-DworkerNode")] and plan.items[0].wanted == "true"
    patch_on(SetWorkerProfile(), node, inv)
    path = plan.files[0].path
    assert b"-DworkerNode=true" in node.data(path) and node.stat(path).mode & 0o7777 == 0o755
    assert not plan_on(SetWorkerProfile(), node, inv)[0]


def test_set_worker_profile_without_the_script_names_the_missing_file():
    inv = inventory()
    node = product_node(inv.hosts["esb-w1"])
    node.remove(f"{inv.hosts['esb-w1'].product_home}/{START_SCRIPT}")
    with pytest.raises(StepError, match=f"{START_SCRIPT} is missing on esb-w1"):
        plan_on(SetWorkerProfile(), node, inv)
