"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path

API_KEY = "emulator-test-key-0123456789"
VERTEX_CONN_ID = "gemini_vertex"
GEMINI_CONN_ID = "gemini_tuning_default"
#: ``gemini_tuning_pipeline``'s params for a run on Vertex AI (the emulator's gemini_vertex connection).
VERTEX_PIPELINE_CONF = {"gemini_conn_id": "gemini_vertex", "gcs_destination": "gs://tuning-bucket/datasets"}
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


def service_account_key(token_uri: str, project: str = "demo-project") -> dict:
    """A service-account key JSON with a freshly generated RSA key; ``token_uri`` says where tokens come from."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    return {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": f"tuner@{project}.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    }
