"""The database side of `fab rollback`: a run's database undo files (kept by create-dbs and
set-admin-password, tasks/remote/dbundo.py) checked and run through the step's route as the admin
(RestoreSql), and what an undo of the application user's accounts means for the cluster:

- before it runs, rollback says which accounts it puts back and that the nodes using them are
  refused by the database until .env and the nodes agree (undo_notice, in dry-run and patch);
- after it ran, every account it put back is checked against .env's WSO2_DB_PASSWORD
  (AccountsAgainstEnv): one whose password now differs is a failed row (exit 1) naming it and the
  fix, whatever else the rollback did; an account the undo dropped (the run created it) is noted.
"""
from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass

from ...config import Host, Inventory
from ...engine.context import StepContext, StepError
from ...engine.ops import Op
from ...remote import SCRIPT_LIMIT, RemoteError, RemoteHost
from ...remote.dbundo import accounts_in, recreated

def sql_entries(manifest: dict, host: Host, inv: Inventory, run: str) -> list[dict]:
    """The manifest's database undo files, each checked (a plain name of its sql folder, a step that
    keeps one, a known host as its route); a malformed one refuses the whole rollback."""
    entries = manifest.get("sql") or []
    if not isinstance(entries, list):
        raise StepError(f"the manifest of run {run} on {host.name} has a malformed sql list; nothing restored")
    for e in entries:
        ok = (isinstance(e, dict) and isinstance(e.get("name"), str) and "/" not in e["name"]
              and not e["name"].startswith(".") and e.get("step") in ("create-dbs", "set-admin-password")
              and (e.get("via") is None or e.get("via") in inv.hosts)
              and (e.get("db") is None or isinstance(e.get("db"), str))
              and (e.get("sha256") is None or digest(e) is not None))
        if not ok:
            raise StepError(f"the manifest of run {run} on {host.name} names a database undo {e!r:.80} that is "
                            f"not one of its own; refused, nothing restored")
    return entries


@dataclass(frozen=True)
class RestoreSql(Op):
    """A database change put back: the undo kept before it (tasks/remote/dbundo.py), run through
    the route the step used (the admin login; `via`: the host whose route reaches the server).
    Its statements are never shown."""

    path: str
    step: str
    via: str | None = None
    db: str | None = None
    sha256: str | None = None  # the undo's bytes as the run kept them (signed): nothing else runs as the admin

    def describe(self) -> str:
        return f"restore what {self.step} changed in the database, from {posixpath.basename(self.path)}"

    def perform(self, ctx: StepContext) -> None:
        from ...remote.dbundo import statements
        from ...remote.mysql import DbError, execute, route_for
        data = ctx.remote.read(self.path, SCRIPT_LIMIT, "a database undo", cache=False)
        if data is None:
            raise StepError(f"{self.path} is gone; the database is not restored")
        if self.sha256 is None or hashlib.sha256(data).hexdigest() != self.sha256:
            why = "records no digest of it (an older release's run)" if self.sha256 is None else \
                "does not match it (changed on the node since)"
            raise StepError(f"{self.path}: the run's signed manifest {why}; not run as the database admin, the "
                            f"database is not restored")
        dbctx = ctx.other(ctx.inv.hosts[self.via]) if self.via else ctx
        try:
            conn = route_for(dbctx.inv, dbctx.host, dbctx.remote).connect(
                ctx.inv.database.admin_user, dbctx.secrets.require("MYSQL_ADMIN_PASSWORD"))
            try:
                for sql in statements(data):
                    execute(conn, sql, what=f"restoring what {self.step} changed")
            finally:
                conn.close()
        except DbError as e:
            raise StepError(str(e)) from None


def digest(rec: dict) -> str | None:
    """The sha256 a (signed) manifest recorded of a backup's bytes, None where it records none (an
    older release's run)."""
    v = rec.get("sha256")
    return v if isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) else None


def account_changes(remote: RemoteHost, folder: str, manifest: dict) -> tuple[list[str], list[str]]:
    """The accounts the run's create-dbs undo files put back ('user'@'host'), and those of them the undo
    drops (they did not exist before the run); undo files that do not match their signed digest are left
    out (the rollback refuses them anyway)."""
    back: list[str] = []
    dropped: list[str] = []
    for e in manifest.get("sql") or []:
        if not isinstance(e, dict) or e.get("step") != "create-dbs" or not isinstance(e.get("name"), str) \
                or "/" in e["name"]:
            continue
        try:
            data = remote.read(f"{remote.backups_root}/{folder}/sql/{e['name']}", SCRIPT_LIMIT, "a database undo",
                               cache=False)
        except RemoteError:
            continue
        if data is None or digest(e) is None or hashlib.sha256(data).hexdigest() != digest(e):
            continue
        again = recreated(data)
        for user, host in accounts_in(data):
            label = f"'{user}'@'{host}'"
            if label not in back:
                back.append(label)
            if (user, host) not in again and label not in dropped:
                dropped.append(label)
    return back, dropped


def undo_notice(run: str, accounts: list[str]) -> str:
    """What rollback says before it puts accounts back (dry-run and patch)."""
    return (f"this rollback puts the database accounts {', '.join(accounts)} back as they were before run {run}, "
            f"their password included: the nodes that use them are refused by the database until .env "
            f"(WSO2_DB_PASSWORD) and the nodes' files agree with it again")


@dataclass(frozen=True)
class AccountsAgainstEnv(Op):
    """After a rollback put accounts back: each that exists must take .env's WSO2_DB_PASSWORD, else
    the row fails naming it and the fix (the rollback itself stays done)."""

    accounts: tuple[str, ...]
    dropped: tuple[str, ...] = ()
    via: str | None = None

    def describe(self) -> str:
        return "check the accounts put back against .env's WSO2_DB_PASSWORD"

    def perform(self, ctx: StepContext) -> None:
        from ...remote.mysql import DbError, passwords_off, route_for
        d = ctx.inv.database
        hosts = [a.split("@", 1)[1][1:-1] for a in self.accounts if a not in self.dropped]
        if not hosts:
            return
        dbctx = ctx.other(ctx.inv.hosts[self.via]) if self.via else ctx
        password = dbctx.secrets.get("WSO2_DB_PASSWORD")
        try:
            route = route_for(dbctx.inv, dbctx.host, dbctx.remote)
            conn = route.connect(d.admin_user, dbctx.secrets.require("MYSQL_ADMIN_PASSWORD"))
            try:
                off, _ = passwords_off(conn, route, d.user, hosts, password or "") if password else \
                    ([a for a in self.accounts if a not in self.dropped], [])
            finally:
                conn.close()
        except DbError as e:
            raise StepError(f"rolled back, but the accounts put back could not be checked against .env: {e}") \
                from None
        if off:
            raise StepError(f"rolled back, but the database account{'s' if len(off) > 1 else ''} {', '.join(off)} "
                            f"now {'have' if len(off) > 1 else 'has'} the password of before the run, not .env's "
                            f"WSO2_DB_PASSWORD: the nodes using {'them' if len(off) > 1 else 'it'} are refused by "
                            f"the database; fix: put WSO2_DB_PASSWORD back to the old value in .env, then fab "
                            f"rolling-restart (the nodes' files hold the old one again), or fab create-dbs to "
                            f"re-apply .env")
