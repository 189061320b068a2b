"""Command-line glue: the `-H` executor and the task wrapper shared by every step.

Fabric would turn `-H manager,workers` into one Connection per word and DNS-resolve
it; `TargetsExecutor` (selected in fabric.json) keeps the words and hands them to
our resolver instead, so targets are hosts.toml names and groups only.
"""
from __future__ import annotations

import sys

from fabric.executor import Executor
from invoke import Exit

from .config import ConfigError, load_inventory
from .report import Reporter
from .runner import Session, run_step
from .secrets import load_secrets
from .steps import Step
from .targets import resolve

#: the raw -H value of this fab invocation
CLI_TARGETS: dict[str, str | None] = {"hosts": None}


class TargetsExecutor(Executor):
    """Keeps -H for our own resolver instead of making one Connection per word."""

    def expand_calls(self, calls, apply_hosts=True):
        if apply_hosts:
            CLI_TARGETS["hosts"] = self.core[0].args.hosts.value or None
        return super().expand_calls(calls, apply_hosts=False)


def mode_of(verify: bool, dry_run: bool) -> str:
    if verify and dry_run:
        raise Exit("error: --verify and --dry-run exclude each other", code=1)
    return "verify" if verify else "dry-run" if dry_run else "patch"


def run_single_step(step: Step, verify: bool, dry_run: bool, as_json: bool) -> None:
    """Body of every step task: load hosts.toml, resolve targets, run, report, exit."""
    mode = mode_of(verify, dry_run)
    reporter = Reporter(mode, as_json)
    try:
        inv = load_inventory()
        hosts = resolve(inv, CLI_TARGETS["hosts"], step.default_targets(inv))
    except ConfigError as e:
        reporter.error(str(e))
        raise Exit(code=1)
    if not hosts:
        reporter.error(f"{step.name}: no targets (no host in hosts.toml has the role it runs on; use -H)")
        raise Exit(code=1)
    session = Session(inv, load_secrets(inv.base_dir), mode)
    try:
        run_step(step, hosts, session, reporter)
    finally:
        session.close()
    code = reporter.finish()
    if code:
        raise Exit(code=code)


def step_task(step: Step):
    """An Invoke task for one step, with --verify, --dry-run and --json."""
    from invoke import task

    def body(c, verify=False, dry_run=False, json=False):
        run_single_step(step, verify, dry_run, json)

    body.__doc__ = step.help
    body.__name__ = step.name.replace("-", "_")
    return task(name=step.name, help={
        "verify": "read-only drift check; exit 2 on drift",
        "dry-run": "print the unified diff and commands patch would run; change nothing",
        "json": "one JSON document on stdout",
    })(body)
