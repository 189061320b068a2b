"""Typed plan records and the one applier (tasks/engine/ops.py): every record of the project is a frozen dataclass that
describes itself from its fields and holds no closure; apply_plan runs early records, files, then the rest, on a
real sshd."""
from __future__ import annotations

import dataclasses
import hashlib
import importlib
import pkgutil
from dataclasses import dataclass

import tasks
from tasks.hoststoml import load_inventory
from tasks.engine.ops import Chmod, Command, MakeDir, Op, Remove, Upload, apply_plan, nginx_message
from tasks.engine.plan import FileChange, Plan
from tasks.secrets import Secrets
from tasks.engine.context import StepContext, StepError
from tests.unit.remote.conftest import remote  # noqa: F401  (the fixture)


def _all_records() -> list[type]:
    for m in pkgutil.walk_packages(tasks.__path__, "tasks."):
        importlib.import_module(m.name)
    out, todo = [], list(Op.__subclasses__())
    while todo:
        c = todo.pop()
        out.append(c)
        todo += c.__subclasses__()
    return [c for c in out if c.__module__.startswith("tasks.")]


RECORDS = _all_records()


def test_every_record_is_a_frozen_dataclass_of_plain_fields_that_describes_and_performs_itself():
    assert len(RECORDS) >= 15, [c.__name__ for c in RECORDS]  # the generic ones and every step's own
    for c in RECORDS:
        assert dataclasses.is_dataclass(c) and c.__dataclass_params__.frozen, c
        assert "describe" in vars(c) and "perform" in vars(c), f"{c.__name__} must say and do its own work"
        for f in dataclasses.fields(c):
            assert "Callable" not in str(f.type), f"{c.__name__}.{f.name}: a record holds no closure"


def test_descriptions_come_from_the_fields():
    assert MakeDir("/opt/x/lib").describe() == "mkdir -p /opt/x/lib"
    data = b"PK\x05\x06" + bytes(18)
    up = Upload("artifacts/d.jar", "/opt/x/lib/d.jar", data, hashlib.sha256(data).hexdigest(), 0o644)
    assert up.describe() == f"upload artifacts/d.jar -> /opt/x/lib/d.jar (22 bytes, sha256 {up.sha256})"
    assert Remove("/opt/x/lib/old.jar").describe() == "remove /opt/x/lib/old.jar (backed up first)"
    assert Remove("/opt/x/new.jar", backup=False).describe() == "remove /opt/x/new.jar"
    assert Chmod("/var/svn/r/conf/passwd", 0o600).describe() == "chmod 600 /var/svn/r/conf/passwd"
    assert Command(("svnadmin", "create", "/var/svn/r"), "x").describe() == "svnadmin create /var/svn/r"
    with_space = Command(("echo", "a b"), "x")
    assert with_space.describe() == "echo a b"  # what is shown; what runs is quoted per argument


@dataclass(frozen=True)
class _Look(Op):
    """A record that notes, when it runs, whether the plan's file is written yet."""

    path: str
    seen: list
    early_flag: bool = False

    @property
    def early(self) -> bool:  # type: ignore[override]
        return self.early_flag

    def describe(self) -> str:
        return f"look at {self.path}"

    def perform(self, ctx) -> None:
        self.seen.append((self.early_flag, ctx.remote.read(self.path)))


def _ctx(lab, r, name="esb-w1") -> StepContext:
    inv = load_inventory(lab.hosts_toml)
    return StepContext(inv.hosts[name], inv, Secrets({}), r)


def test_apply_plan_runs_early_records_then_files_then_the_rest(lab, remote):
    r = remote()
    home = lab.hosts["esb-w1"].home
    f = home / "repository" / "conf" / "carbon.xml"
    old = f.read_bytes()
    seen: list = []
    plan = Plan(files=[FileChange(str(f), old, old + b"<!-- new -->\n")],
                actions=[_Look(str(f), seen), _Look(str(f), seen, early_flag=True)])
    apply_plan(_ctx(lab, r), plan)
    assert seen == [(True, old), (False, old + b"<!-- new -->\n")]


def test_generic_records_do_what_they_describe(lab, remote):
    r = remote()
    home = lab.hosts["esb-w1"].home
    lib = home / "repository" / "components" / "extra"
    jar = lib / "a.jar"
    stale = home / "repository" / "conf" / "stale.txt"
    stale.write_bytes(b"old\n")
    pw = home / "repository" / "conf" / "carbon.xml"
    data = b"jar bytes"
    plan = Plan(actions=[MakeDir(str(lib)), Upload("a.jar", str(jar), data, hashlib.sha256(data).hexdigest(), 0o640),
                         Remove(str(stale)), Chmod(str(pw), 0o600), Command(("touch", str(lib / "made by touch")), "t")])
    apply_plan(_ctx(lab, r), plan)
    assert jar.read_bytes() == data and jar.stat().st_mode & 0o777 == 0o640
    assert not stale.exists() and pw.stat().st_mode & 0o777 == 0o600
    assert (lib / "made by touch").exists()  # one argument with a space: quoted when it runs
    assert r.written  # backed up: rollback restores them


def test_a_failing_command_names_the_failure_and_its_last_line(lab, remote):
    r = remote()
    plan = Plan(actions=[Command(("ls", "/no/such/dir"), "listing failed")])
    try:
        apply_plan(_ctx(lab, r), plan)
    except StepError as e:
        assert str(e).startswith("listing failed: ") and "No such file" in str(e)
    else:
        raise AssertionError("a failing command must fail the step")


def test_nginx_message_keeps_its_own_complaint():
    err = ('nginx: [emerg] cannot load certificate "/x/mgt.crt": PEM_read_bio_X509_AUX() failed\n'
           "nginx: configuration file /x/nginx.conf test failed\n")
    assert nginx_message(err) == 'nginx: [emerg] cannot load certificate "/x/mgt.crt": PEM_read_bio_X509_AUX() failed'
