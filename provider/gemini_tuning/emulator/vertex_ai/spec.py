"""Checking a CreateTuningJob request body (``tuning_job.proto``) into what the job needs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gemini_tuning.emulator.errors import invalid
from gemini_tuning.emulator.state import Settings
from gemini_tuning.emulator.vertex_ai.common import base_model_id
from gemini_tuning.emulator.vertex_ai.datasets import Screened, read_dataset, screen

TUNABLE_BASE_MODELS = (
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.0-flash-001",
    "gemini-2.0-flash-lite-001",
    "gemini-1.5-pro-002",
    "gemini-1.5-flash-002",
)
ADAPTER_SIZES = (
    "ADAPTER_SIZE_UNSPECIFIED",
    "ADAPTER_SIZE_ONE",
    "ADAPTER_SIZE_TWO",
    "ADAPTER_SIZE_FOUR",
    "ADAPTER_SIZE_EIGHT",
    "ADAPTER_SIZE_SIXTEEN",
    "ADAPTER_SIZE_THIRTY_TWO",
)
DEFAULT_EPOCHS = 3
DEFAULT_BATCH_SIZE = 4  # emulator assumption; only echoed when the request sets it
DEFAULT_LR_MULTIPLIER = 1.0
DEFAULT_ADAPTER_SIZE = "ADAPTER_SIZE_FOUR"
HP = "supervisedTuningSpec.hyperParameters"
TUNING_MODES = ("TUNING_MODE_UNSPECIFIED", "TUNING_MODE_FULL", "TUNING_MODE_PEFT_ADAPTER")
MAX_DISPLAY_NAME = 128
SERVICE_ACCOUNT = re.compile(
    r"^(?:[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com"
    r"|[0-9]+-compute@developer\.gserviceaccount\.com)$"
)
KMS_KEY = re.compile(r"^projects/[^/]+/locations/(?P<location>[^/]+)/keyRings/[^/]+/cryptoKeys/[^/]+$")


@dataclass
class TuningRequest:
    """A checked CreateTuningJob body: the stored resource fields and the training rows."""

    resource: dict[str, Any]
    train: Screened
    validation: Screened | None
    epochs: int
    batch_size: int
    export_last_checkpoint_only: bool
    pre_tuned: dict[str, str] | None = None  # preTunedModel {tunedModelName, checkpointId?} as sent


def parse_tuning_job(body: dict[str, Any], settings: Settings, location: str) -> TuningRequest:
    """Validate a camelCased CreateTuningJob body (400 INVALID_ARGUMENT naming the field)."""
    base, pre_tuned = _source_model(body)
    spec = body.get("supervisedTuningSpec")
    if not isinstance(spec, dict):
        raise invalid("supervisedTuningSpec is required (the emulator supports supervised tuning only).")
    train_uri = spec.get("trainingDatasetUri")
    if not train_uri:
        raise invalid("supervisedTuningSpec.trainingDatasetUri is required.")
    train = _screened(settings, train_uri, "supervisedTuningSpec.trainingDatasetUri")
    validation = None
    if spec.get("validationDatasetUri"):
        validation = _screened(settings, spec["validationDatasetUri"], "supervisedTuningSpec.validationDatasetUri")
    mode = _tuning_mode(spec.get("tuningMode"))
    effective, epochs, batch = _hyperparameters(spec.get("hyperParameters") or {}, adapter=mode != "TUNING_MODE_FULL")
    last_only = spec.get("exportLastCheckpointOnly", False)
    if not isinstance(last_only, bool):
        raise invalid(f"supervisedTuningSpec.exportLastCheckpointOnly must be a boolean, got {last_only!r}.")
    resource: dict[str, Any] = {"baseModel": base} if base else {"preTunedModel": dict(pre_tuned or {})}
    resource.update(_job_fields(body, location))
    resource["supervisedTuningSpec"] = {
        "trainingDatasetUri": train_uri,
        **({"validationDatasetUri": spec["validationDatasetUri"]} if spec.get("validationDatasetUri") else {}),
        "hyperParameters": effective,
        **({"exportLastCheckpointOnly": True} if last_only else {}),
        **({"tuningMode": mode} if mode else {}),
    }
    return TuningRequest(resource, train, validation, epochs, batch, last_only, pre_tuned)


def _job_fields(body: dict[str, Any], location: str) -> dict[str, Any]:
    """The optional top-level fields echoed on the job: names, labels and the enterprise fields."""
    out = {key: body[key] for key in ("tunedModelDisplayName", "description") if body.get(key)}
    name = body.get("tunedModelDisplayName")
    if name is not None and (not isinstance(name, str) or len(name) > MAX_DISPLAY_NAME):
        raise invalid(f"tunedModelDisplayName must be a string of at most {MAX_DISPLAY_NAME} characters.")
    labels = _labels(body.get("labels"))
    if labels:
        out["labels"] = labels
    account = body.get("serviceAccount")
    if account is not None:
        if not isinstance(account, str) or not SERVICE_ACCOUNT.match(account):
            raise invalid(
                f"serviceAccount: {account!r} is not a service account email "
                "(NAME@PROJECT.iam.gserviceaccount.com or PROJECT_NUMBER-compute@developer.gserviceaccount.com)."
            )
        out["serviceAccount"] = account
    if body.get("encryptionSpec") is not None:
        out["encryptionSpec"] = {"kmsKeyName": _kms_key(body["encryptionSpec"], location)}
    return out


def _kms_key(spec: Any, location: str) -> str:
    key = spec.get("kmsKeyName") if isinstance(spec, dict) else None
    match = KMS_KEY.match(key) if isinstance(key, str) else None
    if not match:
        raise invalid(
            f"encryptionSpec.kmsKeyName: {key!r} is not a Cloud KMS key name "
            "(projects/{project}/locations/{location}/keyRings/{key_ring}/cryptoKeys/{crypto_key})."
        )
    if match.group("location") != location:
        raise invalid(
            f"encryptionSpec.kmsKeyName: the key is in {match.group('location')!r}; it must be in the "
            f"TuningJob's region {location!r}."
        )
    return key


def _tuning_mode(mode: Any) -> str | None:
    if mode is None:
        return None
    if mode not in TUNING_MODES:
        raise invalid(f"supervisedTuningSpec.tuningMode: {mode!r} is not one of {list(TUNING_MODES)}.")
    return mode


def _screened(settings: Settings, uri: str, field: str) -> Screened:
    """Read a dataset and drop what the service drops; 400 when nothing is left."""
    dataset = screen(read_dataset(settings.gcs_root, uri, field), settings.example_token_limit)
    if not dataset.kept:
        raise invalid(f"{field}: every example of {uri} was dropped; the first: {dataset.dropped[0][1]}")
    return dataset


def _source_model(body: dict[str, Any]) -> tuple[str | None, dict[str, str] | None]:
    """(baseModel, None) or (None, preTunedModel): the ``source_model`` oneof."""
    pre = body.get("preTunedModel")
    if pre is None:
        return _base_model(body), None
    if body.get("baseModel"):
        raise invalid("baseModel and preTunedModel are mutually exclusive (oneof source_model); set only one.")
    if not isinstance(pre, dict) or not isinstance(pre.get("tunedModelName"), str) or not pre["tunedModelName"]:
        raise invalid("preTunedModel.tunedModelName is required: the tuned Model (optionally @version) to continue.")
    if not isinstance(pre.get("checkpointId", ""), str):
        raise invalid("preTunedModel.checkpointId must be a string.")
    return None, {k: pre[k] for k in ("tunedModelName", "checkpointId") if pre.get(k)}


def _base_model(body: dict[str, Any]) -> str:
    base = body.get("baseModel")
    if not base or not isinstance(base, str):
        raise invalid("baseModel (or preTunedModel) is required.")
    if base_model_id(base) not in TUNABLE_BASE_MODELS:
        raise invalid(
            f"baseModel: {base!r} is not supported for supervised tuning; use one of {list(TUNABLE_BASE_MODELS)}."
        )
    return base


def _hyperparameters(hp: dict[str, Any], adapter: bool) -> tuple[dict[str, Any], int, int]:
    """(echoed hyperParameters with int64 as strings, epochs, batch size); ``adapter``: PEFT, not full tuning."""
    try:
        epochs = int(hp.get("epochCount", DEFAULT_EPOCHS))
        batch = int(hp.get("batchSize", DEFAULT_BATCH_SIZE))
    except (TypeError, ValueError):
        raise invalid(f"{HP}.epochCount/batchSize must be integers.") from None
    if epochs <= 0 or batch <= 0:
        raise invalid(f"{HP}.epochCount and batchSize must be positive.")
    effective: dict[str, Any] = {"epochCount": str(epochs)}
    if "learningRate" in hp:
        effective["learningRate"] = float(hp["learningRate"])
    else:
        lrm = float(hp.get("learningRateMultiplier", DEFAULT_LR_MULTIPLIER))
        if lrm <= 0:
            raise invalid(f"{HP}.learningRateMultiplier must be positive.")
        effective["learningRateMultiplier"] = lrm
    size = hp.get("adapterSize", DEFAULT_ADAPTER_SIZE if adapter else None)
    if size is not None and not adapter:
        raise invalid(f"{HP}.adapterSize applies to adapter tuning only; remove it with tuningMode TUNING_MODE_FULL.")
    if size is not None and size not in ADAPTER_SIZES:
        raise invalid(f"{HP}.adapterSize: {size!r} is not one of {list(ADAPTER_SIZES)}.")
    if size is not None:
        effective["adapterSize"] = size
    if "batchSize" in hp:
        effective["batchSize"] = str(batch)
    return effective, epochs, batch


def _labels(labels: Any) -> dict[str, str]:
    labels = labels or {}
    if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise invalid("labels must be a map of string keys to string values.")
    return labels
