"""Session setup shared by every test: a throw-away AIRFLOW_HOME with a migrated SQLite DB.

The environment is set before anything imports Airflow (pytest imports this file first).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_HOME = Path(tempfile.mkdtemp(prefix="gemini-tuning-airflow-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME}/airflow.db",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__GEMINI_TUNING__STAGING_URI": f"file://{_HOME}/staging",
        # installed for tests/integration/dags/test_lineage_e2e.py, which enables it for itself
        "AIRFLOW__OPENLINEAGE__DISABLED": "True",
    }
)
# Airflow puts the DAGs folder (the bundle) on sys.path when it parses and runs DAGs; the example DAGs'
# tasks import their helper ``example_data`` from there, also when a test runs them with dag.test().
sys.path.append(str(REPO / "dags"))


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Run ``airflow db migrate`` once per test session (only for tests that need the DB)."""
    marker = _HOME / ".migrated"
    if not marker.exists():
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            check=True,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
        )
        marker.touch()
    return _HOME


from tests.helpers import API_KEY, GEMINI_CONN_ID, VERTEX_CONN_ID, conn_json  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _test_process_heap_not_frozen():
    """``dag.test()`` runs triggers inside this process: keep ``gc.freeze()`` out of the test process.

    The system tests' real triggerers freeze as in production; tests/unit/test_trigger.py pins the mechanism.
    """
    from gemini_tuning.triggers import tuning

    tuning._frozen_at.update(tuning.FREEZE_POINTS)


# -- emulator and connections ----------------------------------------------------------------


@pytest.fixture(scope="session")
def emulator_session(tmp_path_factory):
    """One emulator per test session on a random loopback port; ``gs://`` maps to a temp dir."""
    from gemini_tuning.emulator.gcs import register_gcs_emulator
    from gemini_tuning.emulator.server import EmulatorServer

    root = tmp_path_factory.mktemp("gcs")
    register_gcs_emulator(str(root))
    with EmulatorServer(api_key=API_KEY, gcs_root=str(root), step_seconds=0.002, startup_seconds=0.02) as server:
        server.gcs_root = root
        yield server


@pytest.fixture
def emulator(emulator_session):
    """The session emulator with clean state and no faults for each test.

    ``gs://`` is mapped onto its root again, since some tests map it elsewhere for themselves.
    """
    from gemini_tuning.emulator.gcs import register_gcs_emulator

    register_gcs_emulator(str(emulator_session.gcs_root))
    emulator_session.reset()
    yield emulator_session
    emulator_session.reset()


@pytest.fixture
def gemini_conn(emulator, monkeypatch) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{GEMINI_CONN_ID.upper()}", conn_json("gemini_api", emulator.url))
    return GEMINI_CONN_ID


@pytest.fixture
def vertex_conn(emulator, monkeypatch) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{VERTEX_CONN_ID.upper()}", conn_json("vertex_ai", emulator.url))
    return VERTEX_CONN_ID


@pytest.fixture(params=["gemini_api", "vertex_ai"])
def backend_conn(request, emulator, monkeypatch) -> tuple[str, str]:
    """Run a test once per backend: yields (backend, conn_id)."""
    backend = request.param
    conn_id = GEMINI_CONN_ID if backend == "gemini_api" else VERTEX_CONN_ID
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", conn_json(backend, emulator.url))
    return backend, conn_id
