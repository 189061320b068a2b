"""create-dbs' product SQL scripts (tasks/steps/dbscript.py, issue 29): a known script by its digest (4.9.0, 5.0.0,
the project's sample), any other checked statement by statement, each way of hiding a statement refused, a BOM or
CRLF alone keeping a script of schema runnable."""
from __future__ import annotations

import pytest

from tasks.steps.dbscript import IDENTITY_SCRIPT, MAIN_SCRIPT, Script
from tests.lab import SAMPLE_FIXTURE, SHARED_FIXTURE, product_fixture

MAIN_BYTES = (product_fixture() / MAIN_SCRIPT).read_bytes()
EXTRA_IDENTITY = product_fixture().parent / "wso2esb-4.9.0.extras/not-shipped/dbscripts/identity/mysql.sql"
R500 = SHARED_FIXTURE.parent / "wso2esb-5.0.0"
WHERE = "esb-mgr:/opt/wso2esb-4.9.0/dbscripts/mysql.sql"


def test_the_fixture_scripts_are_known_by_their_digest():
    main = Script.parse(MAIN_SCRIPT, MAIN_BYTES, WHERE)
    assert main.refusal is None and main.where == WHERE
    assert main.origin == ("shipped 4.9.0" if product_fixture() == SHARED_FIXTURE
                           else "sample 4.9.0 (this project's reduced copy)")


@pytest.mark.skipif(not R500.is_dir(), reason="../shared absent")
def test_the_500_scripts_are_known_by_their_digest():
    main = Script.parse(MAIN_SCRIPT, (R500 / MAIN_SCRIPT).read_bytes())
    identity = Script.parse(IDENTITY_SCRIPT, (R500 / IDENTITY_SCRIPT).read_bytes())
    assert (main.origin, identity.origin) == ("shipped 5.0.0", "shipped 5.0.0")
    assert main.sha256 == "60641464cccb888512613f5ce0c89251a7b0dab04bf8b7f32886d3decaa6624f"
    assert main.refusal is None and identity.refusal is None


def test_another_script_of_schema_only_is_accepted_and_says_so():
    identity = Script.parse(IDENTITY_SCRIPT, EXTRA_IDENTITY.read_bytes())
    assert identity.refusal is None and identity.shipped is None
    assert identity.origin == f"not shipped, {len(identity.statements)} statements, all schema"


@pytest.mark.parametrize("change", [
    lambda b: b"\xef\xbb\xbf" + b + b"\nDROP DATABASE mysql;\n",  # a BOM does not hide the parser
    lambda b: (b + b"\nDROP DATABASE mysql;\n").replace(b"\n", b"\r\n"),  # nor do CRLF line ends
    lambda b: b + b"\ncreate table x (a int); -- a comment\ndrop database mysql;\n",
    lambda b: b + b"\ncreate table x (a int) /*!50000 , b int) ; drop database mysql */;\n",
    lambda b: b + b"\nINSERT INTO `mysql`.`user` VALUES ('x');\n",
    lambda b: b + b"\nINSERT INTO UM_OTHER VALUES ('x');\n",
])
def test_each_way_of_hiding_a_statement_is_refused(change):
    sc = Script.parse(MAIN_SCRIPT, change(MAIN_BYTES), WHERE)
    assert sc.refusal is not None and sc.shipped is None


def test_a_bom_or_crlf_alone_keeps_a_script_of_schema_runnable():
    for data in (b"\xef\xbb\xbf" + MAIN_BYTES, MAIN_BYTES.replace(b"\n", b"\r\n")):
        sc = Script.parse(MAIN_SCRIPT, data, WHERE)
        assert sc.refusal is None and sc.shipped is None  # not the shipped bytes: checked, and schema
        assert sc.statements[0].text.startswith("CREATE TABLE")  # no BOM sent to the server
        assert sc.tables == Script.parse(MAIN_SCRIPT, MAIN_BYTES).tables


def test_the_sample_digest_is_the_samples_own():
    sample = Script.parse(MAIN_SCRIPT, (SAMPLE_FIXTURE / MAIN_SCRIPT).read_bytes())
    assert sample.origin == "sample 4.9.0 (this project's reduced copy)"
