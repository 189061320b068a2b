"""A command as data (tasks/commands/command.py): its targets (-H, the default, ESB nodes only), its mode
from the flags, a flag's help."""
from __future__ import annotations

import pytest
from invoke import Exit

from tasks.commands.command import (ALL, ESB, FLAG_HELP, MANAGER, Args, Command, Run, always, dry_run_or, flag,
                                    patch_verify_or_dry_run, role)
from tasks.config import ConfigError
from tasks.engine.mode import Mode
from tests.unit.helpers import inventory


def run_of(targets, hosts: str | None = None, name: str = "cmd") -> Run:
    command = Command(name, "help", (), always(Mode.VERIFY), print, group="cluster", targets=targets)
    return Run(command, inventory(), None, None, Args(), hosts)  # type: ignore[arg-type]


@pytest.mark.parametrize("targets, hosts, names", [
    (ALL, None, ["esb-mgr", "esb-w1", "esb-w2", "db1"]),
    (MANAGER, None, ["esb-mgr"]),
    (ESB, None, ["esb-mgr", "esb-w1", "esb-w2"]),
    (role("worker"), None, ["esb-w1", "esb-w2"]),
    (ESB, "canary", ["esb-w1"]),
    (MANAGER, "esb-w2,esb-w1", ["esb-w1", "esb-w2"]),  # -H wins, in hosts.toml order
])
def test_targets_are_minus_h_or_the_commands_default(targets, hosts, names):
    assert [h.name for h in run_of(targets, hosts).targets()] == names


@pytest.mark.parametrize("targets, hosts, said", [
    (ESB, "db1", "db1: not an ESB node (manager or worker)"),
    (ESB, "esb-w1,db1", "db1: not an ESB node"),
    (role("lb"), None, "no targets (no host in hosts.toml has the role this runs on; use -H)"),
    (ALL, "nosuch", "unknown target 'nosuch'"),
    (None, None, "cmd takes no targets of its own"),
])
def test_targets_refused_with_a_clear_error(targets, hosts, said):
    with pytest.raises(ConfigError, match=said.replace("(", r"\(").replace(")", r"\)")):
        run_of(targets, hosts).targets()


def test_mode_from_the_flags():
    assert patch_verify_or_dry_run(Args(verify=False, dry_run=False, json=False)) is Mode.PATCH
    assert patch_verify_or_dry_run(Args(verify=True, dry_run=False, json=False)) is Mode.VERIFY
    assert patch_verify_or_dry_run(Args(verify=False, dry_run=True, json=False)) is Mode.DRY_RUN
    assert dry_run_or(Mode.ROLLBACK)(Args(dry_run=False)) is Mode.ROLLBACK
    assert dry_run_or(Mode.PATCH)(Args(dry_run=True)) is Mode.DRY_RUN
    assert always(Mode.VERIFY)(Args(dry_run=True)) is Mode.VERIFY


def test_verify_and_dry_run_together_are_refused(capsys):
    with pytest.raises(Exit) as e:
        patch_verify_or_dry_run(Args(verify=True, dry_run=True, json=False))
    assert e.value.code == 1 and "--verify and --dry-run exclude each other" in capsys.readouterr().err


def test_a_flags_help_is_the_shared_one_unless_given():
    assert flag("break_lock").help == FLAG_HELP["break-lock"] and flag("dry_run", help="mine").help == "mine"
    assert flag("wait", None, help="s").default is None and flag("file", None, "f", positional=True).positional
    with pytest.raises(KeyError):
        flag("undeclared")
    with pytest.raises(AttributeError):
        Args().missing  # noqa: B018
