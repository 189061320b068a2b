"""rotate-passwords (a new database / SVN password to the running cluster, commands/lifecycle/rotation.py)
and rotate-keystore (node keys renewed: the registry's rotate_keystore_step, steps/keystore.py RotateKeystore,
then what to restart)."""
from __future__ import annotations

from ...engine.mode import Mode
from ..command import ESB, Command, Run, dry_run_or, flag
from .lifecycle import DRY_RUN


def rotate_passwords(run: Run) -> None:
    from ..lifecycle.rotation import rotate_passwords
    rotate_passwords(run.inv, run.session, run.reporter, run.cli_hosts)


def rotate_keystore(run: Run) -> None:
    """RotateKeystore on the ESB targets (--force: keys not due too); after a patch, what to restart."""
    from ...engine.runner import run_step
    from ...steps import rotate_keystore_step
    from ..rollout import next_after_patch
    step = rotate_keystore_step(force=run.args.force)
    hosts = run.targets()
    run_step(step, hosts, run.session, run.reporter)
    if run.session.mode is Mode.PATCH:
        run.reporter.footer += next_after_patch(run.session, run.inv.esb_nodes)


COMMANDS = [
    Command("rotate-passwords",
            "bring a new WSO2_DB_PASSWORD / SVN_PASSWORD (.env) to the running cluster: the database accepts both, "
            "node\n    files, svn, rolling-restart --needed, then the old database password retired; no request lost",
            (DRY_RUN, flag("json"), flag("verbose"), flag("break_lock")),
            dry_run_or(Mode.PATCH), rotate_passwords, group="lifecycle", order=70,
            loads=("lifecycle.rotation",)),
    Command("rotate-keystore",
            "renew node keys that expire within 30 days (--force: now): Secure Vault values re-encrypted, every "
            "trust\n    store updated; then rolling-restart --needed",
            (DRY_RUN, flag("json"), flag("force", help="renew the key even when it is not due (one to replace now)"),
             flag("verbose"), flag("diff"), flag("break_lock")),
            dry_run_or(Mode.PATCH), rotate_keystore, group="lifecycle", order=80, targets=ESB,
            loads=("rollout",)),
]
