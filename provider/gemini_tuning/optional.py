"""Optional libraries: find out before the paid work whether one is installed.

A task checks every library it will need before its first remote request. A missing library either
fails the task up front (:func:`require`, an :class:`~gemini_tuning.exceptions.InvalidInputError`
that names the pip extra) or the feature is skipped with a warning (:func:`available`), e.g.::

    if available("matplotlib"):
        ...  # write the loss-curve PNG
    else:
        log.warning(missing_message("matplotlib", "plots", feature="the loss-curve PNG") + "; skipped")

Nothing is imported here: ``importlib.util.find_spec`` only looks the module up.
"""

from __future__ import annotations

import importlib.util

from gemini_tuning.exceptions import InvalidInputError

PACKAGE = "airflow-provider-gemini-tuning"


def available(module: str) -> bool:
    """Whether ``module`` (a top-level import name such as ``"matplotlib"``) can be imported."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module without a spec
        return False


def missing_message(module: str, extra: str | None, *, feature: str) -> str:
    """One line: what needs ``module`` and how to install it."""
    install = f'pip install "{PACKAGE}[{extra}]"' if extra else f"reinstall {PACKAGE} with its dependencies"
    return f"{feature} needs the Python module {module!r}, which is not installed ({install})"


def require(module: str, extra: str | None, *, feature: str) -> None:
    """Raise :class:`InvalidInputError` unless ``module`` is installed.

    ``extra`` is the pip extra that installs it, or ``None`` for a core dependency that went missing.
    """
    if not available(module):
        raise InvalidInputError(missing_message(module, extra, feature=feature))
