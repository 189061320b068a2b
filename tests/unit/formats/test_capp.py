"""tasks.formats.capp: a .car's name and application, and Carbon's deploy lines about it."""
from __future__ import annotations

import io
import zipfile

import pytest

from tasks.formats import capp

XML = b'<artifacts><artifact name="App" version="1.0.0" type="carbon/application"><dependency/></artifact></artifacts>'


def car(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, b in entries.items():
            z.writestr(n, b)
    return buf.getvalue()


def test_an_archive_names_its_application():
    app = capp.parse_car(car({"artifacts.xml": XML, "App_1.0.0/x.xml": b"<x/>"}))
    assert app == capp.CApp("App", "1.0.0") and app.app_id == "App_1.0.0"


@pytest.mark.parametrize("data, why", [
    (b"not a zip at all", "not a zip"),
    (car({"other.xml": XML}), "no artifacts.xml"),
    (car({"artifacts.xml": b"<artifacts><artifact"}), "not well-formed"),
    (car({"artifacts.xml": b"<artifacts/>"}), "found <artifacts> with 0"),
    (car({"artifacts.xml": b"<nope><artifact name='A' version='1' type='carbon/application'/></nope>"}),
     "found <nope>"),
    (car({"artifacts.xml": b'<artifacts><artifact name="../x" version="1" type="carbon/application"/></artifacts>'}),
     "name '../x'"),
    (car({"artifacts.xml": b'<!DOCTYPE a [<!ENTITY e "x">]><artifacts/>'}), "DOCTYPE"),
    (car({"artifacts.xml": b" " * (capp.ARTIFACTS_LIMIT + 1)}), "refused unread"),
])
def test_what_is_not_a_carbon_application_is_refused_with_the_reason(data, why):
    with pytest.raises(capp.CappError, match=why.replace("(", r"\(").replace(".", r"\.")):
        capp.parse_car(data)


def test_a_damaged_member_is_unreadable_not_a_crash():
    data = bytearray(car({"artifacts.xml": XML * 50}))
    at = data.find(b"PK\x03\x04") + 40
    data[at:at + 20] = b"\x00" * 20
    with pytest.raises(capp.CappError):
        capp.parse_car(bytes(data))


@pytest.mark.parametrize("name, why", [("a/b.car", "a path"), ("..", "a path"), ("x\\y.car", "a path"),
                                       ("App.zip", "does not end with .car"), (".App.car", "starts with '.'"),
                                       ("~App.car", "starts with '~'"), ("A\nB.car", "control"), ("", "a path")])
def test_names_that_cannot_be_deployed(name, why):
    assert why in (capp.check_name(name) or "")


def test_a_plain_name_is_fine():
    assert capp.check_name("App_1.0.0.car") is None


LOG = """\
TID: [-1234] [] [2026-12-07 10:00:00,100]  INFO {org.wso2.carbon.application.deployer.internal.ApplicationManager} -  Deploying Carbon Application : App_1.0.0.car... {x}
TID: [-1234] [] [2026-12-07 10:00:01,250]  INFO {org.wso2.carbon.application.deployer.internal.ApplicationManager} -  Successfully Deployed Carbon Application : App_1.0.0 {super-tenant} {x}
TID: [-1234] [] [2026-12-07 10:00:02,000]  INFO {org.wso2.carbon.application.deployer.internal.ApplicationManager} -  Successfully Deployed Carbon Application : App_1.0.01 {super-tenant} {x}
TID: [-1234] [] [2026-12-07 10:00:03,000] ERROR {org.wso2.carbon.deployment.synchronizer.internal.DeploymentSynchronizer} -  Deployment synchronization update for tenant -1234 failed {org.wso2.carbon.deployment.synchronizer.internal.DeploymentSynchronizer}
TID: [-1234] [] [2026-12-07 10:00:04,000]  INFO {org.wso2.carbon.application.deployer.internal.ApplicationManager} -  Undeploying Carbon Application : App_1.0.0... {x}
"""


def test_the_log_lines_about_one_application_in_order_with_their_time():
    ev = capp.app_events(LOG, "App_1.0.0")
    assert [k for k, _ in ev] == [capp.DEPLOYED, capp.UNDEPLOYED]
    assert ev[0][1] == pytest.approx(capp.stamp("[1970-01-01 00:00:00,000]") + 1796637601.25)
    assert ev[1][1] - ev[0][1] == pytest.approx(2.75)


def test_the_last_depsync_or_deployer_error_line():
    assert capp.last_error(LOG) == "Deployment synchronization update for tenant -1234 failed"
    assert capp.last_error("INFO all good") is None
