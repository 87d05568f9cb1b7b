"""What the tuning operator accepts as ``training_dataset``, resolved into one shape."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from gemini_tuning.exceptions import InvalidInputError


class ResolvedDataset(BaseModel):
    """Where the training data is, and (Gemini API) the examples to send inline."""

    training_uri: str | None = None
    validation_uri: str | None = None
    examples: list[dict[str, str]] | None = None
    example_count: int | None = None
    prompt_template: str | None = None
    sha256: str | None = None

    @property
    def staging_dir(self) -> str | None:
        return self.training_uri.rsplit("/", 1)[0] if self.training_uri else None

    def to_xcom(self) -> dict[str, Any]:
        """JSON-safe and small: the inline examples stay out."""
        return self.model_dump(mode="json", exclude={"examples"})


def resolve_training_dataset(
    value: Any, backend: str, validation_dataset: str | None = None, *, load_examples: bool = True
) -> ResolvedDataset:
    """Accept the upload operator's output, the validate operator's report, a URI, or a list of examples.

    On the Gemini API the examples are read (streamed) from the staged file unless ``load_examples``
    is false, which resolves only where the data is (for a task resuming after deferral).
    """
    if isinstance(value, list):
        if backend != "gemini_api":
            raise InvalidInputError(
                "Vertex AI reads training data from a gs:// URI, not an inline list: "
                "stage it with ValidateTuningDatasetOperator and UploadTuningDatasetOperator."
            )
        examples = [_text_example(row) for row in value]
        return ResolvedDataset(examples=examples, example_count=len(examples))
    if isinstance(value, dict):
        dataset = ResolvedDataset(
            training_uri=value.get("training_dataset_uri") or value.get("train_uri"),
            validation_uri=validation_dataset or value.get("validation_dataset_uri") or value.get("validation_uri"),
            example_count=value.get("example_count") or value.get("train_count"),
            prompt_template=value.get("prompt_template"),
            sha256=value.get("sha256"),
        )
        dataset_backend = value.get("backend")
        if dataset_backend and dataset_backend != backend:
            raise InvalidInputError(
                f"The dataset was prepared for {dataset_backend} but the connection's backend is {backend}."
            )
    elif isinstance(value, str) or hasattr(value, "protocol"):
        dataset = ResolvedDataset(training_uri=str(value), validation_uri=validation_dataset)
    else:
        raise InvalidInputError(f"Unsupported training_dataset of type {type(value).__name__}.")
    if not dataset.training_uri:
        raise InvalidInputError("training_dataset names no training file.")
    if backend == "gemini_api" and load_examples:
        from gemini_tuning.datasets.readers import iter_examples

        examples = [_text_example(row) for row in iter_examples(dataset.training_uri)]
        dataset = dataset.model_copy(update={"examples": examples, "example_count": len(examples)})
    return dataset


def _text_example(row: dict[str, Any]) -> dict[str, str]:
    """A Gemini API example from either format (multi-turn or system-instruction rows are refused)."""
    from gemini_tuning.datasets.formats import to_text_pair

    text_input, output = to_text_pair(row)
    return {"text_input": text_input, "output": output}
