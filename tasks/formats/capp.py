"""A Carbon application archive (`.car`) and what Carbon logs about one (pure).

A `.car` is a zip whose `artifacts.xml` names the application: `<artifacts><artifact name="App"
version="1.0.0" type="carbon/application">`. Carbon's CApp deployer (ApplicationManager) knows it as
`<name>_<version>` and logs `Successfully Deployed Carbon Application : App_1.0.0 {super-tenant}`,
`Undeploying Carbon Application : App_1.0.0...`, and an error line when it cannot deploy one.
`check_name` says why a file name cannot be deployed (a path, not `.car`, a name DepSync never
commits); `parse_car` reads the archive's own bytes (a size-capped artifacts.xml, entities never
resolved); `app_events` and `last_error` read a node's log.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from .xmldoc import doctype_in_prolog, safe_parser

#: the largest archive deploy takes (CONTRACT §12)
CAR_LIMIT = 256 << 20
#: the largest artifacts.xml read out of an archive (the real ones are a few kB)
ARTIFACTS_LIMIT = 1 << 20
ARTIFACTS = "artifacts.xml"
APP_TYPE = "carbon/application"
#: the folder of the product home Carbon deploys archives from (DepSync carries it)
CARBONAPPS = "repository/deployment/server/carbonapps"


class CappError(ValueError):
    """The archive (or its name) cannot be deployed; the message says why."""


@dataclass(frozen=True)
class CApp:
    """An archive's application: its name and version, as artifacts.xml gives them."""

    name: str
    version: str

    @property
    def app_id(self) -> str:
        """What Carbon calls it in its log: `<name>_<version>`."""
        return f"{self.name}_{self.version}"


def check_name(name: str) -> str | None:
    """Why a file name cannot be deployed into carbonapps (None when it can): a path, not ending
    `.car`, or a name carbon-commons' SVN synchronizer never adds (starting with `.` or `~`)."""
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        return f"{name!r} is a path, not a file name (the archive goes into {CARBONAPPS}/<file name>)"
    if any(ord(c) < 32 or c == "\x7f" for c in name):
        return f"{name!r} holds a control character"
    if not name.endswith(".car"):
        return f"{name!r} does not end with .car (Carbon deploys Carbon application archives by that suffix)"
    if name.startswith((".", "~")):
        return f"{name!r} starts with {name[0]!r}: the deployment synchronizer never commits such a file"
    return None


def parse_car(data: bytes) -> CApp:
    """The application an archive's bytes declare; CappError when they are not a zip, have no
    artifacts.xml, or it is unreadable or names no carbon/application artifact."""
    if len(data) > CAR_LIMIT:
        raise CappError(f"{len(data)} bytes: larger than {CAR_LIMIT >> 20} MiB")
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise CappError(f"not a zip archive ({e})") from None
    with z:
        info = next((i for i in z.infolist() if i.filename == ARTIFACTS), None)
        if info is None:
            raise CappError(f"no {ARTIFACTS} at the archive's top (not a Carbon application archive)")
        if info.file_size > ARTIFACTS_LIMIT:
            raise CappError(f"{ARTIFACTS} is {info.file_size} bytes, more than {ARTIFACTS_LIMIT} (refused unread)")
        try:
            with z.open(info) as f:
                xml = f.read(ARTIFACTS_LIMIT + 1)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError) as e:
            raise CappError(f"{ARTIFACTS} cannot be read from the archive ({e})") from None
    return parse_artifacts(xml)


def parse_artifacts(xml: bytes) -> CApp:
    """The carbon/application artifact of artifacts.xml's bytes (no DTD, no entity resolved)."""
    if len(xml) > ARTIFACTS_LIMIT:
        raise CappError(f"{ARTIFACTS} is larger than {ARTIFACTS_LIMIT} bytes")
    if doctype_in_prolog(xml):
        raise CappError(f"{ARTIFACTS} declares a DOCTYPE; refused (Carbon's own archives have none)")
    try:
        root = etree.fromstring(xml, safe_parser())
    except etree.XMLSyntaxError as e:
        raise CappError(f"{ARTIFACTS} is not well-formed XML ({e})") from None
    apps = [a for a in root.iter("artifact") if a.get("type") == APP_TYPE] if root.tag == "artifacts" else []
    if root.tag != "artifacts" or len(apps) != 1:
        raise CappError(f"{ARTIFACTS} must be <artifacts> with one <artifact type=\"{APP_TYPE}\">; "
                        f"found <{root.tag}> with {len(apps)}")
    name, version = (apps[0].get("name") or "").strip(), (apps[0].get("version") or "").strip()
    for what, value in (("name", name), ("version", version)):
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,200}", value):
            raise CappError(f"{ARTIFACTS}: the application's {what} {value!r} is empty or not a plain word")
    return CApp(name, version)


# ---------------------------------------------------------------- the log

_STAMP = re.compile(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})\]")
DEPLOYED = "deployed"
UNDEPLOYED = "undeployed"
FAILED = "failed"
#: the classes whose ERROR (or WARN) lines say why DepSync or the deployer did not do its part
_SOURCES = ("deployment.synchronizer", "application.deployer", "Carbon Application", "DeploymentSynchronizer")


def stamp(line: str) -> float | None:
    """A log line's time as Carbon writes it (the node's local time), as seconds of that wall clock
    (datetime's naive epoch: the caller subtracts the node's UTC offset); None without one."""
    m = _STAMP.search(line)
    if not m:
        return None
    at = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
    return (at - datetime(1970, 1, 1)).total_seconds() + int(m.group(2)) / 1000


def app_events(text: str, app_id: str) -> list[tuple[str, float | None]]:
    """(deployed | undeployed | failed, the line's wall-clock time) of each line about app_id, in order."""
    word = re.escape(app_id)
    end = r"(?=\.\.\.|\s|$)"  # `App_1.0.0...` or `App_1.0.0 {super-tenant}`, never `App_1.0.01`
    deployed = re.compile(rf"Successfully Deployed Carbon Application : {word}{end}")
    undeployed = re.compile(rf"Undeploying Carbon Application : {word}{end}")
    failed = re.compile(rf"ERROR .*Carbon Application.*\b{word}")
    out = []
    for line in text.splitlines():
        if app_id not in line:
            continue
        kind = DEPLOYED if deployed.search(line) else UNDEPLOYED if undeployed.search(line) else \
            FAILED if failed.search(line) else None
        if kind:
            out.append((kind, stamp(line)))
    return out


def last_error(text: str) -> str | None:
    """The last ERROR or WARN line of DepSync or the application deployer (without its prefix), or None."""
    for line in reversed(text.splitlines()):
        if (" ERROR " in line or " WARN " in line) and any(s in line for s in _SOURCES):
            msg = line.split("} - ", 1)[-1].strip() if "} - " in line else line.strip()
            return re.sub(r"\s*\{[\w.$]+\}\s*$", "", msg)[:300]
    return None
