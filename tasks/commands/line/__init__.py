"""The commands of the command line, one module each (or a few that share a body): each module declares
`COMMANDS`, a list of tasks/commands/command.py's Command, beside their bodies. `commands()` finds them
all (a new module here is a new command: nothing else to edit) and orders them as --list shows them: by
group, then each command's order. A declaration imports nothing heavy; its body imports what it runs.
"""
from __future__ import annotations

import importlib
import pkgutil

from ..command import GROUPS, Command


def commands() -> list[Command]:
    """Every declared command, in --list order (group, then order); a name declared twice is an error."""
    found: list[Command] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        found += importlib.import_module(f"{__name__}.{info.name}").COMMANDS
    groups = [key for key, _ in GROUPS]
    unknown = [c.name for c in found if c.group not in groups]
    if unknown:
        raise ValueError(f"commands in no --list group: {', '.join(unknown)}")
    names = [c.name for c in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"commands declared twice: {', '.join(twice)}")
    return sorted(found, key=lambda c: (groups.index(c.group), c.order))
