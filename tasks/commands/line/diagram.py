"""`fab diagram`: the cluster as its files configure it, drawn (commands/diagram.py)."""
from __future__ import annotations

from ...engine.mode import Mode
from ..command import ALL, Command, Run, always, flag


def diagram(run: Run) -> None:
    """The picture to --output (default: cluster.svg beside hosts.toml), checked before any host is read."""
    from pathlib import Path

    from ..diagram import check_output, diagram
    out = Path(run.args.output) if run.args.output else run.inv.base_dir / "cluster.svg"
    check_output(out)
    diagram(run.inv, run.targets(), run.session, run.reporter, out)


COMMANDS = [Command(
    "diagram", "the cluster as its files configure it, drawn (Graphviz), drift in red; read-only; exit as verify",
    (flag("output", "", help="the picture to write, .svg or .png (default: cluster.svg beside hosts.toml)"),
     flag("json"), flag("verbose")),
    always(Mode.VERIFY), diagram, group="cluster", order=50, targets=ALL, loads=("diagram",), progress=False)]
