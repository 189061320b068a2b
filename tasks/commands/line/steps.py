"""A task per guide step (fab STEP [--verify | --dry-run]), declared from STEPS: the step on its default
targets (or -H), and after a patch that changed a running node, what to run next."""
from __future__ import annotations

from ...engine.step import Step
from ...steps import STEPS
from ..command import Command, Run, Targets, flag, patch_verify_or_dry_run

#: every step task's flags, in this order
STEP_FLAGS = (flag("verify"), flag("dry_run"), flag("json"), flag("verbose"), flag("diff"), flag("break_lock"))


def run_single_step(step: Step, run: Run) -> None:
    """The step on its targets; a patch that changed an ESB node says what to restart."""
    from ...config import ConfigError
    from ...engine.mode import Mode
    from ...engine.results import Status
    from ...engine.runner import run_step
    from ..rollout import next_after_patch
    try:
        hosts = run.targets()
    except ConfigError as e:
        raise ConfigError(f"{step.name}: {e}" if str(e).startswith("no targets") else str(e)) from None
    results = run_step(step, hosts, run.session, run.reporter)
    changed = {r.host for r in results if r.status == Status.CHANGED}
    if run.session.mode is Mode.PATCH and changed:  # running servers read the new files only at a restart
        run.reporter.footer += next_after_patch(run.session, [h for h in hosts if h.name in changed and h.is_esb])


def step_command(step: Step, order: int) -> Command:
    """The task of one step: --verify, --dry-run, --json, --verbose, --diff, --break-lock."""
    return Command(step.name, step.help, STEP_FLAGS, patch_verify_or_dry_run,
                   lambda run: run_single_step(step, run), group="steps", order=order,
                   targets=Targets(step.default_targets), loads=("rollout",), first_letter_flags=True,
                   names_mode=False)


COMMANDS = [step_command(s, i) for i, s in enumerate(STEPS)]
