"""What Carbon resolves its Secure Vault aliases to at its start, read from the node: the values the
live checks (live.py) and DepSync's svn check (depsync.py) log in with, never the placeholder."""
from __future__ import annotations

import base64
import binascii

from ..engine.context import StepContext, StepError
from ..engine.keystore import SECRET, keystore_password, parse_store
from ..formats import jks, props
from ..remote import SMALL_LIMIT
from ..rules import CIPHER_TEXT, KEY_ALIAS, KEYSTORE


def resolved_values(ctx: StepContext, aliases: list[str]) -> dict[str, str]:
    """alias -> the value Carbon resolves it to at its start: cipher-text.properties decrypted with
    the node's key (keystore.identity of secret-conf.properties: the node's keystore, opened with
    KEYSTORE_PASSWORD, which is what Carbon is given at its start). Live checks log in with these,
    never with the placeholder. A StepError says why nothing can be resolved; an alias whose value
    does not decrypt is left out."""
    password = keystore_password(ctx.secrets)
    if password is None:
        raise StepError(f"{SECRET} is not set: the Secure Vault values Carbon reads cannot be resolved here")
    data = ctx.remote.read(ctx.home(KEYSTORE), SMALL_LIMIT, "a keystore")
    if data is None:
        raise StepError(f"{KEYSTORE} is missing: Carbon could not resolve its Secure Vault values")
    entry = parse_store(data, KEYSTORE).keys.get(KEY_ALIAS)
    if entry is None:
        raise StepError(f"{KEYSTORE} holds no key {KEY_ALIAS}: Carbon could not resolve its Secure Vault values")
    try:
        key = jks.private_key(entry, password)
    except jks.JksError as e:
        raise StepError(f"{KEYSTORE}: {e}") from None
    text = (ctx.remote.read(ctx.home(CIPHER_TEXT)) or b"").decode("utf-8", "replace")
    out = {}
    for alias in aliases:
        raw = props.value(text, alias)
        try:
            plain = None if raw is None else jks.decrypt(key, base64.b64decode(raw, validate=True))
        except (binascii.Error, ValueError):
            plain = None
        if plain is not None:
            out[alias] = plain
    return out
