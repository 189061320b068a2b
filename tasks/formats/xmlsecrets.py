"""The password values an XML file holds, read by the XML layer (for masking the diff of a file no step planned:
rollback shows what it would put back, and the old bytes may hold a password no .env names any more).

A value counts when its element's name says password (`<Password>`, `<SvnPassword>`, `<KeyPassword>`), when the
element is a property named so (`<Property name="password">`, `<parameter name="ConnectionPassword">`), or when an
attribute's name says so (`password="..."`). Each value as the parser decodes it (CDATA, entity and character
references resolved: the diff masks every form a value may be written in) and, for an element, its text exactly as
the file writes it, in the file's encoding (a form of its own: `&#x70;assword`)."""
from __future__ import annotations

from .xmldoc import XmlDoc, XmlError, parse

_NAMES = ("name", "key")  # the attribute a property-style element names itself by


def _says_password(name: str | None) -> bool:
    return bool(name) and "password" in name.lower()  # type: ignore[union-attr]


def password_values(data: bytes, path: str = "<xml>") -> list[str | bytes] | None:
    """Every password value in the file (document order, each once: decoded, then an element's source bytes where
    they differ); None when it is not XML the layer reads."""
    try:
        doc = XmlDoc.over(parse(data, path))
        found: list[str | bytes] = []
        for el in doc.root.iter():
            if not isinstance(el.tag, str):
                continue  # a comment or processing instruction
            local = el.tag.rpartition("}")[2]
            if len(el) == 0 and (_says_password(local) or any(_says_password(el.get(a)) for a in _NAMES)):
                found.append((el.text or "").strip())
                found.append(doc.source_text(el).strip().encode(doc.encoding, errors="replace"))
            found += [v.strip() for k, v in el.attrib.items() if _says_password(k.rpartition("}")[2])]
    except (XmlError, LookupError):
        return None
    return list(dict.fromkeys(v for v in found if v))


__all__ = ["password_values"]
