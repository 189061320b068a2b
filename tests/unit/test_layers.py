"""The folders of tasks/ are layers: a module imports from its own layer and the ones below it, never above, and
no two modules import each other, directly or around a circle (README, Layout)."""
from __future__ import annotations

import ast
from pathlib import Path

TASKS = Path(__file__).resolve().parents[2] / "tasks"

#: top first; a module may import its own layer and any layer after it
LAYERS = ["program", "cli", "commands", "probes", "steps", "engine", "remote", "inputs", "formats"]
INPUTS = {"config", "schema", "secrets", "rules"}


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


def imports(path: Path) -> set[str]:
    """The tasks modules a file imports (relative imports resolved; `from . import x` names module x)."""
    mod = module_name(path)
    pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[:len(pkg.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("tasks"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if (TASKS.parent / (sub.replace(".", "/") + ".py")).exists() or
                        (TASKS.parent / sub.replace(".", "/")).is_dir() else target)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("tasks")}
    return out


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


def test_no_command_imports_another_command():
    """Commands do not stack on each other: what two of them share lives a layer down (engine/step.py,
    probes/cluster.py, probes/restart.py). A command package's own modules, and nextsteps (the advice verify
    prints, no command of its own), are the exceptions."""
    wrong = []
    for mod, deps in graph().items():
        if not mod.startswith("tasks.commands."):
            continue
        for dep in deps:
            if not dep.startswith("tasks.commands.") or dep == "tasks.commands.nextsteps":
                continue
            own_package = mod.rsplit(".", 1)[0] == dep.rsplit(".", 1)[0] != "tasks.commands" \
                or dep.startswith(mod + ".")  # a command package's face hands on its own module
            if not own_package:
                wrong.append(f"{mod} imports {dep}")
    assert not wrong, "\n".join(sorted(wrong))
