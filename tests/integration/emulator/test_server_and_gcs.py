"""EmulatorServer lifecycle, the CLI entry point and the gs:// mapping (incl. Airflow ObjectStoragePath)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gemini_tuning.emulator.server import EmulatorServer
from tests.integration.emulator.conftest import QA


def test_several_servers_in_one_process():
    with EmulatorServer() as a, EmulatorServer() as b:
        assert a.port != b.port and a.port > 0
        for srv in (a, b):
            assert httpx.get(f"{srv.url}/v1beta/models", headers={"x-goog-api-key": "emulator-key"}).status_code == 200
    again = EmulatorServer(rate_500=1.0).start()
    try:
        assert httpx.get(f"{again.url}/v1beta/models", params={"key": "emulator-key"}).status_code == 500
    finally:
        again.stop()


def test_cli_serves_and_writes_ready_file(tmp_path):
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gemini_tuning.cli",
            "emulator",
            "--port",
            "0",
            "--api-key",
            "k",
            "--gcs-root",
            str(tmp_path / "gcs"),
            "--ready-file",
            str(ready),
            "--rate-429",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        url = ready.read_text().strip()
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/v1beta/models", headers={"x-goog-api-key": "k"}).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert url in out


def test_object_storage_path_write_is_read_by_vertex_create(tmp_path):
    from airflow.sdk import ObjectStoragePath

    from gemini_tuning.emulator.gcs import local_path, register_gcs_emulator

    root = tmp_path / "gcs"
    register_gcs_emulator(str(root))
    path = ObjectStoragePath("gs://my-bucket/data/train.jsonl")
    assert str(path) == "gs://my-bucket/data/train.jsonl"
    lines = [
        json.dumps({"contents": [{"role": "user", "parts": [{"text": q}]}, {"role": "model", "parts": [{"text": a}]}]})
        for q, a in QA[:5]
    ]
    path.write_text("\n".join(lines) + "\n")
    assert Path(local_path(str(root), "gs://my-bucket/data/train.jsonl")).exists()
    assert ObjectStoragePath("gs://google_cloud_default@my-bucket/data/train.jsonl").read_text() == path.read_text()

    with EmulatorServer(gcs_root=str(root), step_seconds=0.005, startup_seconds=0.01) as srv:
        body = {"baseModel": "gemini-2.0-flash-001", "supervisedTuningSpec": {"trainingDatasetUri": str(path)}}
        r = httpx.post(
            f"{srv.url}/v1beta1/projects/p/locations/l/tuningJobs", json=body, headers={"Authorization": "Bearer t"}
        )
        assert r.status_code == 200, r.text
        job = r.json()
        time.sleep(0.2)
        stats = httpx.get(f"{srv.url}/v1beta1/{job['name']}", headers={"Authorization": "Bearer t"}).json()
        assert stats["tuningDataStats"]["supervisedTuningDataStats"]["tuningDatasetExampleCount"] == "5"


def test_fsspec_gs_roundtrip(tmp_path):
    import fsspec

    from gemini_tuning.emulator.gcs import register_gcs_emulator

    register_gcs_emulator(str(tmp_path))
    with fsspec.open("gs://b/dir/x.txt", "w") as fh:
        fh.write("hello")
    fs = fsspec.filesystem("gs")
    assert fs.cat("gs://b/dir/x.txt") == b"hello"
    assert fs.find("gs://b") == ["b/dir/x.txt"]
    assert os.path.exists(tmp_path / "b" / "dir" / "x.txt")


def test_registering_again_repoints_attached_stores(tmp_path):
    """Airflow keeps the first attached store per protocol; its filesystem follows the newest root."""
    from airflow.sdk import ObjectStoragePath

    from gemini_tuning.emulator.gcs import register_gcs_emulator

    register_gcs_emulator(str(tmp_path / "a"))
    ObjectStoragePath("gs://b/one.txt").write_text("first")
    register_gcs_emulator(str(tmp_path / "b"))
    ObjectStoragePath("gs://google_cloud_default@b/two.txt").write_text("second")
    assert (tmp_path / "a" / "b" / "one.txt").read_text() == "first"
    assert (tmp_path / "b" / "b" / "two.txt").read_text() == "second"
    assert not (tmp_path / "b" / "b" / "one.txt").exists()
    assert ObjectStoragePath("gs://b/two.txt").read_text() == "second"
