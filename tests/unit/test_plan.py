"""Plans (tasks/plan.py): items as text and JSON, the unified diff of real bytes, masking, `bool(plan)`."""
from __future__ import annotations

from tasks.plan import Action, FileChange, Item, Plan
from tasks.secrets import MASK, register


def test_item_line_and_dict_show_absent_values_and_mask_secret_items():
    i = Item("conf/carbon.xml", "HostName", "esb.wso2.com", None)
    assert i.line() == "conf/carbon.xml: HostName: wanted 'esb.wso2.com', actual (absent)"
    s = Item("conf/carbon.xml", "SvnPassword", "new-pw", "old-pw", secret=True)
    assert s.as_dict() == {"file": "conf/carbon.xml", "what": "SvnPassword", "wanted": MASK, "actual": MASK}
    assert Item("f", "x", None, "old", secret=True).as_dict()["wanted"] is None


def test_diff_is_of_the_real_bytes_crlf_latin1_and_a_missing_final_newline():
    old = b'<?xml version="1.0" encoding="ISO-8859-1"?>\r\n<a>r\xe9sum\xe9</a>\r\n<b>1</b>'
    new = b'<?xml version="1.0" encoding="ISO-8859-1"?>\r\n<a>r\xe9sum\xe9</a>\r\n<b>2</b>'
    d = FileChange("/opt/x.xml", old, new).diff()
    assert d == ('--- a/opt/x.xml\n+++ b/opt/x.xml\n@@ -1,3 +1,3 @@\n'
                 ' <?xml version="1.0" encoding="ISO-8859-1"?>\r\n <a>r\xe9sum\xe9</a>\r\n'
                 '-<b>1</b>\n\\ No newline at end of file\n+<b>2</b>\n\\ No newline at end of file\n')


def test_a_created_file_diffs_against_nothing():
    assert FileChange("/etc/new", None, b"line\n").diff().splitlines()[2:] == ["@@ -0,0 +1 @@", "+line"]


def test_secrets_are_masked_in_diffs_registered_or_named_by_the_change():
    register("registered-secret-value")
    old = b"<SvnPassword>registered-secret-value</SvnPassword>\n"
    new = b"<SvnPassword>escaped&amp;value</SvnPassword>\n"
    d = FileChange("/c.xml", old, new, secret_lines=("escaped&amp;value",)).diff()
    assert "registered-secret-value" not in d and "escaped" not in d
    assert f"-<SvnPassword>{MASK}</SvnPassword>" in d and f"+<SvnPassword>{MASK}</SvnPassword>" in d


def test_a_plan_is_true_when_it_would_change_anything_and_its_diff_lists_commands():
    assert not Plan() and not Plan(notes=["skipped"])
    assert Plan(items=[Item("f", "x", "1", "2")])
    p = Plan(actions=[Action("svnadmin create /var/svn/repo", lambda: None)])
    assert p and p.diff() == "# would run: svnadmin create /var/svn/repo\n"
    p.extend(Plan(files=[FileChange("/f", b"a\n", b"b\n")], notes=["n"]))
    assert p.diff().startswith("--- a/f\n") and p.notes == ["n"]
