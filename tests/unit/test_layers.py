"""The folders of tasks/ are layers: a module imports from its own layer and the ones below it, never above, and
no two modules import each other, directly or around a circle (README, Layout).

The checker is a function of a module's source text (`violations`): each rule has a test below that plants the
import it forbids and sees it refused, so that a hole in the checker fails here, not in review. Rules:

- the layer order (LAYERS): formats at the bottom import nothing of the project but formats;
- probes never import steps (the two are siblings under commands: a probe is handed what it needs of the steps);
- commands take from steps only the step registry (tasks/steps/__init__.py: REGISTRY_NAMES);
- no module takes names from the package root `tasks` or from a package it lies in (`from . import X` where X is
  no module): a name reached through a package's face hides the module, and the layer, it comes from;
- the remote layer's parts have an order of their own (REMOTE_TIERS).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

TASKS = Path(__file__).resolve().parents[2] / "tasks"

#: top first; a module may import its own layer and any layer after it
LAYERS = ["program", "cli", "commands", "probes", "steps", "engine", "remote", "inputs", "formats"]
INPUTS = {"config", "hoststoml", "schema", "secrets", "rules"}
#: layers a layer may not import although they lie below it: probes and steps are siblings
FORBIDDEN = {"probes": {"steps"}}
#: the step registry, and all of it a command may take (a command imports no step module)
REGISTRY = "tasks.steps"
REGISTRY_NAMES = frozenset({"STEPS", "by_name", "RETIRE_OLD", "rotate_keystore_step"})
#: the remote layer's parts, bottom first, as today's imports order them: a part imports only parts of a tier
#: below its own (the face, tasks/remote/__init__.py, may import any; no part imports the face)
REMOTE_TIERS: list[tuple[str, ...]] = [
    ("common", "deadline", "lockowner", "runkey", "runlocks", "sftpext", "sshshared"),
    ("confine", "readcache", "replace"),
    ("protocol", "transport"),
    ("sftpio", "mysql"),
    ("sudo", "dbundo"),
    ("reads",),  # a node's file reads: the read cache, confinement, and sudo where SFTP may not read
    ("files",),  # the writes, a subclass of the reads (Files(Reads))
    ("backupruns",),  # the node's backup runs: listed and pruned through files
    ("journal",),  # this run's backups and the writes that keep them, a subclass of BackupRuns
    ("lock",),
    ("host",),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(TASKS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    """The layer of a module of tasks (tasks.engine.plan -> engine; tasks.config -> inputs)."""
    parts = module.split(".")
    if len(parts) == 1:
        return "package"
    head = parts[1]
    return "inputs" if head in INPUTS else head


def known_modules() -> set[str]:
    """Every module and package of tasks, by name."""
    return {module_name(p) for p in TASKS.rglob("*.py") if "__pycache__" not in p.parts}


@dataclass(frozen=True)
class Import:
    """One import of a tasks module: the module it resolves to, the names it takes from it (none for
    `import x` or `from pkg import submodule`), and its line."""

    target: str
    names: tuple[str, ...]
    line: int


def imports_in(source: str, module: str, is_package: bool, known: set[str]) -> list[Import]:
    """The tasks modules a source imports (relative imports resolved; `from . import x` names module x when x is a
    module, else the package itself, taking the name x), wherever the import stands (a function, TYPE_CHECKING)."""
    pkg = module if is_package else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[:len(pkg.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target != "tasks" and not target.startswith("tasks."):
                continue
            names = []
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in known:
                    out.append(Import(sub, (), node.lineno))
                else:
                    names.append(alias.name)
            if names:
                out.append(Import(target, tuple(names), node.lineno))
        elif isinstance(node, ast.Import):
            out += [Import(a.name, (), node.lineno) for a in node.names
                    if a.name == "tasks" or a.name.startswith("tasks.")]
    return out


def remote_tier(module: str) -> int | None:
    """The tier of a part of tasks/remote/ (None: not a part, or not listed)."""
    name = module.removeprefix("tasks.remote.")
    return next((i for i, tier in enumerate(REMOTE_TIERS) if name in tier), None)


def violations(module: str, source: str, is_package: bool = False, known: set[str] | None = None) -> list[str]:
    """What is wrong with the imports of one module's source, one line each (empty: nothing)."""
    known = known_modules() | {module} if known is None else known
    wrong = []
    mine = layer(module)
    for imp in imports_in(source, module, is_package, known):
        dep, where = imp.target, f"{module}:{imp.line}"
        if imp.target not in known:
            wrong.append(f"{where} imports {dep}, which is no module of tasks")
            continue
        if mine == "package" or dep == "tasks":
            wrong.append(f"{where} imports {dep}{' ' + ', '.join(imp.names) if imp.names else ''}: the package root "
                         f"is no layer (import the module the name lives in)")
            continue
        if imp.names and (module == dep or module.startswith(dep + ".")) and not is_package:
            wrong.append(f"{where} takes {', '.join(imp.names)} from its own package's face {dep}: import the "
                         f"module it lives in")
            continue
        theirs = layer(dep)
        if LAYERS.index(theirs) < LAYERS.index(mine):
            wrong.append(f"{where} ({mine}) imports {dep} ({theirs})")
        if theirs in FORBIDDEN.get(mine, ()):
            wrong.append(f"{where} ({mine}) imports {dep} ({theirs}): {mine} never import {theirs}")
        if mine == "commands" and theirs == "steps" and (dep != REGISTRY or not imp.names
                                                         or not set(imp.names) <= REGISTRY_NAMES):
            taken = f" {', '.join(imp.names)}" if imp.names else ""
            wrong.append(f"{where} imports {dep}{taken}: a command takes only the step registry "
                         f"({REGISTRY}: {', '.join(sorted(REGISTRY_NAMES))})")
        if mine == "remote" and theirs == "remote" and module != "tasks.remote" and dep != module:
            own, other = remote_tier(module), remote_tier(dep)
            if own is None or other is None:
                wrong.append(f"{where}: {module if own is None else dep} has no place in REMOTE_TIERS")
            elif other >= own:
                wrong.append(f"{where}: remote part {module} (tier {own}) imports {dep} (tier {other}): a part "
                             f"imports only the tiers below its own")
    return wrong


def source_of(module: str) -> tuple[str, bool]:
    """The source text of a module of tasks, and whether it is a package's __init__."""
    path = TASKS.parent / (module.replace(".", "/") + ".py")
    if path.exists():
        return path.read_text(), False
    return (TASKS.parent / module.replace(".", "/") / "__init__.py").read_text(), True


def imports(path: Path) -> set[str]:
    """The tasks modules a file imports (relative imports resolved; `from . import x` names module x)."""
    return {i.target for i in imports_in(path.read_text(), module_name(path), path.name == "__init__.py",
                                         known_modules())}


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in TASKS.rglob("*.py") if "__pycache__" not in p.parts}


def test_every_module_is_in_a_known_layer():
    assert {layer(m) for m in graph()} <= set(LAYERS) | {"package"}


def test_no_module_imports_a_layer_above_its_own():
    wrong = []
    for mod, deps in graph().items():
        if layer(mod) == "package":
            continue
        for dep in deps:
            if layer(dep) != "package" and LAYERS.index(layer(dep)) < LAYERS.index(layer(mod)):
                wrong.append(f"{mod} ({layer(mod)}) imports {dep} ({layer(dep)})")
    assert not wrong, "\n".join(sorted(wrong))


def test_every_module_keeps_every_import_rule():
    """The whole tree through the checker: the layer order, probes !-> steps, commands -> the registry only, no
    name through a package's face, the remote parts' order."""
    known = known_modules()
    wrong = [w for m in sorted(known) for w in violations(m, *source_of(m), known=known)]
    assert not wrong, "\n".join(wrong)


def test_every_remote_part_has_a_tier():
    parts = {m.removeprefix("tasks.remote.") for m in known_modules() if m.startswith("tasks.remote.")}
    listed = [p for tier in REMOTE_TIERS for p in tier]
    assert sorted(listed) == sorted(parts), "a part of tasks/remote/ is missing from REMOTE_TIERS, or listed twice"


def test_no_import_circle():
    g = {m: {d for d in deps if d != m} for m, deps in graph().items()}
    # a package's __init__ importing its own modules is no circle of meaning: leave packages' re-exports out
    g = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in g.items()}
    seen: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(m: str) -> None:
        seen[m] = 1
        stack.append(m)
        for d in sorted(g.get(m, ())):
            if seen.get(d) == 1:
                circles.append(stack[stack.index(d):] + [d])
            elif d not in seen:
                visit(d)
        stack.pop()
        seen[m] = 2

    for m in sorted(g):
        if m not in seen:
            visit(m)
    assert not circles, "\n".join(" -> ".join(c) for c in circles)


#: the command line's declarations (tasks/commands/line/): a body there calls a command's own modules
LINE = "tasks.commands.line"


def test_no_command_imports_another_command():
    """Commands do not stack on each other: what two of them share lives a layer down (engine/step.py,
    probes/cluster.py, probes/restart.py). A command package's own modules, nextsteps (the advice verify
    prints, no command of its own) and command.py (what a declaration is) are the exceptions; the
    declarations (commands/line/) reach every command's body, and no command reaches them."""
    wrong = []
    for mod, deps in graph().items():
        if not mod.startswith("tasks.commands.") or mod.startswith(LINE):
            continue
        for dep in deps:
            if not dep.startswith("tasks.commands.") or dep in ("tasks.commands.nextsteps", "tasks.commands.command"):
                continue
            own_package = mod.rsplit(".", 1)[0] == dep.rsplit(".", 1)[0] != "tasks.commands" \
                or dep.startswith(mod + ".")  # a command package's face hands on its own module
            if not own_package or dep.startswith(LINE):
                wrong.append(f"{mod} imports {dep}")
    assert not wrong, "\n".join(sorted(wrong))


# ---------------------------------------------------------------- each hole, planted: the checker refuses it

PLANTED = [
    # a formats module importing the project: an input, by name and through the package root
    ("tasks.formats.planted", "from ..rules import AXIS2\n", "(formats) imports tasks.rules (inputs)"),
    ("tasks.formats.planted", "from .. import config\n", "(formats) imports tasks.config (inputs)"),
    ("tasks.formats.planted", "import tasks.secrets\n", "(formats) imports tasks.secrets (inputs)"),
    ("tasks.formats.planted", "from .. import something\n", "the package root is no layer"),
    ("tasks.formats.planted", "import tasks\n", "the package root is no layer"),
    ("tasks.formats.planted", "def f():\n    from ..remote import RemoteError\n", "(formats) imports tasks.remote"),
    # `from . import X` inside a package's own module: a name through the package's face
    ("tasks.remote.mysql", "from . import RemoteError\n", "takes RemoteError from its own package's face"),
    ("tasks.steps.planted", "from . import STEPS\n", "takes STEPS from its own package's face"),
    ("tasks.commands.lifecycle.planted", "from .. import anything\n", "its own package's face tasks.commands"),
    ("tasks.probes.planted", "from tasks.probes import X\n", "its own package's face tasks.probes"),
    # a relative import resolving to a layer above, from a package's module and from a subpackage's
    ("tasks.engine.planted", "from .. import cli\n", "(engine) imports tasks.cli (cli)"),
    ("tasks.steps.planted", "from ..probes import facts\n", "(steps) imports tasks.probes.facts (probes)"),
    ("tasks.rules", "from .engine.plan import Item\n", "(inputs) imports tasks.engine.plan (engine)"),
    # probes never import steps, in any form
    ("tasks.probes.planted", "from ..steps import STEPS\n", "probes never import steps"),
    ("tasks.probes.planted", "from ..steps.registry import cache_id\n", "probes never import steps"),
    ("tasks.probes.planted", "if TYPE_CHECKING:\n    from ..steps.base import XmlStep\n", "probes never import steps"),
    # commands take only the registry of the steps
    ("tasks.commands.planted", "from ..steps.loadbalancer import FILES\n", "takes only the step registry"),
    ("tasks.commands.lifecycle.planted", "from ...steps import base\n", "takes only the step registry"),
    ("tasks.commands.planted", "from ..steps import STEPS, ConfigureLb\n", "takes only the step registry"),
    ("tasks.commands.planted", "import tasks.steps\n", "takes only the step registry"),
    ("tasks.commands.planted", "def f():\n    from ..steps.databases import route_for\n",
     "takes only the step registry"),
    # ... a declaration of the command line too, at its top and inside a command's body
    ("tasks.commands.line.planted", "from ...steps import STEPS, Step\n", "takes only the step registry"),
    ("tasks.commands.line.planted", "def body(run):\n    from ...steps.keystore import RotateKeystore\n",
     "takes only the step registry"),
    ("tasks.commands.line.planted", "def body(run):\n    import tasks.steps.keystore\n",
     "takes only the step registry"),
    # the remote parts' own order
    ("tasks.remote.transport", "from .files import Files\n", "remote part tasks.remote.transport (tier 2) imports "
                                                               "tasks.remote.files (tier 6)"),
    ("tasks.remote.sftpio", "from .mysql import query\n", "(tier 3) imports tasks.remote.mysql (tier 3)"),
    ("tasks.remote.protocol", "from .transport import Transport\n", "(tier 2) imports tasks.remote.transport (tier 2)"),
    ("tasks.remote.common", "from . import host\n", "remote part tasks.remote.common (tier 0)"),
    ("tasks.remote.planted", "from .common import RemoteError\n", "tasks.remote.planted has no place in REMOTE_TIERS"),
]


@pytest.mark.parametrize("module, source, says", PLANTED, ids=[f"{m}: {s.strip()}" for m, s, _ in PLANTED])
def test_a_planted_import_is_refused(module, source, says):
    wrong = violations(module, source)
    assert any(says in w for w in wrong), wrong


@pytest.mark.parametrize("module, source", [
    ("tasks.commands.planted", "from ..steps import STEPS, by_name, RETIRE_OLD\n"),  # the registry
    ("tasks.commands.line.planted", "def body(run):\n    from ...steps import rotate_keystore_step\n"),
    ("tasks.probes.planted", "from ..engine.step import Step, host_work\n"),
    ("tasks.remote.host", "from .lock import NodeLock\nfrom .transport import Transport\n"),  # tiers below
    ("tasks.remote", "from .host import RemoteHost\n"),  # the face hands on its parts
    ("tasks.steps", "from .base import Step\n"),  # a package's face imports its own modules
    ("tasks.rules", "from .formats.jdbcurl import mysql_url\n"),  # inputs lie above formats
    ("tasks.engine.runner", "from . import stats\n"),  # `from . import module` names the module
])
def test_what_the_rules_allow_passes(module, source):
    assert violations(module, source, is_package=module in ("tasks.remote", "tasks.steps")) == []


def test_a_planted_module_in_a_copy_of_the_tree_is_found(tmp_path):
    """The tree walk sees a new file: a formats module importing the project, written into a copy of tasks/."""
    import shutil
    copy = tmp_path / "tasks"
    shutil.copytree(TASKS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "formats" / "planted.py").write_text('"""A planted module."""\nfrom ..config import Host\n')
    known = {".".join(p.relative_to(tmp_path).with_suffix("").parts).removesuffix(".__init__")
             for p in copy.rglob("*.py")}
    wrong = [w for p in sorted(copy.rglob("*.py"))
             for w in violations(".".join(p.relative_to(tmp_path).with_suffix("").parts).removesuffix(".__init__"),
                                 p.read_text(), p.name == "__init__.py", known)]
    assert wrong == ["tasks.formats.planted:2 (formats) imports tasks.config (inputs)"]
