"""Tuning datasets: read, validate, convert, split and stage (no Airflow or google.genai import here).

Helpers reused by the tuning and evaluation steps:

* :func:`iter_examples` -- stream the examples of a staged file (``report["training_dataset_uri"]``).
* :func:`to_text_pair` -- ``(input, output)`` of an example in either format.
"""

from __future__ import annotations

from gemini_tuning.datasets.formats import to_backend, to_text_pair
from gemini_tuning.datasets.readers import iter_examples

__all__ = ["iter_examples", "to_backend", "to_text_pair"]
