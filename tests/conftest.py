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
    }
)


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


# -- emulator and connections ----------------------------------------------------------------
API_KEY = "emulator-test-key-0123456789"
VERTEX_CONN_ID = "gemini_vertex"
GEMINI_CONN_ID = "gemini_tuning_default"
FAST_RETRIES = {"retries": 4, "retry_initial_delay": 0.01, "retry_max_delay": 0.05, "timeout": 20}


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


def conn_json(backend: str, base_url: str, **extra) -> str:
    import json

    conn = {"conn_type": "gemini_tuning", "extra": {"backend": backend, "base_url": base_url, **FAST_RETRIES, **extra}}
    if backend == "gemini_api":
        conn["password"] = extra.pop("api_key", API_KEY)
        conn["extra"].pop("api_key", None)
    else:
        conn["extra"].update({"project": "demo-project", "location": "us-central1", "access_token": "emulator-token"})
    return json.dumps(conn)


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


def next_number_examples(n: int = 40, start: int = 1) -> list[dict[str, str]]:
    """The reference page's "next number" task, as Gemini API examples."""
    return [{"text_input": str(i), "output": str(i + 1)} for i in range(start, start + n)]


def write_vertex_dataset(root: Path, examples: list[dict[str, str]], key: str = "data/train.jsonl") -> str:
    """Write examples as Vertex JSONL under the emulator's gcs root; return the gs:// URI."""
    import json

    path = root / "bucket" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        for ex in examples:
            row = {"contents": [{"role": "user", "parts": [{"text": ex["text_input"]}]},
                                {"role": "model", "parts": [{"text": ex["output"]}]}]}
            fh.write(json.dumps(row) + "\n")
    return f"gs://bucket/{key}"


def stat(emulator, key: str) -> int:
    """A total from the emulator's stats (``requests``, ``faults_injected``, ``cancels``, ``deletes``...)."""
    value = emulator.stats()[key]
    return sum(value.values()) if isinstance(value, dict) else value
