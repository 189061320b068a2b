"""What to run next: the step that fixes each drift item, and the shortest command list that brings
the cluster in sync (pure, over verify's results).

A step's own drift is fixed by that step on that host; a cluster finding names the file of the node
that should change, and the step that writes that part of it fixes it (axis2.xml: patch-axis2;
carbon.xml's DeploymentSynchronizer: enable-depsync, its HostName and Offset: set-hostnames;
registry.xml: mount-registry; master-datasources.xml and user-mgt.xml: configure-datasources). The
command list groups hosts by step, steps in setup's phase order, and puts the hosts that need the
same steps of a phase on one command line (one run).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from ..engine.plan import Item
from ..engine.results import Status
from ..rules import AXIS2, CARBON, MASTER, REGISTRY, USER_MGT
from ..engine.step import PHASES


def fixing_step(item: Item) -> str | None:
    """The step that writes what a cluster finding is about, or None."""
    if item.file == AXIS2:
        return "patch-axis2"
    if item.file == CARBON:
        return "enable-depsync" if "DeploymentSynchronizer" in item.what else "set-hostnames"
    if item.file == REGISTRY:
        return "mount-registry"
    if item.file in (MASTER, USER_MGT):
        return "configure-datasources"
    return None


def with_fix(host: str, item: Item) -> Item:
    """The item with the command that fixes it (`fab -H host step`), when a step does."""
    step = fixing_step(item)
    return replace(item, fix=f"fab -H {host} {step}") if step else item


#: a node that needs more than this many of its node steps gets its role's setup task instead (it
#: runs them all, those in sync doing nothing): a scale out's new worker is `setup-worker`
SETUP_BEYOND = 2
SETUP_TASK = {"manager": "setup-manager", "worker": "setup-worker"}


def command_list(results: Iterable, steps: list, hosts_order: list[str],
                 roles: dict[str, str] | None = None) -> list[str]:
    """The fab command lines, in order, that bring every drifting row in sync: (host -> steps) from
    each drift row (its own step) and each cluster item that names its fix; per setup phase
    (certificates, databases, svn, nodes, lb), the hosts that need the same steps share one command
    line (one run, CONTRACT §11). `roles` (host -> role): an ESB node needing more than
    SETUP_BEYOND node steps is given its setup task, which covers them. A drift row whose patch would
    refuse is never recommended: the command its items name instead is (create-keystore on a node
    whose server has run: rotate-keystore)."""
    by_name = {s.name: s for s in steps}
    need: dict[str, set[str]] = {}
    instead: list[str] = []  # a step whose patch would refuse: the command its items name instead (never it)
    for r in results:
        if r.status != Status.DRIFT:
            continue
        other = [i.fix for i in r.items if i.fix and i.fix.rsplit(" ", 1)[1] not in by_name]
        if other and any(n.startswith("patch would refuse: ") for n in r.notes):
            instead += [f for f in other if f not in instead]
            continue
        if r.step in by_name:
            need.setdefault(r.host, set()).add(r.step)
        for i in r.items:
            if i.fix and i.fix.rsplit(" ", 1)[1] in by_name:
                need.setdefault(r.host, set()).add(i.fix.rsplit(" ", 1)[1])
    order = {s.name: n for n, s in enumerate(steps)}
    lines = []
    for phase in PHASES:
        groups: dict[tuple[str, ...], list[str]] = {}
        for host in [h for h in hosts_order if h in need]:
            mine = tuple(sorted((s for s in need[host] if by_name[s].phase == phase),
                                key=lambda s: order.get(s, len(order))))
            role = (roles or {}).get(host)
            if phase == "nodes" and role in SETUP_TASK and len(mine) > SETUP_BEYOND:
                mine = (SETUP_TASK[role],)
            if mine:
                groups.setdefault(mine, []).append(host)
        lines += [f"fab -H {','.join(hosts)} {' '.join(names)}" for names, hosts in groups.items()]
    return lines + instead
