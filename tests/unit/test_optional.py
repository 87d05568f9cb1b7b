"""Optional libraries are found out before any paid work: a clear error or a warning, never a late crash."""

from __future__ import annotations

import sys

import pytest

from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.optional import available, missing_message, require


def test_installed_and_missing_modules(monkeypatch):
    assert available("json") and available("matplotlib")
    assert not available("surely_not_installed_module") and not available("surely_not.installed")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # how an uninstalled package looks to the import system
    assert not available("matplotlib")


def test_require_names_the_extra(monkeypatch):
    require("json", "plots", feature="anything")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(InvalidInputError) as err:
        require("matplotlib", "plots", feature="the loss-curve PNG")
    assert str(err.value) == (
        "the loss-curve PNG needs the Python module 'matplotlib', which is not installed "
        '(pip install "airflow-provider-gemini-tuning[plots]")'
    )


def test_message_for_a_missing_core_dependency():
    assert missing_message("rouge_score", None, feature="the rouge_l metric").endswith(
        "(reinstall airflow-provider-gemini-tuning with its dependencies)"
    )
