"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path

API_KEY = "emulator-test-key-0123456789"
VERTEX_CONN_ID = "gemini_vertex"
GEMINI_CONN_ID = "gemini_tuning_default"
FAST_RETRIES = {"retries": 4, "retry_initial_delay": 0.01, "retry_max_delay": 0.05, "timeout": 20}


def conn_json(backend: str, base_url: str, **extra) -> str:
    import json

    extra = {"backend": backend, "base_url": base_url, "emulator": True, **FAST_RETRIES, **extra}
    conn = {"conn_type": "gemini_tuning", "extra": extra}
    if backend == "gemini_api":
        conn["password"] = extra.pop("api_key", API_KEY)
    else:
        conn["extra"].update({"project": "demo-project", "location": "us-central1", "access_token": "emulator-token"})
    return json.dumps(conn)


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
            row = {
                "contents": [
                    {"role": "user", "parts": [{"text": ex["text_input"]}]},
                    {"role": "model", "parts": [{"text": ex["output"]}]},
                ]
            }
            fh.write(json.dumps(row) + "\n")
    return f"gs://bucket/{key}"


def stat(emulator, key: str) -> int:
    """A total from the emulator's stats (``requests``, ``faults_injected``, ``cancels``, ``deletes``...)."""
    value = emulator.stats()[key]
    return sum(value.values()) if isinstance(value, dict) else value
