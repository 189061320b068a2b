"""Command-line glue: the `-H` executor, one Invoke task per declared command, and the run every
task of a command line shares.

Fabric would turn `-H manager,workers` into one Connection per word and DNS-resolve
it; `TargetsExecutor` (selected in fabric.json) keeps the words and hands them to
our resolver instead, so targets are hosts.toml names and groups only.

Every command is data (tasks/commands/command.py; declared in tasks/commands/line/, a step's from the
step): `build_collection` makes each an Invoke task in one loop, its flags Invoke's arguments. Every
task body goes through `run_task`. One fab command line is one run (CONTRACT §11): the
executor opens a `CommandLine` around all the tasks it names, which holds one Session (one SSH
connection, lock and run id per host, one read cache) and one Reporter per mode for all of them; the
tasks run and report in the order given, a host that failed a task skips its later ones, and the
command line ends with one summary and one exit code.

What a run needs (hosts.toml, the session, the reporter) is imported when a task runs: `fab --list`
and `fab --help` load the declarations only.
"""
from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Callable

from fabric.executor import Executor
from invoke import Collection, Exit, Task as InvokeTask

from .commands.command import GROUPS, Args, Command, Run, load
from .commands.line import commands
from .engine.mode import Mode
from .steps import Step, by_name

if TYPE_CHECKING:
    from .config import Inventory
    from .engine.report import Reporter, View
    from .engine.runner import Session


class TargetsExecutor(Executor):
    """Keeps -H for our own resolver instead of making one Connection per word, and makes the whole
    command line one run (a CommandLine around every task it names)."""

    def expand_calls(self, calls, apply_hosts=True):
        return super().expand_calls(calls, apply_hosts=False)

    def execute(self, *tasks):
        calls = self.normalize(tasks)
        upcoming = [by_name(c.task.name) for c in calls if is_step(c.task.name)]
        # the raw -H value ("" from an empty variable is refused later, never taken as "all")
        line = CommandLine.begin(upcoming, self.core[0].args.hosts.value if self.core else None)
        try:
            results = super().execute(*tasks)
        except BaseException:
            line.end()
            raise
        code = line.end()
        if code:
            raise Exit(code=code)
        return results


def is_step(name: str) -> bool:
    try:
        by_name(name)
        return True
    except KeyError:
        return False


class CommandLine:
    """One fab command line, one run: the Session every task of it shares, and a Reporter
    per (mode, json, progress) in the order the tasks asked for them; `end` closes the
    session and prints each summary."""

    current: "CommandLine | None" = None

    def __init__(self, upcoming: list[Step], hosts: str | None = None):
        self.upcoming = upcoming  # the steps the command line names: read ahead together on each host
        self.hosts = hosts  # the -H value as typed (None: no -H)
        self.session: Session | None = None
        self.reporters: dict[tuple, Reporter] = {}
        self.error = False

    @classmethod
    def begin(cls, upcoming: list[Step], hosts: str | None = None) -> "CommandLine":
        cls.current = cls(upcoming, hosts)
        return cls.current

    def run(self, mode: Mode, as_json: bool, body: Body, progress: bool, view: View,
            break_lock: bool = False, task: tuple[str, bool] = ("", False)) -> None:
        """One task of the command line on the shared session; a ConfigError ends the command line (exit 1).
        break_lock (the task's --break-lock) holds for the rest of the command line."""
        from .config import ConfigError
        from .hoststoml import load_inventory
        from .engine.report import Reporter
        from .engine.runner import Session
        from .secrets import load_secrets
        reporter = self.reporters.setdefault((mode, as_json, progress), Reporter(mode, as_json, progress=progress))
        reporter.ran(*task)
        try:
            if self.session is None:
                inv = load_inventory()
                self.session = Session(inv, load_secrets(inv.base_dir), mode, command=command_line(),
                                       upcoming=self.upcoming)
            self.session.switch(mode)
            if break_lock:
                self.session.break_locks()
            with view.on(reporter, list(self.session.inv.hosts)):
                self.session.keep_diffs = reporter.show_diff  # a patch's diff is shown (text or JSON) only with --diff
                body(self.session.inv, self.session, reporter)
        except ConfigError as e:
            reporter.error(str(e))
            self.error = True
            raise Exit(code=1) from None

    def end(self) -> int:
        """Close the run (prune, unlock, disconnect), print every reporter's summary; the command
        line's exit code (1 on any failure, else 2 on drift found by a verify, else 0)."""
        if CommandLine.current is self:
            CommandLine.current = None
        if self.session is not None:
            self.session.close()
        codes = [1] if self.error else []
        several = len(self.reporters) > 1
        for reporter in self.reporters.values():
            if self.session is not None:
                reporter.unreachable = set(self.session.unreachable)
            if several:  # one summary per mode, each labelled
                reporter.prefix = f"{reporter.mode.value}: "
            if reporter.results or reporter.extra or not self.error:
                codes.append(reporter.finish())
        return 1 if 1 in codes else max(codes, default=0)


def command_line() -> str:
    """What the operator typed (the run records it; fab's arguments never hold a secret)."""
    import sys
    return " ".join(["fab", *sys.argv[1:]])


Body = Callable[["Inventory", "Session", "Reporter"], object]  # what it returns is unused: the reporter has the rows


def run_task(mode: Mode | str, as_json: bool, body: Body, progress: bool = True, view: "View | None" = None,
             break_lock: bool = False, task: tuple[str, bool] = ("", False)) -> None:
    """Run body as a task of the command line's run (see CommandLine); called outside a command line
    (a test calling a task), on a run of its own: load hosts.toml and secrets, one Session, report,
    exit 0/2/1.

    A ConfigError from body (unknown target, bad flag value) is reported before any host runs; break_lock:
    the operator's --break-lock (Session.break_locks); task: (its name, whether it is a command of its own
    that names the JSON document's mode: Reporter.ran)."""
    from .config import ConfigError
    from .hoststoml import load_inventory
    from .engine.report import Reporter, View
    from .engine.runner import Session
    from .secrets import load_secrets
    view = view or View()
    if CommandLine.current is not None:
        CommandLine.current.run(Mode(mode), as_json, body, progress, view, break_lock, task)
        return
    reporter = Reporter(mode, as_json, progress=progress)
    reporter.ran(*task)
    session = None
    try:
        inv = load_inventory()
        session = Session(inv, load_secrets(inv.base_dir), mode)
        if break_lock:
            session.break_locks()
        with view.on(reporter, list(inv.hosts)):
            body(inv, session, reporter)
    except ConfigError as e:
        reporter.error(str(e))
        raise Exit(code=1) from None
    finally:
        if session is not None:
            session.close()
            reporter.unreachable = set(session.unreachable)
    code = reporter.finish()
    if code:
        raise Exit(code=code)




def cli_hosts() -> str | None:
    """The -H value of the command line being run (None: no -H, or a task called outside a command line)."""
    return CommandLine.current.hosts if CommandLine.current is not None else None


def run_command(command: Command, args: Args) -> None:
    """One command with its flag values: its mode, then its body on the run (see run_task)."""
    from .engine.report import View
    load(command)
    mode = command.mode(args)
    hosts = cli_hosts()

    def body(inv, session, reporter):
        command.body(Run(command, inv, session, reporter, args, hosts))

    view = View(args.get("verbose", False), args.get("diff", False), command.brief)
    run_task(mode, args.json, body, progress=command.progress, view=view, break_lock=args.get("break_lock", False),
             task=(command.name, command.names_mode))


class Task(InvokeTask):
    """An Invoke task whose short flags are first letters only: --verbose and --diff of a step get no
    `-e`/`-i` (Fabric's own -e/-i before the task name mean something else)."""

    def arg_opts(self, name, default, taken_names):
        opts = super().arg_opts(name, default, taken_names)
        opts["names"] = tuple(n for n in opts["names"] if len(n) > 1 or n == name.replace("_", "-")[0])
        return opts


def make_task(command: Command) -> InvokeTask:
    """The Invoke task of one command: a body whose signature is the command's flags in their order (Invoke
    reads its arguments, their defaults and short flags from it), the command's help its docstring."""
    param = inspect.Parameter
    params = [param("c", param.POSITIONAL_OR_KEYWORD)] + [
        param(f.name, param.POSITIONAL_OR_KEYWORD, default=param.empty if f.positional else f.default)
        for f in command.flags]

    def body(c, **values):
        run_command(command, Args(values))

    body.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    body.__doc__ = command.help
    body.__name__ = command.name.replace("-", "_")
    klass = Task if command.first_letter_flags else InvokeTask
    return klass(body, name=command.name, help={f.name.replace("_", "-"): f.help for f in command.flags},
                 positional=[f.name for f in command.flags if f.positional])


#: every command, in --list order
COMMANDS = commands()

#: how --list groups the tasks (tasks/program.py), each group in the order an operator meets them
TASK_GROUPS = [(title, [c.name for c in COMMANDS if c.group == key]) for key, title in GROUPS]


@functools.cache
def task_flags() -> frozenset[str]:
    """Every flag of this tool's tasks as typed (--dry-run, -d), derived from the declarations: each command's
    flags (tasks/commands/line/; a step's from the step, STEP_FLAGS), long, and the short ones Invoke gives
    them (make_task: the same tasks `fab` runs). Made on first use: `fab --list` makes none of it."""
    return frozenset(("--" if len(n) > 1 else "-") + n
                     for command in COMMANDS for arg in make_task(command).get_arguments() for n in arg.names)


def build_collection() -> Collection:
    """The explicit task namespace `fab` shows: a task per declared command (the steps' first)."""
    ns = Collection()
    for command in COMMANDS:
        ns.add_task(make_task(command))
    return ns
