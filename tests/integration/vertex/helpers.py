"""A CreateTuningJobOperator on the emulator's Vertex AI, shared by the tests of this package."""

from __future__ import annotations

from gemini_tuning.operators.tuning import CreateTuningJobOperator
from tests.helpers import next_number_examples, write_vertex_dataset


def vertex_op(conn_id, emulator, task_id="tune", examples=None, key=None, **kwargs) -> CreateTuningJobOperator:
    """Tune on ``examples`` (40 "next number" ones) written as ``gs://bucket/{key or task_id}.jsonl``."""
    kwargs.setdefault("epoch_count", 3)
    kwargs.setdefault("poll_interval", 0.02)
    data = write_vertex_dataset(emulator.gcs_root, examples or next_number_examples(40), f"{key or task_id}.jsonl")
    return CreateTuningJobOperator(task_id=task_id, training_dataset=data, gemini_conn_id=conn_id, **kwargs)
