"""The `esb` command: Fabric's own program bound to this collection (it runs from any folder, with
ESB_HOSTS or ./hosts.toml), with the operator's view of it: `--list` grouped (guide steps, cluster
commands, server lifecycle) with every help whole, and no flag trap (Fabric's own options that this
tool's tasks never see are refused, never silently ignored; a task's flag written before the task
name is refused with the right spelling). Nothing runs when a flag is refused.

`fab` in the checkout keeps Fabric's program; fabfile.py calls `adopt` so that the running program
lists and checks the same way.
"""
from __future__ import annotations

import re
import textwrap
from contextlib import contextmanager

import fabric
from fabric.config import Config
from fabric.main import Fab
from invoke import Exit, ParseError

from .cli import TASK_GROUPS, TargetsExecutor, build_collection, task_flags

#: Fabric's own options that act on its Connection or on shell commands run through it: this
#: tool's tasks reach hosts through hosts.toml and the remote layer, so they would be ignored
IGNORED = {
    "dry": ("-R/--dry", "it only echoes shell commands run through fab and would not stop a change; "
                        "a dry run is the task's own flag, after its name: {prog} {task} --dry-run"),
    "echo": ("-e/--echo", "this tool runs no shell command through fab"),
    "warn-only": ("-w/--warn-only", "a failure here is always reported and exits 1"),
    "pty": ("-p/--pty", "this tool runs no shell command through fab"),
    "hide": ("--hide", "this tool runs no shell command through fab; --json gives a quiet document"),
    "command-timeout": ("-T/--command-timeout", "set [run].op_timeout in hosts.toml"),
    "identity": ("-i/--identity", "set key_filename in hosts.toml"),
    "ssh-config": ("-S/--ssh-config", "hosts.toml names each host's address, port, user and key"),
    "connect-timeout": ("-t/--connect-timeout", "set connect_timeout in hosts.toml"),
    "prompt-for-login-password": ("--prompt-for-login-password", "the SSH key of hosts.toml logs in"),
    "prompt-for-passphrase": ("--prompt-for-passphrase", "key_filename must be a key without passphrase"),
    "prompt-for-sudo-password": ("--prompt-for-sudo-password", "set SUDO_PASSWORD in .env or the environment"),
}

#: the end of `esb --help`: where the files come from, and `fab` against `esb` (Fabric's `fab` outside the
#: checkout stops at `Can't find any collection named 'fabfile'!` before any of this tool's code runs)
WHERE_HELP = """Files:
  hosts.toml   ./hosts.toml, or the file ESB_HOSTS names; the secrets in .env beside it, or the environment
  fab / esb    {prog} runs these tasks from any folder; `fab` runs them only in the checkout (or a folder
               below it): elsewhere Fabric's own fab says "Can't find any collection named 'fabfile'!".
               Use esb (pip install /path/to/checkout), cd to the checkout, or fab -r /path/to/checkout
"""

def refusal(args, argv: list[str], prog: str) -> str | None:
    """Why this command line must not run (a Fabric option the tasks would ignore; `-d` before the
    task name, Fabric's --debug where a dry run was meant), or None. `args` are the parsed core
    options, `argv` the words as typed."""
    for name, (flag, why) in IGNORED.items():
        try:
            value = args[name].value  # a Lexicon: Fabric's own options answer to either name (i, identity)
        except KeyError:
            continue
        if value not in (None, False, [], ""):
            why = why.format(prog=prog, task=first_task(argv) or "TASK")
            return f"{flag} is Fabric's own option and has no effect on this tool's tasks: {why}"
    if "-d" in core_words(argv):
        return debug_refusal(argv, prog)
    return None


def debug_refusal(argv: list[str], prog: str) -> str:
    """What `-d` before the task name is, and the right spelling."""
    task = first_task(argv) or "TASK"
    return (f"-d before the task name is Fabric's --debug, not a dry run: write {prog} {task} --dry-run "
            f"(-d after the task name is its dry run; --debug for Fabric's debug output)")


def first_task(argv: list[str]) -> str | None:
    """The first task the command line names, if any."""
    names = {t for _, tasks in TASK_GROUPS for t in tasks}
    return next((w for w in argv[1:] if w in names), None)


@contextmanager
def clearer_errors(program: "EsbProgram"):
    """Invoke's parse error, reworded where it is a task's flag given before the task name."""
    try:
        yield
    except ParseError as e:
        argv = list(program.argv or [])
        hint = task_flag_hint(str(e), program.binary_label(), first_task(argv), core_words(argv))
        if hint:
            raise Exit(f"error: {hint}", code=1) from None
        raise


def core_words(argv: list[str]) -> list[str]:
    """The words before the first task name (where Fabric reads its own options)."""
    names = {t for _, tasks in TASK_GROUPS for t in tasks}
    words = []
    for w in argv[1:]:
        if w in names:
            break
        words.append(w)
    return words


def task_flag_hint(error: str, prog: str, task: str | None = None, before: list[str] | None = None) -> str | None:
    """A clearer word for Invoke's `No idea what '--dry-run' is!` when the flag is a task's, given
    before the task name (`before`: the words before the first task name, where given; a flag after
    it that this task lacks keeps Invoke's own message)."""
    m = re.match(r"No idea what '([^']+)' is!", error)
    if m and before is not None and m.group(1) not in before:
        return None
    if m and m.group(1).split("=")[0] in task_flags():
        flag = m.group(1)
        return (f"{flag} is a task's flag: write it after the task name ({prog} {task or 'TASK'} {flag}); "
                f"nothing was run")
    return None


class EsbProgram(Fab):
    """Fabric's program with this tool's --list and flag checks."""

    def parse_core(self, argv) -> None:
        self.normalize_argv(argv)
        words = list(self.argv)
        if "-d" in core_words(words):  # before Fabric turns its debug output on
            raise Exit(f"error: {debug_refusal(words, self.binary_label())}; nothing was run", code=1)
        with clearer_errors(self):
            super().parse_core(argv)

    def parse_tasks(self) -> None:
        """Parse the tasks, then refuse an option they would ignore (before Fabric reads its ssh config
        or prompts for a password: nothing is run, nothing is asked)."""
        with clearer_errors(self):
            super().parse_tasks()
        why = refusal(self.args, list(self.argv or []), self.binary_label())
        if why:
            raise Exit(f"error: {why}; nothing was run", code=1)

    def print_help(self) -> None:
        """Fabric's help and the grouped task list, then where the command finds its files and how `fab`
        and `esb` differ (Fabric's own `fab` outside the checkout cannot say it: docs/command-line.md)."""
        super().print_help()
        print(WHERE_HELP.format(prog=self.binary_label()))

    def binary_label(self) -> str:
        return "esb" if isinstance(self.name, str) and self.name == "esb" else "fab"

    def list_flat(self) -> None:
        """The tasks in their groups, in the order an operator meets them, every help whole."""
        names = set(self.scoped_collection.tasks)
        width = max(len(n) for n in names)
        wrap = textwrap.TextWrapper(width=max(40, terminal_width() - width - 4), break_on_hyphens=False,
                                     break_long_words=False)  # a name (user-mgt.xml) stays whole
        for title, members in TASK_GROUPS:
            shown = [n for n in members if n in names]
            if not shown:
                continue
            print(f"{title}:")
            for n in shown:
                chunks = wrap.wrap(whole_help(self.scoped_collection.tasks[n])) or [""]
                print(f"  {n.ljust(width)}  {chunks[0]}")
                print("".join(f"  {' ' * width}  {c}\n" for c in chunks[1:]), end="")
            print()
        rest = sorted(names - {n for _, m in TASK_GROUPS for n in m})
        if rest:  # a task no group names (never hidden)
            print("other:\n" + "".join(f"  {n}\n" for n in rest))


def whole_help(task) -> str:
    """A task's help as one paragraph: its whole docstring (Invoke's list shows the first line only)."""
    return " ".join((task.__doc__ or "").split())


def terminal_width() -> int:
    import shutil
    return shutil.get_terminal_size((100, 24)).columns


def own_version() -> str:
    """This package's version (pip install .), and the Fabric it runs on."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        mine = version("wso2-esb-cluster")
    except PackageNotFoundError:
        mine = "(checkout)"
    return f"{mine} (Fabric {fabric.__version__})"


def make_program() -> EsbProgram:
    """The `esb` console command: this collection, our executor, Fabric's config."""
    return EsbProgram(name="esb", binary="esb", namespace=build_collection(), version=own_version(),
                      executor_class=TargetsExecutor, config_class=Config)


def adopt() -> None:
    """Make Fabric's running `fab` program list and check as `esb` does (called from fabfile.py while
    fab loads it; a program other than Fabric's own is left alone)."""
    import fabric.main
    running = getattr(fabric.main, "program", None)
    if running is not None and type(running) is Fab:
        running.__class__ = EsbProgram
        words = list(running.argv or [])
        if "-d" in core_words(words):  # Fabric's debug output is on already: stop it here, not after the parse
            raise Exit(f"error: {debug_refusal(words, 'fab')}; nothing was run", code=1)


program = make_program()
