"""XmlDoc: byte-exact edits (CRLF, declarations, encodings, attribute layout) and a parser that refuses entities."""
from __future__ import annotations

import os
import threading
import time

import pytest

from tasks.formats.xmldoc import XmlDoc, XmlError
from tasks.formats.xmltext import element_markup
from tests.unit.helpers import shipped

REGISTRY = "repository/conf/registry.xml"
CARBON = "repository/conf/carbon.xml"
CATALINA = "repository/conf/tomcat/catalina-server.xml"


def splice_only(old: bytes, new: bytes, before: bytes, after: bytes) -> None:
    """new equals old with exactly one occurrence of `before` replaced by `after`."""
    assert old.count(before) == 1
    assert new == old.replace(before, after)


# ---------------------------------------------------------------- byte-exact edits

def test_crlf_registry_edit_keeps_every_other_byte():
    old = shipped(REGISTRY)
    assert old.count(b"\r\n") == old.count(b"\n") > 20
    doc = XmlDoc(old, REGISTRY)
    assert doc.newline == "\r\n"
    doc.set_text(doc.find("dbConfig[@name='wso2registry']/dataSource"), "jdbc/WSO2RegistryDB")
    splice_only(old, doc.render(), b"<dataSource>jdbc/WSO2CarbonDB</dataSource>",
                b"<dataSource>jdbc/WSO2RegistryDB</dataSource>")


def test_crlf_insert_uses_crlf():
    old = shipped(REGISTRY)
    doc = XmlDoc(old, REGISTRY)
    db = doc.find("dbConfig[@name='wso2registry']")
    doc.insert_after(db, '<dbConfig name="shared">\n    <dataSource>jdbc/X</dataSource>\n</dbConfig>')
    new = doc.render()
    assert new.count(b"\n") == new.count(b"\r\n") == old.count(b"\n") + 3
    assert b'    </dbConfig>\r\n    <dbConfig name="shared">\r\n        <dataSource>jdbc/X</dataSource>\r\n    </dbConfig>\r\n' in new


def test_iso_8859_1_declaration_kept_and_non_ascii_round_trips():
    old = shipped(CARBON)
    doc = XmlDoc(old, CARBON)
    assert doc.encoding.upper() == "ISO-8859-1"
    doc.set_text(doc.find("Name"), "Servidor ESB año ñandú")
    new = doc.render()
    assert new.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>\n')
    splice_only(old, new, b"<Name>WSO2 Enterprise Service Bus</Name>",
                "<Name>Servidor ESB año ñandú</Name>".encode("latin-1"))
    assert XmlDoc(new).find("Name").text == "Servidor ESB año ñandú"


def test_utf8_text_round_trips_and_unencodable_becomes_a_char_ref():
    old = '<?xml version="1.0" encoding="UTF-8"?>\n<a>\n  <b>x</b>\n</a>\n'.encode()
    doc = XmlDoc(old)
    doc.set_text(doc.find("b"), "日本 € ü")
    assert doc.render() == old.replace(b"<b>x</b>", "<b>日本 € ü</b>".encode())
    latin = XmlDoc(b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<a><b>x</b></a>\n')
    latin.set_text(latin.find("b"), "€")
    assert latin.render() == b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<a><b>&#8364;</b></a>\n'
    assert XmlDoc(latin.render()).find("b").text == "€"


def test_text_is_escaped():
    doc = XmlDoc(b"<a><b>x</b></a>")
    doc.set_text(doc.find("b"), "1 < 2 & 3")
    assert doc.render() == b"<a><b>1 &lt; 2 &amp; 3</b></a>"


def test_existing_attribute_in_multi_line_tag_changes_in_place():
    old = shipped(CATALINA)
    doc = XmlDoc(old, CATALINA)
    doc.set_attr(doc.find(".//Connector[@port='9763']"), "maxThreads", "500")
    splice_only(old, doc.render(), b'port="9763"\n                redirectPort="9443" \n                bindOnInit="false"\n'
                b'                maxHttpHeaderSize="8192"\n                acceptorThreadCount="2"\n'
                b'                maxThreads="250"',
                b'port="9763"\n                redirectPort="9443" \n                bindOnInit="false"\n'
                b'                maxHttpHeaderSize="8192"\n                acceptorThreadCount="2"\n'
                b'                maxThreads="500"')


def test_new_attribute_in_multi_line_tag_gets_its_own_aligned_line():
    old = shipped(CATALINA)
    doc = XmlDoc(old, CATALINA)
    doc.set_attr(doc.find(".//Connector[@port='9443']"), "proxyPort", "443", after="port")
    splice_only(old, doc.render(), b'                port="9443"\n',
                b'                port="9443"\n                proxyPort="443"\n')


def test_new_attribute_without_anchor_goes_on_a_line_after_the_last():
    old = shipped(CATALINA)
    doc = XmlDoc(old, CATALINA)
    doc.set_attr(doc.find(".//Connector[@port='9763']"), "proxyPort", "80")
    splice_only(old, doc.render(), b'                URIEncoding="UTF-8"/>\n   \n',
                b'                URIEncoding="UTF-8"\n                proxyPort="80"/>\n   \n')


def test_new_attribute_on_a_single_line_tag():
    doc = XmlDoc(b'<a>\n  <b x="1" y=\'2\'/>\n</a>')
    b = doc.find("b")
    doc.set_attr(b, "z", '3"')
    assert doc.render() == b'<a>\n  <b x="1" y=\'2\' z="3&quot;"/>\n</a>'
    doc = XmlDoc(b'<a>\n  <b x="1" y="2"/>\n</a>')
    doc.set_attr(doc.find("b"), "z", "3", after="x")
    assert doc.render() == b'<a>\n  <b x="1" z="3" y="2"/>\n</a>'


def test_new_attribute_in_crlf_multi_line_tag():
    doc = XmlDoc(b'<a>\r\n  <b\r\n     x="1"\r\n     y="2"/>\r\n</a>')
    doc.set_attr(doc.find("b"), "z", "3", after="x")
    assert doc.render() == b'<a>\r\n  <b\r\n     x="1"\r\n     z="3"\r\n     y="2"/>\r\n</a>'


def test_commented_element_becomes_active_in_place():
    old = shipped(CARBON)
    doc = XmlDoc(old, CARBON)
    c = doc.commented(doc.root, "HostName")
    assert c is not None and doc.commented(doc.root, "NoSuch") is None
    doc.replace(c, element_markup("HostName", "esb.wso2.com"))
    new = doc.render()
    splice_only(old, new, b"<!--HostName>www.wso2.org</HostName-->", b"<HostName>esb.wso2.com</HostName>")
    assert XmlDoc(new).find("HostName").text == "esb.wso2.com"  # in the default namespace


def test_insert_child_after_last_and_into_childless_parent():
    doc = XmlDoc(b"<a>\n    <b>\n        <c/>\n    </b>\n    <d>\n    </d>\n</a>\n")
    doc.insert_child(doc.find("b"), "<e/>")
    doc.insert_child(doc.find("d"), "<f>1</f>")
    assert doc.render() == b"<a>\n    <b>\n        <c/>\n        <e/>\n    </b>\n    <d>\n        <f>1</f>\n    </d>\n</a>\n"


def test_remove_takes_its_line():
    old = b"<a>\r\n  <b/>\r\n  <c>\r\n    <d/>\r\n  </c>\r\n  <e/>\r\n</a>\r\n"
    doc = XmlDoc(old)
    doc.remove(doc.find("c"))
    assert doc.render() == b"<a>\r\n  <b/>\r\n  <e/>\r\n</a>\r\n"


def test_inserts_at_one_point_keep_their_order():
    doc = XmlDoc(b"<a>\n  <b/>\n</a>")
    b = doc.find("b")
    doc.insert_after(b, "<c/>")
    doc.insert_after(b, "<d/>")
    assert doc.render() == b"<a>\n  <b/>\n  <c/>\n  <d/>\n</a>"


def test_overlapping_edits_are_refused():
    doc = XmlDoc(b"<a><b>x</b></a>")
    doc.set_text(doc.find("b"), "y")
    with pytest.raises(XmlError, match="overlapping"):
        doc.remove(doc.find("b"))


def test_untouched_render_is_identical_for_every_shipped_xml():
    for rel in (REGISTRY, CARBON, CATALINA, "repository/conf/axis2/axis2.xml", "repository/conf/user-mgt.xml",
                "repository/conf/datasources/master-datasources.xml"):
        data = shipped(rel)
        assert XmlDoc(data, rel).render() == data


def test_not_well_formed_names_file_and_line():
    with pytest.raises(XmlError, match=r"conf/x\.xml: not well-formed XML: .* \(line 3\)"):
        XmlDoc(b"<a>\n<b>\n</a>\n", "conf/x.xml")


# ---------------------------------------------------------------- refused: DTDs and entities

def test_doctype_with_internal_entity_is_refused_and_not_expanded():
    data = b'<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY who "EXPANDED-VALUE">]>\n<a><b>&who;</b></a>\n'
    with pytest.raises(XmlError, match="DOCTYPE/ENTITY declaration; refused") as e:
        XmlDoc(data, "conf/evil.xml")
    assert "EXPANDED-VALUE" not in str(e.value) and "conf/evil.xml" in str(e.value)


def test_billion_laughs_is_refused_quickly():
    lol = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)]
    data = f'<?xml version="1.0"?>\n<!DOCTYPE lolz [{"".join(lol)}]>\n<lolz>&lol9;</lolz>\n'.encode()
    t = time.monotonic()
    with pytest.raises(XmlError, match="refused"):
        XmlDoc(data, "lolz.xml")
    assert time.monotonic() - t < 2


def test_external_entity_refused_and_the_file_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    data = f'<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY x SYSTEM "file://{secret}">]>\n<a>&x;</a>\n'.encode()
    with pytest.raises(XmlError, match="refused") as e:
        XmlDoc(data, "xxe.xml")
    assert "TOP-SECRET-CONTENT" not in str(e.value)
    # a FIFO proves no open(): a reader opening it would be seen by a non-blocking writer
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    data = f'<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY x SYSTEM "file://{fifo}">]>\n<a>&x;</a>\n'.encode()
    errors = []
    t = threading.Thread(target=lambda: errors.append(_refused(data)), daemon=True)
    t.start()
    t.join(3)
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as err:  # ENXIO: nobody has the FIFO open for reading
        opened = False
        assert err.errno == 6
    else:
        opened = True
        os.close(fd)
    t.join(3)
    assert not opened, "the parser opened the external entity"
    assert errors == [True]


def test_external_dtd_refused_and_not_fetched():
    data = b'<?xml version="1.0"?>\n<!DOCTYPE a SYSTEM "http://127.0.0.1:9/evil.dtd">\n<a/>\n'
    with pytest.raises(XmlError, match="refused"):
        XmlDoc(data, "dtd.xml")


def _refused(data: bytes) -> bool:
    try:
        XmlDoc(data, "fifo.xml")
    except XmlError:
        return True
    return False


def test_doctype_after_comments_is_refused_but_the_word_in_a_comment_is_not():
    with pytest.raises(XmlError, match="refused"):
        XmlDoc(b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- c -->\n<?pi x?>\n<!DOCTYPE a>\n<a/>\n')
    doc = XmlDoc(b'<?xml version="1.0"?>\n<!-- see <!DOCTYPE in the docs -->\n<a/>\n')
    assert doc.root.tag == "a"


def test_find_text_is_the_stripped_text_or_none_in_a_namespaced_file():
    doc = XmlDoc(shipped(CARBON), CARBON)
    assert doc.ns  # carbon.xml has a default namespace: find_text qualifies the path like find
    assert doc.find_text("Ports/Offset") == "0"
    assert doc.find_text("NoSuchElement") is None
    assert doc.find_text("Offset", doc.find("Ports")) == "0"  # relative to a parent
    small = XmlDoc(b"<a><b/><c>\n  v w \n</c></a>", "x.xml")
    assert small.find_text("b") == "" and small.find_text("c") == "v w" and small.find_text("d") is None
