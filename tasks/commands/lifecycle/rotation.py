"""rotate-passwords (issue 23): a new WSO2_DB_PASSWORD and SVN_PASSWORD in .env brought to a running
cluster without a request lost through the balancer and without a node losing database access.

A running Carbon keeps the passwords it read at its start: its pools open new database connections
with the old one until it restarts. So the order is what matters, and each phase runs only when the
one before succeeded on every host:

1. create-dbs on the database host: each application account accepts the new password *and* its
   current one (MariaDB 10.4+ / MySQL 8.0.14+ hold two credentials; see steps/databases.py);
2. the node steps that write these passwords (derived: the node steps that declare
   WSO2_DB_PASSWORD or SVN_PASSWORD among their secrets: enable-depsync,
   configure-datasources and, with [security].vault, secure-vault) on every ESB node: files
   change, running servers go on with what they read;
3. create-svn-repo: the SVN server's passwd gets SVN_PASSWORD. svnserve holds one password per user,
   so until a node restarts its DepSync cannot reach the repository (it retries at its next turn;
   DepSync serves no request): the restarts follow at once;
4. rolling-restart --needed: each running node whose files changed, one at a
   time, workers out of the balancer;
5. create-dbs retires the old password, once no running node needs a restart (else it
   stays accepted, the row says which node still uses it, exit 1; run
   rotate-passwords again when that node is back).

A stopped node simply starts later with the new files. A rotation that stopped is finished by
running it again: every phase is idempotent.
"""
from __future__ import annotations

from ...config import ConfigError, Host, Inventory
from ...engine.mode import Mode
from ...engine.report import Reporter, Status, StepResult
from ...engine.runner import preflight
from ...engine.step import host_work
from ...engine.runner import Session, run_hosts
from ...rules import db_hosts
from ...steps import RETIRE_OLD, STEPS, by_name
from ...probes.restart import restart_needed
from .roll import rolling_restart

#: the secrets a rotation brings to the cluster
ROTATED = ("WSO2_DB_PASSWORD", "SVN_PASSWORD")


def node_steps() -> list:
    """The node steps that write a rotated password into a node's files, in guide order."""
    return [s for s in STEPS if s.phase == "nodes" and set(s.secrets) & set(ROTATED)]


def svn_hosts(inv: Inventory) -> list[Host]:
    return by_name("create-svn-repo").default_targets(inv)


def rotate_passwords(inv: Inventory, session: Session, reporter: Reporter, spec: str | None) -> None:
    """The five phases above, in order, on the whole cluster."""
    if spec is not None:
        raise ConfigError("rotate-passwords runs on the whole cluster (every node holds these passwords): "
                          "no -H")
    dry = session.mode is Mode.DRY_RUN
    dbs, svns, nodes = db_hosts(inv), svn_hosts(inv), inv.esb_nodes
    phases = [("database: the new password accepted beside the old one", host_work(dbs, [by_name("create-dbs")], inv)),
              ("node files", host_work(nodes, node_steps(), inv)),
              ("svn server", host_work(svns, [by_name("create-svn-repo")], inv))]
    preflight([w for _, work in phases for w in work], session)
    for title, work in phases:
        reporter.note(f"== {title}: {', '.join(h.name for h, _ in work) or 'no targets'}")
        if failed(run_hosts(work, session, reporter)) and not dry:
            return stop(reporter, title)
    reporter.note("== restarts: the running nodes whose files changed, one at a time")
    if dry:
        reporter.note("(dry-run) then: fab rolling-restart --needed, for the nodes whose files change above; then "
                      "create-dbs retires the old database password")
        return
    if not rolling_restart(inv, nodes, session, reporter, needed=True):
        return stop(reporter, "restarts")
    reporter.note("== database: the old password retired")
    still = restart_needed(session, nodes, STEPS)
    if still:
        for h in dbs:
            reporter.emit(StepResult(h.name, "create-dbs", Status.FAILED,
                                     message=f"the old password stays accepted: {', '.join(still)} still run "
                                             f"with it (restart needed); run rotate-passwords again after"))
        return
    run_hosts(host_work(dbs, [RETIRE_OLD], inv), session, reporter)


def failed(results: list[StepResult]) -> bool:
    return any(r.status == Status.FAILED for r in results)


def stop(reporter: Reporter, phase: str) -> None:
    reporter.footer.append(f"rotate-passwords stopped at {phase}: the old database password is still accepted, "
                           f"so running servers keep their access; fix the cause, then run it again")
