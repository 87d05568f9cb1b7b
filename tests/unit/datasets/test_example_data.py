"""The example DAGs' data helper lives next to the DAGs (dags/example_data.py), not in the provider package."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DAGS = Path(__file__).resolve().parents[3] / "dags"


def test_the_provider_does_not_ship_demo_data():
    assert importlib.util.find_spec("gemini_tuning.example_data") is None


def test_the_helper_is_importable_from_the_dags_folder_and_deterministic():
    import example_data  # the DAGs folder is on sys.path, as Airflow puts it there

    assert Path(example_data.__file__).parent == DAGS
    assert example_data.generate_tickets(5, seed=3) == example_data.generate_tickets(5, seed=3)


def test_the_dag_processor_skips_it():
    from airflow.utils.file import list_py_file_paths

    files = {Path(path).name for path in list_py_file_paths(str(DAGS))}
    assert "example_data.py" not in files and "gemini_tuning_pipeline.py" in files
