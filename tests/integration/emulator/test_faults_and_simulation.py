"""Fault injection, control endpoints, stats and the simulated loss curve."""

from __future__ import annotations

import statistics

import httpx
import pytest
from google.genai import errors

from gemini_tuning.emulator.curves import loss_curve
from tests.integration.emulator.conftest import create_tuned, wait_until


def _codes(http, n):
    return [http.get("/v1beta/models").status_code for _ in range(n)]


def test_fault_rates_are_deterministic_and_counted(http, server):
    server.set_faults(rate_429=0.3, rate_503=0.2)
    first = _codes(http, 60)
    server.reset()
    server.set_faults(rate_429=0.3, rate_503=0.2)
    assert _codes(http, 60) == first  # seeded RNG: same draws after reset
    assert {200, 429, 503} == set(first)
    stats = server.stats()
    assert stats["faults_injected"]["429"] == first.count(429)
    assert stats["faults_injected"]["503"] == first.count(503)
    assert stats["requests"]["GET /v1beta/models"] == 60


def test_injected_errors_use_google_shape(http, server, gemini):
    server.set_faults(rate_500=1.0)
    body = http.get("/v1beta/tunedModels").json()
    assert body["error"]["code"] == 500 and body["error"]["status"] == "INTERNAL"
    server.set_faults(rate_500=0.0, rate_429=1.0)
    with pytest.raises(errors.ClientError) as exc:
        gemini.models.get(model="gemini-2.5-flash")
    assert exc.value.code == 429 and exc.value.status == "RESOURCE_EXHAUSTED"
    server.set_faults(rate_429=0.0, rate_503=1.0)
    with pytest.raises(errors.ServerError) as exc:
        gemini.models.get(model="gemini-2.5-flash")
    assert exc.value.code == 503 and exc.value.status == "UNAVAILABLE"


def test_control_routes_are_never_faulted(server):
    server.set_faults(rate_500=1.0, latency_ms=5)
    assert server.faults()["rate_500"] == 1.0
    assert server.stats()["faults_injected"]["500"] == 0
    server.reset()
    assert server.faults()["rate_500"] == 0.0 and server.faults()["latency_ms"] == 0


def test_latency(http, server):
    server.set_faults(latency_ms=150)
    r = http.get("/v1beta/models")
    assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.15


def test_invalid_fault_settings(server):
    r = httpx.post(f"{server.url}/_emulator/faults", json={"rate_429": 2})
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    r = httpx.post(f"{server.url}/_emulator/faults", json={"nope": 1})
    assert r.status_code == 400
    assert server.faults()["rate_429"] == 0.0


def test_fail_jobs_gemini_and_vertex(http, vhttp, server):
    server.set_faults(fail_jobs=True, fail_message="simulated failure")
    op = create_tuned(http, epochCount=2).json()
    done = wait_until(lambda: (o := http.get(f"/v1beta/{op['name']}").json())["done"] and o)
    assert done["error"]["message"] == "simulated failure"
    assert http.get("/v1beta/tunedModels/adder").json()["state"] == "FAILED"
    body = {
        "baseModel": "gemini-2.0-flash-001",
        "supervisedTuningSpec": {"trainingDatasetUri": "gs://bucket/train.jsonl"},
    }
    job = vhttp.post("/v1beta1/projects/p/locations/l/tuningJobs", json=body).json()
    final = wait_until(lambda: (j := vhttp.get(f"/v1beta1/{job['name']}").json())["state"] == "JOB_STATE_FAILED" and j)
    assert final["error"]["message"] == "simulated failure" and "tunedModel" not in final


def test_stats_counts(http, vhttp, server):
    create_tuned(http)
    http.delete("/v1beta/tunedModels/adder")
    body = {
        "baseModel": "gemini-2.0-flash-001",
        "supervisedTuningSpec": {"trainingDatasetUri": "gs://bucket/train.jsonl"},
    }
    job = vhttp.post("/v1beta1/projects/p/locations/l/tuningJobs", json=body).json()
    vhttp.post(f"/v1beta1/{job['name']}:cancel", json={})
    stats = server.stats()
    assert stats["jobs_created"] == {"gemini_api": 1, "vertex_ai": 1}
    assert stats["cancels"] == {"gemini_api": 1, "vertex_ai": 1}
    assert stats["deletes"] == {"gemini_api": 1}
    assert stats["requests"]["DELETE /v1beta/tunedModels/{model_id}"] == 1
    assert stats["requests"]["POST /v1beta1/projects/{project}/locations/{location}/tuningJobs/{job_id}:cancel"] == 1


def test_loss_curve_deterministic_and_plateaus():
    curve = loss_curve("tunedModels/x", total_steps=80, steps_per_epoch=10)
    assert curve == loss_curve("tunedModels/x", 80, 10)
    assert curve != loss_curve("tunedModels/y", 80, 10)
    means = [statistics.fmean(curve[e * 10 : (e + 1) * 10]) for e in range(8)]
    assert means[0] > means[1] > means[2] > means[3]
    assert means[0] - means[2] > 1.0
    assert max(means[4:]) - min(means[4:]) < 0.05  # plateau


def test_snapshots_match_loss_curve(http):
    op = create_tuned(http, epochCount=3, batchSize=4).json()
    done = wait_until(lambda: (o := http.get(f"/v1beta/{op['name']}").json())["done"] and o)
    losses = [s["meanLoss"] for s in done["metadata"]["snapshots"]]
    assert losses == loss_curve("tunedModels/adder", 9, 3)
    assert done["response"]["tuningTask"]["snapshots"] == done["metadata"]["snapshots"]


def test_job_page(http, server):
    create_tuned(http)
    page = httpx.get(server.job_url("tunedModels/adder"))
    assert page.status_code == 200 and "tunedModels/adder" in page.text and "<table" in page.text
    assert httpx.get(server.job_url("tunedModels/none")).status_code == 404
