"""The command line built from the declarations (tasks/cli.py): the face an operator reads (--list and
every task's --help, recorded in test_cli_face.txt before the commands became data, byte for byte), one
task per declaration with its flags in order, a flag's value reaching the body, and a new command as one
module of tasks/commands/line/ (nothing else edited)."""
from __future__ import annotations

import contextlib
import io
import sys
import textwrap
from pathlib import Path

import pytest

import tasks.commands.line as line
from tasks import cli
from tasks.commands.command import GROUPS
from tasks.commands.line import commands
from tasks.program import make_program

FACE = Path(__file__).with_name("test_cli_face.txt")


def face() -> str:
    """`esb --list`, then `esb --help TASK` for every task in --list order, at 100 columns."""
    out = io.StringIO()
    for args in [["--list"]] + [["--help", c.name] for c in cli.COMMANDS]:
        with contextlib.redirect_stdout(out):
            make_program().run(["esb", *args], exit=False)
    return out.getvalue()


def test_list_and_every_help_are_as_recorded(monkeypatch):
    """A changed help text is a change of the command line: rewrite the record on purpose
    (`python -m tests.unit.test_cli`), never by accident."""
    monkeypatch.setenv("COLUMNS", "100")
    got = face()
    assert got == FACE.read_text(), "the command line's face changed; see test_cli_face.txt"


def test_one_task_per_declaration_and_fresh_tasks_each_build():
    ns = cli.build_collection()
    assert sorted(ns.tasks) == sorted(c.name for c in cli.COMMANDS) and len(cli.COMMANDS) == 33
    assert [n for _, names in cli.TASK_GROUPS for n in names] == [c.name for c in cli.COMMANDS]
    assert [t for t, _ in cli.TASK_GROUPS] == [title for _, title in GROUPS]
    # Invoke consumes a task's help dict as it reads the arguments: a second build shows the help again
    again = cli.build_collection()
    assert all(a.help for t in again.tasks.values() for a in t.get_arguments())
    assert all(a.help for t in cli.build_collection().tasks.values() for a in t.get_arguments())


def test_a_tasks_flags_reach_its_body_by_name(monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "run_command", lambda command, args: seen.append((command.name, dict(args))))
    ns = cli.build_collection()
    from invoke import Context
    ns.tasks["deploy"](Context(), file="app.car", dry_run=True)
    ns.tasks["status"](Context(), json=True, verbose=False)
    assert seen == [("deploy", {"file": "app.car", "dry_run": True}), ("status", {"json": True, "verbose": False})]
    args = {a.name: a for a in ns.tasks["deploy"].get_arguments()}
    assert args["file"].positional and args["wait"].default is None and args["dry_run"].default is False


NEW_COMMAND = '''
    """A command declared by this module alone."""
    from tasks.commands.command import ALL, Command, Run, always, flag
    from tasks.engine.mode import Mode


    def hello(run: Run) -> None:
        run.reporter.note(f"hello {run.args.who}")


    COMMANDS = [Command("hello", "say hello on the targets", (flag("who", "world", help="whom to greet"), flag("json")),
                        always(Mode.VERIFY), hello, group="cluster", order=45, targets=ALL)]
'''


def test_a_new_command_is_one_module(tmp_path, monkeypatch):
    (tmp_path / "hello.py").write_text(textwrap.dedent(NEW_COMMAND))
    monkeypatch.setattr(line, "__path__", [*line.__path__, str(tmp_path)])
    try:
        found = commands()
    finally:
        sys.modules.pop("tasks.commands.line.hello", None)
    names = [c.name for c in found]
    assert names.index("hello") == names.index("verify") + 1  # its group, its order
    task = cli.make_task(found[names.index("hello")])
    assert task.__doc__ == "say hello on the targets"
    assert {a.name: (a.default, a.help) for a in task.get_arguments()}["who"] == ("world", "whom to greet")


def test_the_task_flags_are_the_declared_flags_with_their_short_ones(tmp_path, monkeypatch):
    """tasks/program.py's hint for a task's flag before the task name knows the flags from the declarations: a
    flag declared on a new command is in the set, long and short, with no list of flags edited by hand."""
    flags = cli.task_flags()
    declared = {"--" + f.name.replace("_", "-") for c in cli.COMMANDS for f in c.flags}
    assert declared <= flags and {"--dry-run", "--break-lock", "--wait", "-d", "-v", "-j"} <= flags
    assert "--who" not in flags and "--hosts" not in flags  # no flag of no task, and not Fabric's own
    (tmp_path / "hello.py").write_text(textwrap.dedent(NEW_COMMAND))
    monkeypatch.setattr(line, "__path__", [*line.__path__, str(tmp_path)])
    try:
        monkeypatch.setattr(cli, "COMMANDS", commands())
    finally:
        sys.modules.pop("tasks.commands.line.hello", None)
    cli.task_flags.cache_clear()
    try:
        assert {"--who", "-w"} <= cli.task_flags()
    finally:
        cli.task_flags.cache_clear()


@pytest.mark.parametrize("source, said", [
    ('COMMANDS = [Command("verify", "again", (), always(Mode.VERIFY), print, group="cluster")]',
     "commands declared twice: verify"),
    ('COMMANDS = [Command("odd", "no group", (), always(Mode.VERIFY), print, group="misc")]',
     "commands in no --list group: odd"),
])
def test_a_name_declared_twice_or_a_group_unknown_is_refused(tmp_path, monkeypatch, source, said):
    (tmp_path / "bad.py").write_text("from tasks.commands.command import Command, always\n"
                                     "from tasks.engine.mode import Mode\n" + source + "\n")
    monkeypatch.setattr(line, "__path__", [*line.__path__, str(tmp_path)])
    try:
        with pytest.raises(ValueError, match=said):
            commands()
    finally:
        sys.modules.pop("tasks.commands.line.bad", None)


if __name__ == "__main__":  # rewrite the record (a help text changed on purpose)
    import os
    os.environ["COLUMNS"] = "100"
    FACE.write_text(face())


REPO = Path(__file__).resolve().parents[2]

#: what `fab --list` and `fab --help` never load: the commands' bodies, the probes, the run's engine, the
#: connection's parts and the drivers a run reaches only when it reads or connects
NOT_AT_START = ("tasks.probes", "tasks.commands.deploy", "tasks.commands.diagram", "tasks.commands.verify",
                "tasks.commands.rollout", "tasks.commands.rollback", "tasks.commands.lifecycle",
                "tasks.commands.nextsteps", "tasks.engine.runner", "tasks.engine.report", "tasks.remote.host",
                "tasks.remote.transport", "pymysql", "dotenv", "tomllib")


def test_list_loads_the_declarations_and_no_body():
    import subprocess
    code = "import sys, fabfile; print('\\n'.join(sorted(sys.modules)))"
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    loaded = r.stdout.split()
    assert "tasks.commands.line.lifecycle" in loaded and "tasks.steps" in loaded
    early = [m for m in loaded if m.startswith(NOT_AT_START)]
    assert not early, early


def body_imports(path: Path) -> list[tuple[str, list[str]]]:
    """The imports made inside the functions of a declaration module: (module, names), resolved."""
    import ast
    import importlib.util
    package = "tasks.commands.line"
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom):
                    base = importlib.util.resolve_name("." * inner.level + (inner.module or ""), package) \
                        if inner.level else inner.module
                    found.append((base, [a.name for a in inner.names]))
    return found


def test_every_import_a_body_makes_when_it_runs_resolves_and_loads_as_the_task_starts():
    """A declaration's body imports its command when it runs: each such import names a module and names
    that exist (a typo would show only when an operator runs the command), and each command module it
    reaches is in the declarations' `loads` (imported before the run's clock starts)."""
    import importlib
    checked = 0
    for path in sorted(Path(line.__path__[0]).glob("*.py")):
        module = importlib.import_module(f"tasks.commands.line.{path.stem}") if path.stem != "__init__" else line
        loads = {f"tasks.commands.{n}" for c in getattr(module, "COMMANDS", []) for n in c.loads}
        for base, names in body_imports(path):
            target = importlib.import_module(base)
            for name in names:
                full = f"{base}.{name}"
                is_module = not hasattr(target, name) or isinstance(getattr(target, name), type(importlib))
                assert hasattr(target, name) or importlib.import_module(full), (path.name, base, name)
                command_module = full if is_module else base
                if command_module.startswith("tasks.commands.") and not command_module.startswith(
                        "tasks.commands.line"):
                    assert command_module in loads, (path.name, command_module, sorted(loads))
                checked += 1
    assert checked >= 25
