"""Typed, versioned XCom hand-offs between this provider's tasks (see docs/xcom.md).

validate report -> upload result -> tuning summary -> evaluation summary. Each is a pydantic
model with a ``schema_version``; producers return ``model.to_xcom()``, consumers call
``Model.parse(value)`` and get an :class:`~gemini_tuning.exceptions.InvalidInputError` that says
what was expected when handed the wrong shape.
"""

from __future__ import annotations

from gemini_tuning.contracts.base import XComContract

__all__ = ["XComContract"]
