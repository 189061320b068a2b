"""set-worker-profile: the product's own start script starts a worker with the worker profile.

WSO2's clustering documentation for Carbon 4.4 starts a worker with `-DworkerNode=true` (the
deployment synchronizer then only checks out, the management console is off);
`bin/wso2server.sh` hard-codes `-DworkerNode=false` on the JVM's command line. This step edits
that one token in the script (the file is the product's own: every other byte, its mode and
owner stay; the write is atomic and backed up like any file): `true` on workers, `false` on the
manager. Pure: `profile_edit(text, worker)`.
"""
from __future__ import annotations

import re

from ..config import Host, Inventory
from ..engine.plan import FileChange, Item, Plan
from ..rules import PID_FILE, START_SCRIPT
from .base import Step
from ..engine.context import StepContext, StepError

#: the JVM option of the start script's java command line (the last -D
#: of a name wins: the script's own)
_FLAG = re.compile(rb"(?m)^(\s*-DworkerNode=)(true|false)(\s*\\?\s*)$")


def profile_edit(data: bytes, worker: bool) -> tuple[bytes, str | None]:
    """(the script with -DworkerNode set for this role, the value it had); a StepError when the
    script has no such line, or more than one (not the product's script: nothing is guessed)."""
    found = _FLAG.findall(data)
    if len(found) != 1:
        raise StepError(f"{START_SCRIPT}: expected one '-DworkerNode=...' line on the java command line, found "
                        f"{len(found)} (not the product's start script?); not changed")
    wanted = b"true" if worker else b"false"
    new = _FLAG.sub(lambda m: m.group(1) + wanted + m.group(3), data)
    return new, found[0][1].decode()


class SetWorkerProfile(Step):
    name = "set-worker-profile"
    phase = "nodes"
    help = ("bin/wso2server.sh starts workers with -DworkerNode=true, the manager with false (WSO2 Carbon 4.4 "
            "clustering: the worker profile)")

    def reads(self, host: Host, inv: Inventory) -> list[str]:
        # and the server's pid file, read ahead with the rest: after a patch, whether a running
        # server needs a restart is then known without another round trip where none runs
        return [f"{host.product_home}/{START_SCRIPT}", f"{host.product_home}/{PID_FILE}"]

    def plan(self, ctx: StepContext) -> Plan:
        path = ctx.home(START_SCRIPT)
        data = ctx.read_required(path, kind="a start script")
        worker = ctx.host.role == "worker"
        new, had = profile_edit(data, worker)
        plan = Plan()
        if new != data:
            plan.items.append(Item(START_SCRIPT, "-DworkerNode", "true" if worker else "false", had))
            plan.files.append(FileChange(path, data, new))
        return plan
