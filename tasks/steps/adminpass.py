"""set-admin-password: no more admin/admin (CONTRACT §8).

- user-mgt.xml `Realm/Configuration/AdminUser/Password` = ADMIN_PASSWORD (Carbon creates the admin
  user from it at first start; a value Secure Vault holds is left to secure-vault).
- On the manager, where the user store (WSO2_USER_DB on [database]) is reachable the way
  create-dbs reaches the server ([database].admin_user, MYSQL_ADMIN_PASSWORD, through the db
  host's SSH), the admin user's row in UM_USER: a password that is still `admin` (salted SHA-256,
  base64, as Carbon 4.4.1's JDBCUserStoreManager stores it: digest of password + salt) is drift,
  and patch sets it to ADMIN_PASSWORD with a fresh salt. A user store the server has not filled
  yet, or one that cannot be reached, is a note.
"""
from __future__ import annotations

import base64
import hashlib
import re
import secrets as pysecrets
from dataclasses import dataclass

from ..config import Host, Inventory
from ..formats import usermgtxml
from ..remote.mysql import DbError, execute, query
from ..engine.ops import Op
from ..engine.plan import Item, Plan
from ..rules import ADMIN_PASSWORD, USER_MGT, is_manager
from ..secrets import Secrets
from .base import XmlEdits, XmlStep
from ..engine.context import StepContext, StepError
from .protect import current, elements, is_reference, set_password

SECRET = "ADMIN_PASSWORD"
SHIPPED = "admin"
#: Carbon's default PasswordJavaRegEx for the JDBC user store
#: (user-mgt.xml): 5 to 30 non-space characters
PASSWORD_RULE = re.compile(r"\S{5,30}\Z")
SUPER_TENANT = -1234


def check_password(value: str) -> None:
    """An ADMIN_PASSWORD Carbon accepts, and not the shipped one (never printed)."""
    if value == SHIPPED:
        raise StepError(f"{SECRET} is the shipped password 'admin'; choose another")
    if not PASSWORD_RULE.match(value):
        raise StepError(f"{SECRET} must be 5 to 30 characters without spaces (Carbon's PasswordJavaRegEx)")


def carbon_hash(password: str, salt: str | None) -> str:
    """What JDBCUserStoreManager.preparePassword stores for SHA-256: base64(sha256(password + salt))."""
    return base64.b64encode(hashlib.sha256((password + (salt or "")).encode("utf-8")).digest()).decode()


def new_salt() -> str:
    """A salt as Carbon makes one: 16 random bytes, base64."""
    return base64.b64encode(pysecrets.token_bytes(16)).decode()


def _admin_planner(e: XmlEdits, host: Host, inv: Inventory, secrets: Secrets) -> None:
    el = elements(e, ADMIN_PASSWORD)[0]
    if not is_reference(el, ADMIN_PASSWORD) and current(el, ADMIN_PASSWORD).strip() == SHIPPED:
        e.advise(ADMIN_PASSWORD.path, "not the shipped 'admin'", SHIPPED)
    value = secrets.get(SECRET)
    if value:
        check_password(value)
        set_password(e, ADMIN_PASSWORD, value)


class SetAdminPassword(XmlStep):
    name = "set-admin-password"
    phase = "nodes"
    switch = "admin_password"
    secrets = (SECRET,)
    help = ("user-mgt.xml AdminUser/Password = ADMIN_PASSWORD; the admin row of WSO2_USER_DB no longer 'admin' "
            "([security].admin_password)")
    files = ((USER_MGT, _admin_planner),)

    def preflight(self, inv: Inventory, secrets: Secrets) -> None:
        check_password(secrets.require(SECRET))

    def plan(self, ctx: StepContext) -> Plan:
        plan = super().plan(ctx)
        if is_manager(ctx.host):
            self._user_store(ctx, plan)
        return plan

    def _user_store(self, ctx: StepContext, plan: Plan) -> None:
        from ..remote.mysql import route_for  # the database steps' route (tunnel through the db host)
        password = ctx.secrets.get("MYSQL_ADMIN_PASSWORD")
        if not password:
            plan.notes.append("user store not checked: MYSQL_ADMIN_PASSWORD is not set")
            return
        d = ctx.inv.database
        node = ctx.inv.hosts.get(d.host) if d.host else None
        dbctx = ctx.other(node) if node else ctx
        user = usermgtxml.read(ctx.xml(USER_MGT)).admin  # the active AdminUser (a commented-out one is no user)
        try:
            conn = route_for(dbctx.inv, dbctx.host, dbctx.remote).connect(d.admin_user, password)
        except DbError as e:
            plan.notes.append(f"user store not checked: {e}")
            return
        try:
            conn.select_db(d.user_db)
            rows = query(conn, "SELECT UM_USER_PASSWORD, UM_SALT_VALUE FROM UM_USER WHERE UM_USER_NAME=%s "
                               "AND UM_TENANT_ID=%s", (user, SUPER_TENANT))
        except Exception as e:  # pymysql: no such database or table (the server has not started yet)
            conn.close()
            plan.notes.append(f"user store not checked: {d.user_db}.UM_USER not readable "
                              f"({type(e).__name__}; Carbon creates it at first start)")
            return
        conn.close()
        if not rows:
            plan.notes.append(f"user store: no user {user!r} yet (Carbon adds it from user-mgt.xml at first start)")
            return
        stored, salt = rows[0][0], rows[0][1]
        if stored in (carbon_hash(SHIPPED, salt), SHIPPED):
            item = Item(f"{d.user_db}.UM_USER", f"password of {user!r}", "not the shipped 'admin'", SHIPPED)
            plan.items.append(item)
            plan.advisories.append(item)
            plan.actions.append(SetUserPassword(d.user_db, user, node.name if node else None))


@dataclass(frozen=True)
class SetUserPassword(Op):
    """The admin's UM_USER row: ADMIN_PASSWORD with a fresh salt, hashed as Carbon's JDBC user store
    does, reached as create-dbs reaches the server (the admin user, through `via`: the
    [database].host entry, or this node)."""

    user_db: str
    user: str
    via: str | None = None

    def describe(self) -> str:
        return f"UPDATE {self.user_db}.UM_USER: the password of {self.user!r} (salted SHA-256)"

    def perform(self, ctx: StepContext) -> None:
        from ..remote.dbundo import dump, user_row_undo
        from ..remote.mysql import route_for
        dbctx = ctx.other(ctx.inv.hosts[self.via]) if self.via else ctx
        d, user = dbctx.inv.database, self.user
        value = dbctx.secrets.require(SECRET)
        check_password(value)
        salt = new_salt()
        conn = route_for(dbctx.inv, dbctx.host, dbctx.remote).connect(d.admin_user,
                                                                      dbctx.secrets.require("MYSQL_ADMIN_PASSWORD"))
        try:
            undo = user_row_undo(conn, self.user_db, user)
            if undo:  # the row as it is, kept with the run's backups: rollback puts it back
                ctx.remote.keep_sql(SetAdminPassword.name, dump(undo), via=self.via)
            conn.select_db(self.user_db)
            execute(conn, "UPDATE UM_USER SET UM_USER_PASSWORD=%s, UM_SALT_VALUE=%s, UM_CHANGED_TIME=NOW() "
                          "WHERE UM_USER_NAME=%s AND UM_TENANT_ID=%s",
                    (carbon_hash(value, salt), salt, user, SUPER_TENANT), what=f"setting the password of {user!r}")
        finally:
            conn.close()


__all__ = ["SetAdminPassword", "carbon_hash", "check_password"]
