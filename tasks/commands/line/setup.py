"""setup-manager, setup-worker (the node steps in guide order on the manager / the workers) and
setup-cluster (the whole guide, phase by phase; commands/rollout.py)."""
from __future__ import annotations

from ...steps import STEPS
from ..command import Command, Run, flag, patch_verify_or_dry_run, role
from .steps import STEP_FLAGS


def setup_node(run: Run) -> None:
    """The node steps of the command's role on its targets."""
    from ..rollout import setup_node
    node_role = run.command.name.removeprefix("setup-")
    setup_node(node_role, run.command.name, run.targets(), run.session, run.reporter)


def node_command(node_role: str, group: str, order: int) -> Command:
    """setup-manager / setup-worker: the node steps in guide order on the role's hosts."""
    mine = [s.name for s in STEPS if s.phase == "nodes" and node_role in s.roles]
    return Command(f"setup-{node_role}",
                   f"the node steps in guide order ({mine[0]} ... {mine[-1]}) on the {group} (default: -H {group})",
                   STEP_FLAGS, patch_verify_or_dry_run, setup_node, group="cluster", order=order,
                   targets=role(node_role), loads=("rollout",), brief=True, first_letter_flags=True,
                   names_mode=False)


def setup_cluster(run: Run) -> None:
    """The guide's phases; -H limits the hosts (commands/rollout.py)."""
    from ..rollout import setup_cluster
    setup_cluster(run.inv, run.cli_hosts, run.args.resume, run.session, run.reporter)


COMMANDS = [
    node_command("manager", "manager", 10),
    node_command("worker", "workers", 20),
    Command("setup-cluster",
            "the whole guide: certificates, databases, SVN repository, the manager, then the workers in parallel",
            (flag("verify"), flag("dry_run"), flag("json"),
             flag("resume", help="continue a stopped run from the step where it stopped"),
             flag("verbose"), flag("diff"), flag("break_lock")),
            patch_verify_or_dry_run, setup_cluster, group="cluster", order=30, loads=("rollout",), brief=True,
            first_letter_flags=True, names_mode=False),
]
