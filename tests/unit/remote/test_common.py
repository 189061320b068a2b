"""One base for a host's faults (tasks/remote/common.py HostFault): RemoteError and StepError (and what
derives from them) are host faults, nothing else is; no handler lists the two again."""
from __future__ import annotations

import ast
from pathlib import Path

from tasks.config import ConfigError
from tasks.engine.context import StepError
from tasks.formats.xmldoc import XmlError
from tasks.remote import HostFault, RemoteError, SudoRefused, Unreachable
from tasks.secrets import SecretMissing

TASKS = Path(__file__).resolve().parents[3] / "tasks"


def test_a_hosts_fault_is_a_remote_or_a_step_error_and_nothing_else():
    for cls in (RemoteError, StepError, SudoRefused, Unreachable):
        assert issubclass(cls, HostFault), cls
    for cls in (ConfigError, SecretMissing, XmlError, ValueError, OSError):  # the run's, or caught by name
        assert not issubclass(cls, HostFault), cls


def caught(handler: ast.ExceptHandler) -> list[str]:
    """The names an except clause catches."""
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type] if handler.type else []
    return [k.id if isinstance(k, ast.Name) else ast.unparse(k) for k in kinds]


def test_no_handler_lists_the_parts_of_a_hosts_fault():
    wrong = []
    for path in TASKS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ExceptHandler) and {"StepError", "RemoteError"} <= set(caught(node)):
                wrong.append(f"{path.relative_to(TASKS.parent)}:{node.lineno}")
    assert not wrong, "catch HostFault: " + ", ".join(wrong)
    assert sum(1 for p in TASKS.rglob("*.py") for n in ast.walk(ast.parse(p.read_text()))
               if isinstance(n, ast.ExceptHandler) and "HostFault" in caught(n)) >= 26
