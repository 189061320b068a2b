"""tasks.props: Java .properties edited line by line (the shipped repository/conf/security files)."""
from __future__ import annotations

from tasks import props
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
    assert [l for l in new.splitlines() if l.startswith("#")] == [l for l in old.splitlines() if l.startswith("#")]
    assert props.set_values(new, {"New.Alias": "x"}) == (new, [])


def test_a_commented_setting_is_uncommented_in_place_and_crlf_survives():
    old = shipped("repository/conf/security/secret-conf.properties").decode()
    new, _ = props.set_values(old, {"secretRepositories": "file", "carbon.secretProvider": "a.B"})
    lines = new.splitlines()
    assert lines.index("secretRepositories=file") == old.splitlines().index("#secretRepositories=file")
    assert "carbon.secretProvider=a.B" in lines  # the "##" example lines stay comments; the key is appended
    assert all(l in lines for l in old.splitlines() if l.startswith("##"))
    crlf, _ = props.set_values("a=1\r\nb=2\r\n", {"b": "3"})
    assert crlf == "a=1\r\nb=3\r\n"


def test_items_lists_every_key_once_as_value_reads_it():
    from tasks import props
    text = "# a comment\n! another\nA.B=1\nC : two\\=2\nA.B=3\n\n"
    assert props.items(text) == [("A.B", "1"), ("C", "two=2")]
    assert all(props.value(text, k) == v for k, v in props.items(text))
