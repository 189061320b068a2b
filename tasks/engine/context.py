"""A step's context on one host and the error that stops a step there: what the
engine (runner, verify, live, rollback, lifecycle) and every step share.
`Session.context` assembles it, in one place."""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Protocol, TypeVar

from ..config import Host, Inventory
from ..formats import xmldoc
from ..formats.xmldoc import XmlDoc
from .mode import Checks
from ..remote import CONFIG_LIMIT, HostFault
from ..remote.protocol import NodeIO
from ..secrets import Secrets

if TYPE_CHECKING:
    from ..remote import RemoteHost

T = TypeVar("T")


class StepError(HostFault):
    """A step cannot proceed on a host; the message says why (no secrets)."""


@dataclass
class StepContext:
    """One host of a run as a step sees it: the host, hosts.toml, the secrets, the host's
    connection, what the run asks of the plan, the other hosts' connections and the run's memo."""

    host: Host
    inv: Inventory
    secrets: Secrets
    remote: NodeIO  # the narrow face of the host's RemoteHost (tasks/remote/protocol.py)
    checks: Checks = field(default_factory=Checks)  # what the run asks of the plan (steps never see the mode)
    remote_for: Callable[[Host], NodeIO] | None = None  # another host's RemoteHost of the same run
    memo: dict | None = None  # the run's memo (Session.memo): what one read serves every host of the run

    def other(self, host: Host) -> "StepContext":
        """A context for another host of the run (its own connection), e.g. to read the manager's files."""
        if host.name == self.host.name:
            return self
        if self.remote_for is None:
            raise StepError(f"{host.name}: no connection available (step run without a session)")
        return replace(self, host=host, remote=self.remote_for(host))

    def home(self, rel: str) -> str:
        """Absolute remote path inside the product home."""
        return posixpath.join(self.host.product_home, rel)

    def read_required(self, path: str, limit: int = CONFIG_LIMIT, kind: str = "a configuration file") -> bytes:
        """A remote file the step needs; a clear error naming the product home when absent."""
        data = self.remote.read(path, limit, kind)
        if data is None:
            home = self.host.product_home
            if path.startswith(home + "/") and self.remote.stat(home) is None:
                raise StepError(f"product home {home} does not exist on {self.host.name}")
            raise StepError(f"{path} is missing on {self.host.name}")
        return data

    def path(self, rel_or_path: str) -> str:
        """An absolute remote path: as given, or inside the product home."""
        return rel_or_path if rel_or_path.startswith("/") else self.home(rel_or_path)

    def document(self, rel_or_path: str, parse: Callable[[bytes, str], T], limit: int = CONFIG_LIMIT,
                 kind: str = "a configuration file") -> T:
        """A required file's parsed document (`parse(bytes, label)`, the label being the path as given),
        from the run's read cache: each file is read once and parsed once per run, whoever asks. The
        document is shared: read it, never change it."""
        path = self.path(rel_or_path)
        return self.parsed(path, self.read_required(path, limit, kind), parse, rel_or_path)

    def parsed(self, path: str, data: bytes, parse: Callable[[bytes, str], T], label: str | None = None) -> T:
        """The run's one parse of these bytes of the host's file at path (read by the caller: an optional
        file, or one read past the cache); shared, never to be changed."""
        return self.remote.cache.document(path, data, parse, label)

    def xml(self, rel_or_path: str) -> XmlDoc:
        """A required XML file as a fresh XmlDoc on the run's one parse of it: edits recorded on it are
        its own (splices), the shared tree is never changed."""
        return XmlDoc.over(self.document(rel_or_path, xmldoc.parse))


class Nodes(Protocol):
    """What code that looks at several hosts of a run needs of it: hosts.toml, the secrets and each host's
    connection (NodeIO). The Session is one (its `remote` connects a host on first use, and raises
    RemoteError for one that cannot be reached); a unit test builds one over MemoryNodes (tests/memnode.py)."""

    @property
    def inv(self) -> Inventory: ...

    @property
    def secrets(self) -> Secrets: ...

    def remote(self, host: Host) -> NodeIO: ...


def engine_io(ctx: StepContext) -> RemoteHost:
    """The whole RemoteHost behind a context, for the engine's own parts that run as steps (rollback
    reads the run journal and the manifests): a step proper has only NodeIO."""
    from ..remote import RemoteHost
    assert isinstance(ctx.remote, RemoteHost), type(ctx.remote)
    return ctx.remote

