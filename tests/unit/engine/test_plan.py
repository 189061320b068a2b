"""Plans (tasks/engine/plan.py): items as text and JSON, the unified diff of real bytes, masking, `bool(plan)`."""
from __future__ import annotations

import pytest

from tasks.engine.ops import Command
from tasks.engine.plan import FileChange, Item, Plan
from tasks.secrets import MASK, redact, register


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
    p = Plan(actions=[Command(("svnadmin", "create", "/var/svn/repo"), "svnadmin create failed")])
    assert p and p.diff() == "# would run: svnadmin create /var/svn/repo\n"
    p.extend(Plan(files=[FileChange("/f", b"a\n", b"b\n")], notes=["n"]))
    assert p.diff().startswith("--- a/f\n") and p.notes == ["n"]


NON_ASCII = ["Contraseña-2024", "Pass€word-77", "Ünïcødé&<x>'\"", "пароль-секрет", "密码-password"]


@pytest.mark.parametrize("secret", NON_ASCII)
@pytest.mark.parametrize("encoding", ["UTF-8", "ISO-8859-1"])
def test_a_secret_in_any_alphabet_is_masked_as_the_file_writes_it(secret, encoding):
    """The XML layer writes a secret in the file's encoding (letters it cannot hold as character references);
    an old value may be spelled with references by hand: every form is masked, old and new."""
    from tasks.formats.xmldoc import XmlDoc
    decl = f'<?xml version="1.0" encoding="{encoding}"?>\n'
    by_ref = "".join(f"&#{ord(c)};" for c in secret)  # an old value written with references only
    old = (decl + f"<a>\n  <Password>{by_ref}</Password>\n  <Other>x</Other>\n</a>\n").encode(encoding.lower())
    doc = XmlDoc(old, "f.xml")
    el = doc.find("Password")
    assert el.text == secret
    new_value = secret[::-1] + "-new"
    doc.set_text(el, new_value)
    fc = FileChange("/f.xml", old, doc.render(), secret_lines=(secret, new_value, doc.source_text(el)),
                    encoding=doc.encoding)
    diff = fc.diff()
    assert diff.count(MASK) == 2, diff
    for form in (secret, new_value, by_ref, secret.encode("utf-8").decode("latin-1")):
        assert form not in diff
    assert "-  <Password>********</Password>" in diff and "+  <Password>********</Password>" in diff


@pytest.mark.parametrize("secret", NON_ASCII)
def test_redact_masks_every_printed_form_of_a_registered_secret(secret):
    import json
    import urllib.parse
    from tasks.secrets import register
    register(secret)
    forms = [secret, secret.encode("utf-8").decode("latin-1"), json.dumps(secret)[1:-1],
             "".join(f"&#{ord(c)};" for c in secret), "".join(f"&#x{ord(c):x};" for c in secret),
             urllib.parse.quote(secret, safe="")]
    for form in forms:
        assert form not in redact(f"before {form} after"), form
        assert redact(f"before {form} after") == f"before {MASK} after"


def test_an_unexpected_unicode_error_names_no_character_or_position_of_a_secret():
    from tasks.secrets import safe_error
    try:
        "Pass€word".encode("latin-1")
    except UnicodeEncodeError as e:
        msg = safe_error(e)
    assert "€" not in msg and "\\u20ac" not in msg and "position" not in msg and "latin-1" in msg


def test_a_binary_file_is_never_printed_in_a_diff_only_its_sizes_and_digests():
    import hashlib
    old, new = b"\xfe\xed\xfe\xed\0\0\0\x02" + bytes(2106), b"\xfe\xed\xfe\xed\0\0\0\x02" + bytes(range(256)) * 11 + b"xx"
    d = FileChange("/opt/wso2/client-truststore.jks", old, new).diff()
    h = lambda b: hashlib.sha256(b).hexdigest()[:12]
    assert d == ("--- a/opt/wso2/client-truststore.jks\n+++ b/opt/wso2/client-truststore.jks\n"
                 f"binary, 2,114 -> 2,826 bytes, sha256 {h(old)}.. -> {h(new)}..\n")
    assert "absent -> 3 bytes" in FileChange("/k.jks", None, b"\0\1\2").diff()
    latin1_text = "<a>résumé</a>\n".encode("latin-1")  # not UTF-8, still text: a diff
    assert "@@" in FileChange("/x.xml", latin1_text, latin1_text + b"<b/>\n").diff()
    assert "binary" in FileChange("/x.bin", bytes(range(1, 32)) * 20, b"\x81\x82" * 40).diff()  # undecodable


def test_line_items_name_the_lines_that_differ():
    from tasks.engine.plan import line_items
    old = b"upstream esb {\n    server 10.0.0.1:8280;\n}\n"
    new = b"upstream esb {\n    server 10.0.0.1:8280;\n    server 10.0.0.2:8280;\n}\n"
    assert [i.line() for i in line_items("/etc/nginx/esb.conf", old, new, "hosts.toml")] == [
        "/etc/nginx/esb.conf: line 3: wanted 'server 10.0.0.2:8280;', actual (absent)"]
    created = line_items("/n", None, new, "hosts.toml")[0]
    assert created.line() == "/n: content: wanted '4 lines from hosts.toml', actual (absent)"
    assert line_items("/n", old, old.replace(b"\n", b"\r\n"), "x")[0].actual == "43 bytes (line ends differ)"
