"""Vertex AI's enterprise submission fields: service account, CMEK key and tuning mode.

Checked before any request (formats, the key's region against the connection's location,
``adapter_size`` with full tuning) and turned into google-genai's ``CreateTuningJobConfig`` fields.
The SDK's config has no ``service_account``: it travels in the request body through the config's
own per-request ``HttpOptions(extra_body=...)``, a public SDK field.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from gemini_tuning.exceptions import InvalidInputError

if TYPE_CHECKING:
    from gemini_tuning.models import TuningJobSpec

#: ``NAME@PROJECT.iam.gserviceaccount.com`` (user-managed) or the Compute Engine default account.
SERVICE_ACCOUNT = re.compile(
    r"[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com"
    r"|[0-9]+-compute@developer\.gserviceaccount\.com"
)
KMS_KEY = re.compile(r"projects/[^/]+/locations/(?P<location>[^/]+)/keyRings/[^/]+/cryptoKeys/[^/]+")
#: ``tuning_mode`` as users write it -> Vertex's ``TuningMode`` enum value
TUNING_MODES = {
    "full": "TUNING_MODE_FULL",
    "adapter": "TUNING_MODE_PEFT_ADAPTER",
    "peft_adapter": "TUNING_MODE_PEFT_ADAPTER",
}


def normalize_tuning_mode(value: Any) -> str | None:
    """``"full"``, ``"adapter"``, ``"TUNING_MODE_FULL"`` or google-genai's enum -> the enum value."""
    value = getattr(value, "value", value)
    if value in (None, ""):
        return None
    word = str(value).strip().lower().removeprefix("tuning_mode_")
    if word not in TUNING_MODES:
        raise InvalidInputError(
            f"`tuning_mode` must be 'full' or 'adapter' (or TUNING_MODE_FULL / TUNING_MODE_PEFT_ADAPTER), got {value!r}."
        )
    return TUNING_MODES[word]


def check_enterprise_fields(spec: TuningJobSpec, location: str) -> None:
    """Raise :class:`InvalidInputError` for a malformed account or key, a key in another region, or
    ``adapter_size`` with full tuning."""
    account = spec.service_account
    if account is not None and not SERVICE_ACCOUNT.fullmatch(account):
        raise InvalidInputError(
            f"`service_account` {account!r} is not a service account email: expected "
            "NAME@PROJECT.iam.gserviceaccount.com or PROJECT_NUMBER-compute@developer.gserviceaccount.com."
        )
    if spec.kms_key_name is not None:
        match = KMS_KEY.fullmatch(spec.kms_key_name)
        if not match:
            raise InvalidInputError(
                f"`kms_key_name` {spec.kms_key_name!r} is not a Cloud KMS key name: expected "
                "projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY."
            )
        if match["location"] != location:
            raise InvalidInputError(
                f"`kms_key_name` is a key in {match['location']!r}, but the connection tunes in {location!r}: "
                "Vertex AI needs a CMEK key in the job's own region."
            )
    mode = normalize_tuning_mode(spec.tuning_mode)
    if mode == "TUNING_MODE_FULL" and spec.hyperparameters.adapter_size is not None:
        raise InvalidInputError(
            "`adapter_size` applies to adapter tuning only; remove it or use tuning_mode='adapter'."
        )


def enterprise_config(spec: TuningJobSpec) -> dict[str, Any]:
    """The ``CreateTuningJobConfig`` keyword arguments for the fields ``spec`` sets."""
    from google.genai import types

    config: dict[str, Any] = {}
    if mode := normalize_tuning_mode(spec.tuning_mode):
        config["tuning_mode"] = types.TuningMode(mode)
    if spec.kms_key_name:
        config["encryption_spec"] = types.EncryptionSpec(kms_key_name=spec.kms_key_name)
    if spec.service_account:
        config["http_options"] = types.HttpOptions(extra_body={"serviceAccount": spec.service_account})
    return config
