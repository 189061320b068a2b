"""What a node's wso2carbon.log says about its server, as Carbon 4.4.1 writes it (pure).

- `Starting WSO2 Carbon...` (CarbonCoreActivator) begins a server's log: only
  what follows the last one counts;
- `WSO2 Carbon started in N sec` (StartupFinalizerServiceComponent): the server is up;
- `Member joined [uuid]: /ip:port` and `Member left [uuid]: /ip:port`
  (HazelcastGroupManagementAgent): the members the node sees now.
"""
from __future__ import annotations

import re

STARTING = "Starting WSO2 Carbon"
STARTED = re.compile(r"WSO2 Carbon started in (\d+(?:\.\d+)?) sec")
_MEMBER = re.compile(r"Member (joined|left) \[([^\]]*)\]: /?([0-9A-Za-z.:_-]+?):(\d+)\b")


def since_start(text: str) -> str:
    """The log of the server that started last: what follows the last `Starting WSO2 Carbon` line."""
    at = text.rfind(STARTING)
    return text if at < 0 else text[text.rfind("\n", 0, at) + 1:]


def started(text: str) -> bool:
    """The last server logged its start line."""
    return bool(STARTED.search(since_start(text)))


def members(text: str) -> set[tuple[str, int]]:
    """The members (ip, port) the last server sees now: joined and not left since."""
    seen: dict[str, tuple[str, int]] = {}
    for kind, uid, host, port in _MEMBER.findall(since_start(text)):
        if kind == "joined":
            seen[uid] = (host, int(port))
        else:
            seen.pop(uid, None)
    return set(seen.values())
