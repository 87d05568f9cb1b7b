"""The base of every XCom contract: a version, one parse path, one clear error."""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from gemini_tuning.exceptions import InvalidInputError

TEMPLATE_HINT = (
    "A Jinja template such as '{{ ti.xcom_pull(...) }}' renders to text; pass the upstream task's "
    "`.output` (XComArg) instead, or set `render_template_as_native_obj=True` on the DAG."
)


class XComContract(BaseModel):
    """A JSON-safe hand-off between tasks. Subclasses set ``kind`` and ``SCHEMA_VERSION``."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    kind: ClassVar[str] = "xcom value"
    SCHEMA_VERSION: ClassVar[int] = 1

    schema_version: int = 1

    @classmethod
    def parse(cls, value: Any, *, argument: str = "value") -> Self:
        """Parse ``value`` (a model, a dict, JSON text or a rendered dict repr) into this contract."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            value = _from_text(value, cls.kind, argument)
        if not isinstance(value, Mapping):
            raise InvalidInputError(
                f"`{argument}` must be a {cls.kind} (a dict from the upstream task), got {type(value).__name__}."
            )
        version = value.get("schema_version", 1)
        if not isinstance(version, int) or version > cls.SCHEMA_VERSION:
            raise InvalidInputError(
                f"`{argument}` is a {cls.kind} of schema_version {version!r}; this provider reads up to "
                f"{cls.SCHEMA_VERSION}. Upgrade the provider on this worker."
            )
        try:
            return cls.model_validate(dict(value))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()[:5]
            )
            raise InvalidInputError(f"`{argument}` is not a valid {cls.kind}: {problems}.") from None

    def to_xcom(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _from_text(text: str, kind: str, argument: str) -> Any:
    stripped = text.strip()
    if stripped.startswith("{"):
        for load in (json.loads, ast.literal_eval):  # JSON, or the repr a rendered template gives
            try:
                return load(stripped)
            except (ValueError, SyntaxError):
                continue
        raise InvalidInputError(f"`{argument}` looks like a {kind} but could not be read as one. {TEMPLATE_HINT}")
    return text
