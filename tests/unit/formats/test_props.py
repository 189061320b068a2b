"""tasks.formats.props: Java .properties edited line by line (the shipped repository/conf/security files)."""
from __future__ import annotations

from tasks.formats import props
from tests.unit.helpers import shipped


def test_values_as_java_reads_them():
    text = "# c\n! c2\na=1\n b : 2\nc 3\nd=x\\=y=z\ne=\n"
    assert [props.value(text, k) for k in "abcde"] == ["1", "2", "3", "x=y=z", ""]
    assert props.value(text, "f") is None and props.value("#a=1\n", "a") is None


def test_setting_keys_keeps_comments_order_and_trailing_lines():
    old = shipped("repository/conf/security/cipher-text.properties").decode()
    new, changed = props.set_values(old, {"Carbon.Security.KeyStore.Password": "QUJD+/==", "New.Alias": "x"})
    assert changed == ["Carbon.Security.KeyStore.Password", "New.Alias"]
    assert props.value(new, "Carbon.Security.KeyStore.Password") == "QUJD+/=="
    assert new.endswith("New.Alias=x\n\n\n\n") or new.endswith("New.Alias=x\n\n\n")
    assert [ln for ln in new.splitlines() if ln.startswith("#")] == [ln for ln in old.splitlines() if ln.startswith("#")]
    assert props.set_values(new, {"New.Alias": "x"}) == (new, [])


def test_a_commented_setting_is_uncommented_in_place_and_crlf_survives():
    old = shipped("repository/conf/security/secret-conf.properties").decode()
    new, _ = props.set_values(old, {"secretRepositories": "file", "carbon.secretProvider": "a.B"})
    lines = new.splitlines()
    assert lines.index("secretRepositories=file") == old.splitlines().index("#secretRepositories=file")
    assert "carbon.secretProvider=a.B" in lines  # the "##" example lines stay comments; the key is appended
    assert all(ln in lines for ln in old.splitlines() if ln.startswith("##"))
    crlf, _ = props.set_values("a=1\r\nb=2\r\n", {"b": "3"})
    assert crlf == "a=1\r\nb=3\r\n"


def test_items_lists_every_key_once_as_java_reads_it():
    text = "# a comment\n! another\nA.B=1\nC : two\\=2\nA.B=3\n\n"
    assert props.items(text) == [("A.B", "3"), ("C", "two=2")]  # Properties.load: the last line of a key wins
    assert all(props.value(text, k) == v for k, v in props.items(text))


def test_continuations_and_unicode_escapes_are_read_as_java_reads_them():
    text = "path=a\\\n    b\\\n  c\ncity=M\\u00e1laga\\u20ac\nk\\=ey=v\n"
    assert props.items(text) == [("path", "abc"), ("city", "Málaga€"), ("k=ey", "v")]


def test_every_line_java_reads_for_a_key_is_set_and_what_is_written_reads_back():
    text = "a=1\nb=2\\\n  2\na=3\n"
    new, changed = props.set_values(text, {"a": "x", "b": "QUJD+/=="})
    assert changed == ["a", "b"] and new == "a=x\nb=QUJD+/==\na=x\n"  # base64 stays as it is
    for v in ("back\\slash", "  leading", "línea€", "two\nlines", "#hash", "x=y:z"):
        out, _ = props.set_values("# c\n", {"k.é": v})
        assert props.value(out, "k.é") == v, (v, out)
        assert out.isascii(), out  # Java reads ISO-8859-1: what is beyond it is written as \\uXXXX
