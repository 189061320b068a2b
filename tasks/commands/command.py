"""A command of the command line as data: its name, help, flags (each with its help and default), mode,
default targets, body and --list group. tasks/cli.py turns every declaration into an Invoke task in one
loop; the declarations are the modules of tasks/commands/line/ (one module a command, or a few that
share a body), and a step's task is declared from the step itself (commands/line/steps.py).

A declaration is cheap to import: what a body needs (the engine's runner, probes, the command's own
modules) is imported when the body runs, so `fab --list` and a command's start load only what that
command uses.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..engine.mode import Mode

if TYPE_CHECKING:  # only for the annotations: a declaration imports none of them
    from ..config import Host, Inventory
    from ..engine.report import Reporter
    from ..engine.runner import Session

#: the --list groups, in the order an operator meets them: (key, title)
GROUPS = [("steps", "Guide steps (fab [-H TARGETS] STEP [--verify | --dry-run] [--json], guide order)"),
          ("cluster", "Cluster commands"),
          ("lifecycle", "Server lifecycle (ESB nodes)")]

FLAG_HELP = {
    "verify": "read-only drift check; exit 2 on drift",
    "dry-run": "print the unified diff and commands patch would run; change nothing",
    "json": "one JSON document on stdout",
    "break-lock": "break a host's lock whose run cannot be proved alive (another machine's, a malformed owner "
                  "file): only when that run is dead; a live run's lock on this machine is never broken",
    "verbose": "every item on its own line (default: a count per file past 5 items)",
    "diff": "a patch prints the unified diff of what it applied (binary files: sizes and digests)",
}


@dataclass(frozen=True)
class Flag:
    """One flag of a command: `name` as the body reads it (dry_run is --dry-run on the command line),
    its help, its default (its type is the flag's: False a switch, "" or None a value); positional: the
    command's word after its name (deploy FILE), also given as --file."""

    name: str
    help: str
    default: Any = False
    positional: bool = False


def flag(name: str, default: Any = False, help: str | None = None, positional: bool = False) -> Flag:
    """A flag, its help from FLAG_HELP (the flags most commands share) unless given."""
    return Flag(name, FLAG_HELP[name.replace("_", "-")] if help is None else help, default, positional)


class Args(dict):
    """A command's flag values by name (args.dry_run, args["dry_run"])."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class Targets:
    """Where a command runs when -H does not say: default(inv) hosts; esb_only: -H may name ESB nodes only."""

    default: Callable[["Inventory"], list]
    esb_only: bool = False


ALL = Targets(lambda inv: list(inv.hosts.values()))
MANAGER = Targets(lambda inv: inv.by_role("manager"))
ESB = Targets(lambda inv: inv.esb_nodes, esb_only=True)


def role(name: str) -> Targets:
    """The hosts of one role (setup-manager, setup-worker)."""
    return Targets(lambda inv: inv.by_role(name))


@dataclass
class Run:
    """What a body is given: the run's inventory, session and reporter, the command's flag values, and
    the -H value as typed (None: no -H)."""

    command: "Command"
    inv: "Inventory"
    session: "Session"
    reporter: "Reporter"
    args: Args
    cli_hosts: str | None

    def targets(self) -> list["Host"]:
        """The -H hosts, or the command's default targets; a ConfigError when that leaves none (and, for a
        command on ESB nodes, when -H names another host)."""
        from ..config import ConfigError
        from ..engine.targets import resolve
        spec = self.command.targets
        if spec is None:
            raise ConfigError(f"{self.command.name} takes no targets of its own")
        hosts = resolve(self.inv, self.cli_hosts, spec.default(self.inv))
        if not hosts:
            raise ConfigError("no targets (no host in hosts.toml has the role this runs on; use -H)")
        others = [h.name for h in hosts if not h.is_esb] if spec.esb_only else []
        if others:
            raise ConfigError(f"{', '.join(others)}: not an ESB node (manager or worker); the servers run on those")
        return hosts


def load(command: "Command") -> None:
    """Import the modules the command's body runs with (Command.loads)."""
    import importlib
    for name in command.loads:
        importlib.import_module(f"{__package__}.{name}")


def patch_verify_or_dry_run(args: Args) -> Mode:
    """patch, verify or dry-run from --verify and --dry-run (both at once is an error, reported as JSON
    under --json)."""
    if args.verify and args.dry_run:
        from invoke import Exit

        from ..engine.report import Reporter
        Reporter(Mode.PATCH, args.json).error("--verify and --dry-run exclude each other")
        raise Exit(code=1)
    return Mode.VERIFY if args.verify else Mode.DRY_RUN if args.dry_run else Mode.PATCH


def dry_run_or(mode: Mode) -> Callable[[Args], Mode]:
    """dry-run with --dry-run, else mode."""
    return lambda args: Mode.DRY_RUN if args.dry_run else mode


def always(mode: Mode) -> Callable[[Args], Mode]:
    """A command with one mode (verify, diagram, status: read-only)."""
    return lambda args: mode


@dataclass(frozen=True)
class Command:
    """One command of the command line.

    name, help (--list and --help show it whole), flags (in this order: Invoke gives each its short flag
    in turn), mode (from the flag values), targets (the default when -H does not say; None: the body reads
    -H itself), body(run) (what it does; its imports inside it), group (the --list group, GROUPS) and
    order (its place there). loads: the modules of tasks/commands the body runs with, imported as the task
    starts (before hosts.toml is read and the run's clock starts: a run's seconds count its work, not the
    import of its command). progress: rows as each host finishes; brief: an umbrella's patch report;
    first_letter_flags: short flags only from a flag's first letter (a step's --verbose and --diff get no
    -e/-i: Fabric's own before the task name). names_mode: the JSON document's mode names the command (status,
    start, deploy...); a step or a setup-* reports the mode its steps ran in (patch, verify, dry-run)."""

    name: str
    help: str
    flags: tuple[Flag, ...]
    mode: Callable[[Args], Mode]
    body: Callable[[Run], object]
    group: str
    order: float = 0
    targets: Targets | None = None
    loads: tuple[str, ...] = ()
    progress: bool = True
    brief: bool = False
    first_letter_flags: bool = False
    names_mode: bool = True
