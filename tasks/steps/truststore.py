"""Every ESB node trusts every node's certificate: create-keystore's part across nodes.  A node's
certificate is read once per run (the run's memo) from its own keystore; this node's
client-truststore.jks is rewritten to trust them all and open with KEYSTORE_PASSWORD (TrustNodes); a
node with a new key adds its certificate to the nodes that already took their turn (push), each
write journaled so that a rollback of this run reaches them."""
from __future__ import annotations

from dataclasses import dataclass

from ..config import Host
from ..formats import jks
from ..engine.ops import Done, Op
from ..engine.plan import Item
from ..remote import HostFault, SMALL_LIMIT
from ..rules import KEYSTORE, TRUSTSTORE
from .base import SECRET_MODE_MASK
from ..engine.context import StepContext, StepError
from ..engine.keystore import SECRET
from .keystorecheck import check_truststore, own_cert


@dataclass(frozen=True)
class TrustNodes(Op):
    """This node's trust store: every ESB node's certificate (rewritten here, written
    like any file); with a new key (`renewed`), its certificate also goes to the nodes
    that already took their turn."""

    truststore: str
    renewed: bool = False

    def describe(self) -> str:
        return f"rewrite {self.truststore}: trust every node's certificate, open with {SECRET}"

    def perform(self, ctx: StepContext) -> Done | None:
        password = ctx.secrets.require(SECRET)
        host = ctx.host
        cert = node_cert(ctx, host)  # the new one when NewKey ran (remembered), else the node's own
        wanted = {h.name: (cert if h.name == host.name else node_cert(ctx, h)) for h in ctx.inv.esb_nodes}
        update_truststore(ctx, password, {n: c for n, c in wanted.items() if c is not None}, self.truststore)
        return Done(peers=push(ctx, password, cert) if self.renewed and cert is not None else {})



def remember(ctx: StepContext, host: Host, cert: bytes | None) -> None:
    if ctx.memo is not None:
        ctx.memo[("node-cert", host.name)] = cert



def node_cert(ctx: StepContext, host: Host) -> bytes | None:
    """A node's certificate when its keystore is its own (read once per run), else None."""
    key = ("node-cert", host.name)
    if ctx.memo is not None and key in ctx.memo:
        return ctx.memo[key]
    password = ctx.secrets.get(SECRET)
    try:
        other = ctx.other(host)
        cert = own_cert(other.remote.read(other.home(KEYSTORE), SMALL_LIMIT, "a keystore"), password, KEYSTORE) \
            if password else None
    except HostFault:
        cert = None  # that node's own row says what is wrong with it
    remember(ctx, host, cert)
    return cert



def update_truststore(ctx: StepContext, password: str, wanted: dict[str, bytes], rel: str = TRUSTSTORE) -> None:
    """This node's trust store: every wanted certificate, opening with the password (written only when it differs)."""
    tpath = ctx.home(rel)
    data = ctx.remote.read(tpath, SMALL_LIMIT, "a trust store")
    items, add, refuse = check_truststore(data, rel, password, wanted)
    if refuse or data is None:
        raise StepError(f"{refuse}; the key and the files are done, the trust store is not")
    if items:
        st = ctx.remote.known_stat(tpath)
        mode = None if st is None else (st.mode & 0o7777 & ~SECRET_MODE_MASK) or None
        ctx.remote.write(tpath, jks.with_trusted(data, add, password), mode=mode)



def _peer_store(other: StepContext, password: str) -> bytes | None:
    """Another node's trust store when it already took its turn (a JKS opening with
    KEYSTORE_PASSWORD), else None: that node takes the certificate at its own turn."""
    data = other.remote.read(other.home(TRUSTSTORE), SMALL_LIMIT, "a trust store")
    if data is None or jks.store_type(data) != "JKS" or not jks.parse(data).opens_with(password):
        return None
    return data



def peers_to_tell(ctx: StepContext, password: str) -> list[str]:
    """The other ESB nodes whose trust store a new key of this node is written to (planned, so that
    the dry-run shows it and each write is reported under its host)."""
    out = []
    for h in ctx.inv.esb_nodes:
        if h.name == ctx.host.name:
            continue
        try:
            if _peer_store(ctx.other(h), password) is not None:
                out.append(h.name)
        except (HostFault, jks.JksError):
            pass  # that node's own row says what is wrong with it
    return out



def push(ctx: StepContext, password: str, cert: bytes) -> dict[str, list[Item]]:
    """Add this node's new certificate to the trust store of every other ESB node that already
    opens with KEYSTORE_PASSWORD (the others take it when their own turn comes): each write backed
    up on that host, under this run, and named in this node's manifest (its rollback reaches
    there). What was written, per host."""
    failed, written = [], {}
    for h in ctx.inv.esb_nodes:
        if h.name == ctx.host.name:
            continue
        try:
            other = ctx.other(h)
            data = _peer_store(other, password)
            if data is None or cert in set(jks.parse(data).all_certs()):
                continue
            ctx.remote.note_peer(h.name)  # journal first: a rollback of this run knows to look there
            other.remote.write(other.home(TRUSTSTORE), jks.with_trusted(data, {ctx.host.name: cert}, password))
            written[h.name] = [Item(TRUSTSTORE, f"certificate of {ctx.host.name}", "its new key, trusted",
                                    "its old key or none")]
        except (HostFault, jks.JksError) as e:
            failed.append(f"{h.name} ({e})")
    if failed:
        raise StepError(f"the new certificate of {ctx.host.name} is not yet in the trust store of "
                        f"{', '.join(failed)}; run create-keystore on those nodes")
    return written
