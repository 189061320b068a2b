"""KEYSTORE_PASSWORD's rule (tasks/engine/keystore.py): what create-keystore, secure-vault and the live checks
accept."""
from __future__ import annotations

import pytest

from tasks.engine.context import StepError
from tasks.engine.keystore import check_password


@pytest.mark.parametrize("weak", ["", "short7!", "wso2carbon"])
def test_weak_keystore_passwords_are_refused_without_saying_them(weak):
    with pytest.raises(StepError) as e:
        check_password(weak)
    assert "too weak" in str(e.value) and (not weak or weak not in str(e.value))
