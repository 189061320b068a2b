"""create-svn-repo: the DepSync Subversion repository (guide: Configurar
SVN-Based Deployment Synchronizer, 3-5).

`svnadmin create` only when the repository is absent (an existing one is never
recreated); `conf/svnserve.conf` gets anon-access = none, auth-access = write and
password-db = passwd by editing the shipped commented INI in place (comments kept);
`conf/passwd` gets `<svn.user> = <SVN_PASSWORD>` under [users], mode 0600, written over
SFTP (the password is never on a command line).  `--verify` also makes a real round
trip on the svn host: `svn info` on [svn].url with the user and the password fed on
stdin must answer, and an anonymous `svn info` must be refused.
"""
from __future__ import annotations

import posixpath
import re
import shlex
import stat as statmod
from dataclasses import dataclass

from ..config import Host, Inventory
from ..engine.ops import Chmod, Command, Op, apply_plan
from ..engine.plan import FileChange, Item, Plan
from .base import Step
from ..engine.context import StepContext, StepError

SERVE_KEYS = (("anon-access", "none"), ("auth-access", "write"), ("password-db", "passwd"))
PASSWD_MODE = 0o600


# ----------------------------------------------------------------
# pure INI editing (svn config format)

def _section_bounds(lines: list[str], section: str) -> tuple[int | None, int]:
    """(index of the `[section]` header or None, index where the section ends)."""
    start = next((i for i, ln in enumerate(lines) if re.match(rf"\[{re.escape(section)}\]\s*$", ln, re.I)), None)
    if start is None:
        return None, len(lines)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    return start, end


def _value(line: str) -> str:
    return re.split(r"[:=]", line, maxsplit=1)[1].strip()


def _eol(line: str, default: str) -> str:
    return line[len(line.rstrip("\r\n")):] or default


def ini_values(data: bytes | None, section: str) -> list[str]:
    """Every active value in a section (to mask the passwd file's passwords in diffs)."""
    lines = (data or b"").decode("utf-8", "surrogateescape").splitlines(keepends=True)
    start, end = _section_bounds(lines, section)
    if start is None:
        return []
    return [_value(ln) for ln in lines[start + 1:end] if re.match(r"[^#;\s\[][^:=]*[:=]", ln)]


def set_ini_keys(data: bytes, section: str, wanted, label: str, secret: bool = False,
                 ignore_case: bool = True) -> tuple[bytes, list[Item]]:
    """Pure: make `key = value` active under [section] for each (key, value) in wanted.

    An active line with another value is rewritten; otherwise a commented example
    (`# key = ...`) is uncommented in place; otherwise the line goes after the
    section's last line.  Keys start at column 0 (svn reads an indented line as a
    continuation).  Everything else, comments and line endings included, is kept."""
    text = data.decode("utf-8", "surrogateescape")
    lines = text.splitlines(keepends=True)
    eol = "\r\n" if "\r\n" in text else "\n"
    flags = re.I if ignore_case else 0
    items: list[Item] = []
    for key, value in wanted:
        start, end = _section_bounds(lines, section)
        if start is None:
            if lines and not lines[-1].endswith(("\n", "\r")):
                lines[-1] += eol
            if lines and lines[-1].strip():
                lines.append(eol)
            lines.append(f"[{section}]{eol}")
            start, end = len(lines) - 1, len(lines)
        k = re.escape(key)
        line = f"{key} = {value}"
        what = f"[{section}] {key}"
        active = [i for i in range(start + 1, end) if re.match(rf"{k}\s*[:=]", lines[i], flags)]
        if active:
            if any(_value(lines[i]) != value for i in active):
                items.append(Item(label, what, value, _value(lines[active[-1]]), secret))
                for i in active:
                    lines[i] = line + _eol(lines[i], eol)
            continue
        items.append(Item(label, what, value, None, secret))
        commented = next((i for i in range(start + 1, end) if re.match(rf"#+\s*{k}\s*[:=]", lines[i], flags)), None)
        if commented is not None:
            lines[commented] = line + _eol(lines[commented], eol)
            continue
        at = max([i for i in range(start, end) if lines[i].strip()], default=start)
        if not lines[at].endswith(("\n", "\r")):
            lines[at] += eol
        lines.insert(at + 1, line + eol)
    return "".join(lines).encode("utf-8", "surrogateescape"), items


def check_password(password: str) -> None:
    """Refuse a password that svnserve's passwd format cannot hold (the message never shows it)."""
    if password != password.strip() or "\n" in password or "\r" in password or "%(" in password:
        raise StepError("SVN_PASSWORD cannot be stored in svnserve's passwd file: it has a line break, "
                        "leading or trailing blanks, or '%(' (svn config expands %(name)s)")


# ---------------------------------------------------------------- remote planning

def plan_config(ctx: StepContext, repo: str, user: str, password: str) -> Plan:
    """svnserve.conf and passwd of an existing repository: file changes, and a chmod when only the mode is off."""
    plan = Plan()
    conf, pwfile = f"{repo}/conf/svnserve.conf", f"{repo}/conf/passwd"
    old = ctx.remote.read(conf)
    new, items = set_ini_keys(old or b"", "general", SERVE_KEYS, conf)
    if items:
        plan.items += items
        plan.files.append(FileChange(conf, old, new))
    old = ctx.remote.read(pwfile)
    new, items = set_ini_keys(old or b"", "users", [(user, password)], pwfile, secret=True, ignore_case=False)
    plan.items += items
    st = ctx.remote.stat(pwfile) if old is not None else None
    mode = statmod.S_IMODE(st.mode) if st else None
    if mode is not None and mode != PASSWD_MODE:
        plan.items.append(Item(pwfile, "mode", f"{PASSWD_MODE:04o}", f"{mode:04o}"))
    if items:
        plan.files.append(FileChange(pwfile, old, new, mode=PASSWD_MODE,
                                     secret_lines=(password, *ini_values(old, "users"))))
    elif mode is not None and mode != PASSWD_MODE:
        plan.actions.append(Chmod(pwfile, PASSWD_MODE))
    return plan


def check_parent(ctx: StepContext, repo: str) -> bool:
    """The repository's parent must be an existing directory the login user can write, or, with
    sudo, any existing directory: True when `svnadmin create` must go through sudo."""
    parent = posixpath.dirname(repo)
    st = ctx.remote.stat(parent)
    where = f"[svn].repo_path {repo}: parent directory {parent}"
    if st is None:
        raise StepError(f"{where} does not exist on {ctx.host.name} (create it, writable by {ctx.host.user})")
    if not st.is_dir:
        raise StepError(f"{where} on {ctx.host.name} is not a directory")
    if ctx.remote.run(f"test -w {shlex.quote(parent)}", check=False)[0] == 0:
        return False
    if ctx.remote.can_sudo:
        return True
    raise StepError(f"{where} is not writable by {ctx.host.user} on {ctx.host.name} (make it so, or set "
                    f"sudo = true and SUDO_PASSWORD)")


def round_trip_script(url: str, user: str) -> str:
    """Shell: `svn info` as the user (password on stdin), then anonymously; prints `user|anon <exit> <last error>`."""
    q = shlex.quote
    opts = '--config-dir "$d" --non-interactive --no-auth-cache'
    return ("d=$(mktemp -d) || exit 97; trap 'rm -rf \"$d\"' EXIT; "
            f"svn info {opts} --username {q(user)} --password-from-stdin {q(url)} >/dev/null 2>\"$d/err\"; "
            "echo \"user $? $(tail -n 1 \"$d/err\")\"; "
            f"svn info {opts} {q(url)} </dev/null >/dev/null 2>\"$d/err\"; "
            "echo \"anon $? $(tail -n 1 \"$d/err\")\"")


def round_trip_items(out: str, url: str, user: str) -> list[Item]:
    """Pure: drift items from round_trip_script's output (the user must get in, an anonymous reader must not)."""
    res = {}
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) >= 2 and parts[0] in ("user", "anon") and parts[1].isdigit():
            res[parts[0]] = (int(parts[1]), parts[2].strip() if len(parts) > 2 else "")
    if "user" not in res or "anon" not in res:
        raise StepError(f"the svn round trip printed nothing usable: {out.strip()[-200:] or '(nothing)'}")
    if res["user"][0] == 127:
        raise StepError("the svn client is not installed on the svn host (--verify runs `svn info` there)")
    items = []
    code, err = res["user"]
    if code != 0:
        items.append(Item(url, f"svn info as {user}", "answers", err or f"exit {code}"))
    elif res["anon"][0] == 0:
        items.append(Item(url, "anonymous svn info", "refused", "answers"))
    return items


class CreateSvnRepo(Step):
    name = "create-svn-repo"
    phase = "svn"
    secrets = ("SVN_PASSWORD",)
    help = ("svnadmin create, svnserve.conf (anon-access none, auth-access write, password-db), passwd user "
            "(guide: Configurar SVN-Based Deployment Synchronizer, 3-5)")
    esb_only = False

    def default_targets(self, inv: Inventory) -> list[Host]:
        """The `svn` group, else [svn].host."""
        hosts = inv.by_role("svn")
        if not hosts and inv.svn.host:
            hosts = [inv.hosts[inv.svn.host]]
        return hosts

    def applies_to(self, host: Host, inv: Inventory) -> str | None:
        if host.role == "svn" or host.name == inv.svn.host:
            return None
        return f"not the svn host (role svn or [svn].host = {inv.svn.host or 'unset'})"

    def plan(self, ctx: StepContext) -> Plan:
        svn = ctx.inv.svn
        repo, user = svn.repo_path, svn.user
        password = ctx.secrets.require("SVN_PASSWORD")
        check_password(password)
        st = ctx.remote.stat(repo)
        if st is None:
            return self.plan_new(ctx, repo, user, password)
        if not st.is_dir or ctx.remote.stat(f"{repo}/format") is None:
            raise StepError(f"{repo} exists on {ctx.host.name} but is not a Subversion repository "
                            "(no format file); refusing to touch it")
        plan = plan_config(ctx, repo, user, password)
        if ctx.checks.probes:
            if svn.url:
                _, out, _ = ctx.remote.run(f"sh -c {shlex.quote(round_trip_script(svn.url, user))}",
                                           stdin=(password + "\n").encode(), check=False)
                plan.items += round_trip_items(out, svn.url, user)
            else:
                plan.notes.append("[svn].url is not set: the svn info round trip was skipped")
        return plan

    def plan_new(self, ctx: StepContext, repo: str, user: str, password: str) -> Plan:
        """An absent repository: create it, then configure the files svnadmin made."""
        as_root = check_parent(ctx, repo)
        conf, pwfile = f"{repo}/conf/svnserve.conf", f"{repo}/conf/passwd"
        items = [Item(repo, "repository", "present", None)]
        items += [Item(conf, f"[general] {k}", v, None) for k, v in SERVE_KEYS]
        items.append(Item(pwfile, f"[users] {user}", password, None, secret=True))
        create = Command(("svnadmin", "create", repo), f"svnadmin create {repo} failed on {ctx.host.name}")
        if as_root:  # the login may not write the parent: root makes it, for the parent folder's owner
            q, parent = shlex.quote, posixpath.dirname(repo)
            create = Command(("sh", "-c", f"svnadmin create {q(repo)} && chown -R --reference={q(parent)} {q(repo)}"),
                             create.failure, sudo=True)
        return Plan(items=items, actions=[create, ConfigureRepo(repo, user)])


@dataclass(frozen=True)
class ConfigureRepo(Op):
    """svnserve.conf and passwd of the repository svnadmin just made, planned then (they exist only
    now) and written over SFTP like any file (atomic, backed up)."""

    repo: str
    user: str

    def describe(self) -> str:
        keys = ", ".join(f"{k} = {v}" for k, v in SERVE_KEYS)
        return (f"edit {self.repo}/conf/svnserve.conf ({keys}) and {self.repo}/conf/passwd "
                f"([users] {self.user}, mode 0600) over SFTP")

    def perform(self, ctx: StepContext) -> None:
        apply_plan(ctx, plan_config(ctx, self.repo, self.user, ctx.secrets.require("SVN_PASSWORD")))


__all__ = ["CreateSvnRepo", "set_ini_keys", "ini_values", "round_trip_items", "round_trip_script",
           "check_password", "SERVE_KEYS"]
