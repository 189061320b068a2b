"""Typed plan records (what patch does besides writing a file) and the one applier of every plan.

A record is a frozen dataclass: its fields are all it knows, `describe()` (what dry-run prints after
"# would run:") is computed from them, and `perform(ctx)` does exactly that from the same fields, so
what is shown and what runs cannot drift apart. No record holds a closure, and none sees the plan it
belongs to: what it has to say afterwards (a note, the writes it made on other hosts) it returns as
`Done`, and the applier puts that on the plan. The generic records (a folder, an upload, a removal,
a chmod, a command, nginx's reload) live here; a step's own records live in its module.

`apply_plan` is the only code that applies a plan: the records marked `early` (a new key that
the files then name), then the file changes (atomic, backed up unless the run restores
backups), then the other records in order.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass

from .context import StepContext, StepError
from .plan import Done, Op, Plan

__all__ = ["Done", "Op", "apply_plan", "last_line", "run_or_fail", "MakeDir", "Upload", "Remove", "Chmod", "Command",
           "NginxReload", "nginx_message"]


def apply_plan(ctx: StepContext, plan: Plan, backup: bool = True) -> None:
    """Apply a plan: early records, then every file change (atomic; backed up unless `backup` is
    False: a rollback writes old bytes back), then the other records, in order."""
    def run(op: Op) -> None:
        done = op.perform(ctx)
        if done is not None:
            plan.notes += done.notes
            if done.peers is not None:
                plan.peers = done.peers

    for op in plan.actions:
        if op.early:
            run(op)
    for fc in plan.files:
        ctx.remote.write(fc.path, fc.new, mode=fc.mode, in_place_fallback=fc.in_place_fallback, backup=backup)
    for op in plan.actions:
        if not op.early:
            run(op)


def last_line(text: str | None) -> str:
    """The last non-blank line of a command's output (what a failure message quotes)."""
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def run_or_fail(ctx: StepContext, command: str, failure: str, sudo: bool = True, extra_time: float = 0.0) -> None:
    """Run a command on the host (sudo where configured); a non-zero exit fails the step with
    `failure` and the command's last error line."""
    code, _, err = ctx.remote.run(command, sudo=sudo, check=False, extra_time=extra_time)
    if code != 0:
        raise StepError(f"{failure}: {last_line(err)}")


# ---------------------------------------------------------------- generic records

@dataclass(frozen=True)
class MakeDir(Op):
    """A folder and its parents."""

    path: str

    def describe(self) -> str:
        return f"mkdir -p {self.path}"

    def perform(self, ctx) -> None:
        ctx.remote.mkdir_p(self.path)


@dataclass(frozen=True, eq=False)
class Upload(Op):
    """A local file's bytes to `target` (a new file gets `mode`; an old one is backed up first)."""

    source: str
    target: str
    data: bytes
    sha256: str
    mode: int | None = None

    def describe(self) -> str:
        return f"upload {self.source} -> {self.target} ({len(self.data)} bytes, sha256 {self.sha256})"

    def perform(self, ctx) -> None:
        ctx.remote.write(self.target, self.data, mode=self.mode)


@dataclass(frozen=True)
class Remove(Op):
    """A file removed (backed up first, unless a rollback removes what its run created)."""

    path: str
    backup: bool = True

    def describe(self) -> str:
        return f"remove {self.path}" + (" (backed up first)" if self.backup else "")

    def perform(self, ctx) -> None:
        ctx.remote.remove(self.path, backup=self.backup)


@dataclass(frozen=True)
class Chmod(Op):
    """A file's mode, nothing else (backed up, so rollback restores the old mode)."""

    path: str
    mode: int

    def describe(self) -> str:
        return f"chmod {self.mode:o} {self.path}"

    def perform(self, ctx) -> None:
        ctx.remote.chmod(self.path, self.mode)


@dataclass(frozen=True)
class Command(Op):
    """A command on the host; a non-zero exit fails the step with `failure` and the command's last error line."""

    argv: tuple[str, ...]
    failure: str
    sudo: bool = False

    def describe(self) -> str:
        return " ".join(self.argv)

    def perform(self, ctx) -> None:
        run_or_fail(ctx, " ".join(shlex.quote(a) for a in self.argv), self.failure, sudo=self.sudo)


__all__ = ["Op", "apply_plan", "last_line", "run_or_fail", "MakeDir", "Upload", "Remove", "Chmod", "Command",
           "NginxReload", "nginx_message"]


# ---------------------------------------------------------------- nginx (configure-lb, rollback, drain)

def nginx_message(text: str) -> str:
    """nginx's own complaint: its [emerg] line(s), without the 'configuration file test failed' trailer."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    emerg = [ln for ln in lines if "[emerg]" in ln or "[alert]" in ln or "[crit]" in ln]
    return "; ".join(emerg) if emerg else last_line(text)


@dataclass(frozen=True)
class NginxReload(Op):
    """Reload nginx when it runs (its pid file names a live master); a stopped nginx is only noted."""

    command: str

    def describe(self) -> str:
        return f"{self.command}  (when nginx runs)"

    def perform(self, ctx: StepContext) -> Done | None:
        code, out, err = ctx.remote.run(self.command, sudo=True, check=False)
        if code != 0:
            msg = nginx_message(err or out)
            if "nginx.pid" in msg or ".pid" in msg or "invalid PID" in msg or "No such process" in msg:
                return Done(notes=[f"nginx is not running on {ctx.host.name}; the files take effect when it starts"])
            raise StepError(f"nginx -s reload failed on {ctx.host.name}: {msg}")
        return None
