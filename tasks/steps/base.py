"""The XML-file step pattern (the Step contract: tasks/engine/step.py; a step's context
and error: tasks/engine/context.py).

A step's `plan(ctx)` reads remote state and returns a Plan without changing
anything; `apply(ctx, plan)` performs it.  XML steps only write pure planner
functions `(XmlEdits, Host, Inventory, Secrets) -> None` that record items and
splices; `XmlStep` reads, plans, renders, proves convergence and diffs.
"""
from __future__ import annotations

import posixpath
from typing import Callable

from ..config import Host, Inventory
from ..engine.plan import FileChange, Item, Plan
from ..engine.context import StepContext, StepError
from ..engine.step import Step
from ..remote import RemoteError
from ..secrets import Secrets
from ..formats.securevault import VAULT_PLACEHOLDER, vault_alias
from ..formats.xmldoc import XmlDoc, XmlError
from ..formats.xmltext import element_markup, escape


class XmlEdits:
    """Collects drift items and splices for one XML file; `changed` when anything differs."""

    def __init__(self, doc: XmlDoc, label: str):
        self.doc = doc
        self.label = label
        self.items: list[Item] = []
        self.secret_values: list[str] = []
        self.advisories: list[Item] = []  # hardening findings verify warns about when the step is switched off

    def advise(self, what: str, wanted, actual) -> None:
        """A hardening finding (shown as a warning when the step's [security] switch is off)."""
        self.advisories.append(Item(self.label, what, wanted, actual))

    def item(self, what: str, wanted, actual, secret: bool = False) -> None:
        self.items.append(Item(self.label, what, wanted, actual, secret))

    def text(self, el, wanted: str, what: str, secret: bool = False) -> None:
        """Make an existing element's text `wanted`."""
        actual = el.text or ""
        if secret and vault_alias(el) is not None and actual.strip() == VAULT_PLACEHOLDER:
            return  # the value lives in Secure Vault: secure-vault checks it (writing it back here would undo that)
        if secret:  # the old value as the file writes it too: any escaping of it must be masked
            self.secret(wanted, actual, self.doc.source_text(el))
        if actual.strip() != wanted:
            self.item(what, wanted, actual, secret)
            self.doc.set_text(el, wanted)

    def secret(self, *values: str) -> None:
        """Mask these values (raw and as escaped in the file) in the dry-run diff."""
        self.secret_values += [v for x in values if x for v in {x, escape(x), x.strip()} if v]

    def attr(self, el, name: str, wanted: str, what: str, after: str | None = None) -> None:
        """Make attribute `name` of el `wanted` (a new one goes after attribute `after`)."""
        actual = el.get(name)
        if actual != wanted:
            self.item(f"{what}/@{name}", wanted, actual)
            self.doc.set_attr(el, name, wanted, after=after)

    def child_text(self, parent, tag: str, wanted: str, what: str, after=None, secret: bool = False,
                   attrs: dict | None = None, match: dict | None = None) -> None:
        """Ensure <tag attrs>wanted</tag> under parent: edit it,
        uncomment it, or add it after `after`.

        The element is looked up by `match` (default: attrs)."""
        match = attrs if match is None else match
        pred = "".join(f"[@{k}='{v}']" for k, v in (match or {}).items())
        el = self.doc.find(f"{tag}{pred}", parent)
        if el is not None:
            self.text(el, wanted, what, secret)
            return
        if secret:
            self.secret(wanted)
        self.item(what, wanted, None, secret)
        markup = element_markup(tag, wanted, attrs)
        comment = self.doc.commented(parent, tag, match)
        if comment is not None:
            self.doc.replace(comment, markup)
        elif after is not None:
            self.doc.insert_after(after, markup)
        else:
            self.doc.insert_child(parent, markup)


Planner = Callable[[XmlEdits, Host, Inventory, Secrets], None]


class XmlStep(Step):
    """A step made of pure planners over XML files in the product home."""

    #: (path relative to product home, planner) pairs
    files: tuple[tuple[str, Planner], ...] = ()

    def planners(self, host: Host) -> tuple[tuple[str, Planner], ...]:
        return self.files

    def reads(self, host: Host, inv: Inventory) -> list[str]:
        return [posixpath.join(host.product_home, rel) for rel, _ in self.planners(host)]

    def plan(self, ctx: StepContext) -> Plan:
        plan = Plan()
        writes = ctx.checks.renders  # verify reports the items: no new bytes are rendered, none proved
        for rel, planner in self.planners(ctx.host):
            path = ctx.home(rel)
            doc = ctx.xml(rel)  # the run's one parse of the file; this plan's edits are its own
            old = doc.data
            edits = plan_doc(doc, rel, planner, ctx.host, ctx.inv, ctx.secrets, prove=writes)
            plan.items += edits.items
            plan.advisories += edits.advisories
            mode = None
            if edits.secret_values:  # the file holds a secret of ours: no access for others
                mode, item = secret_file_mode(ctx.remote.known_stat(path), rel)  # the read's own stat
                if item is not None:
                    plan.items.append(item)
            if writes and (edits.items or mode is not None):
                plan.files.append(FileChange(path, old, edits.doc.render() if edits.items else old, mode=mode,
                                             secret_lines=tuple(edits.secret_values),
                                             encoding=edits.doc.encoding))
        return plan


#: permission bits a file holding a secret never keeps: others' (the group keeps what it had:
#: Carbon's own group may need to read the file; every other local user may not)
SECRET_MODE_MASK = 0o007


def secret_file_mode(st, label: str) -> tuple[int | None, Item | None]:
    """The mode a file holding a secret gets (None when it has it, or is missing), and the drift item."""
    if st is None:
        return None, None
    mode = st.mode & 0o7777
    if not mode & SECRET_MODE_MASK:
        return None, None
    wanted = mode & ~SECRET_MODE_MASK
    return wanted, Item(label, "mode (holds a secret: no access for others)", f"{wanted:04o}", f"{mode:04o}")


def plan_xml(data: bytes, label: str, planner: Planner, host: Host, inv: Inventory,
             secrets: Secrets, prove: bool = True) -> XmlEdits:
    """Run a planner over bytes; when it edits (and the edit is to be written: prove), prove the
    result needs no further edit."""
    return plan_doc(XmlDoc(data, label), label, planner, host, inv, secrets, prove)


def plan_doc(doc: XmlDoc, label: str, planner: Planner, host: Host, inv: Inventory,
             secrets: Secrets, prove: bool = True) -> XmlEdits:
    """plan_xml on a document (a fresh one: the run's cache hands out one per plan)."""
    if doc.changed:
        raise StepError(f"{label}: internal error, a planner was handed a document another one edited")
    edits = XmlEdits(doc, label)
    planner(edits, host, inv, secrets)
    if edits.items and prove:
        again = XmlEdits(XmlDoc(edits.doc.render(), label), label)
        planner(again, host, inv, secrets)
        if again.items:
            raise StepError(f"{label}: internal error, the edit does not converge: {again.items[0].line()}")
    return edits


__all__ = ["Step", "StepContext", "StepError", "XmlStep", "XmlEdits", "plan_xml", "plan_doc",
           "RemoteError", "XmlError"]
