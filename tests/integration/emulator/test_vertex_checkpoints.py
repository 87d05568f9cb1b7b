"""Vertex checkpoints: one per epoch (or only the last), each on its own Endpoint, the default one
promoted with google-genai's ``models.update``, and a cleanup that leaves nothing behind."""

from __future__ import annotations

import json

import httpx
import pytest
from google.genai import errors, types

from tests.integration.emulator.conftest import QA, vertex_client

TRAIN = "gs://bucket/train.jsonl"
LOC = "projects/p/locations/us-central1"


def _done(vertex, clock, epochs=3, labels=None, **config):
    job = vertex.tunings.tune(
        base_model="gemini-2.0-flash-001",
        training_dataset=types.TuningDataset(gcs_uri=TRAIN),
        config=types.CreateTuningJobConfig(
            epoch_count=epochs, tuned_model_display_name="adder", labels=labels, **config
        ),
    )
    clock.advance(60)
    done = vertex.tunings.get(name=job.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    return done


def test_one_checkpoint_per_epoch_each_on_its_endpoint(vertex, vhttp, clock):
    done = _done(vertex, clock, epochs=3)
    checkpoints = done.tuned_model.checkpoints
    assert [(c.checkpoint_id, c.epoch, c.step) for c in checkpoints] == [("1", 1, 3), ("2", 2, 6), ("3", 3, 9)]
    assert len({c.endpoint for c in checkpoints}) == 3
    assert done.tuned_model.endpoint == checkpoints[-1].endpoint  # the default checkpoint's endpoint
    model = vertex.models.get(model=done.tuned_model.model)
    assert model.default_checkpoint_id == "3"
    assert [(c.checkpoint_id, c.epoch, c.step) for c in model.checkpoints] == [("1", 1, 3), ("2", 2, 6), ("3", 3, 9)]
    assert sorted(e.name for e in model.endpoints) == sorted(c.endpoint for c in checkpoints)
    for c in checkpoints:
        [deployed] = vhttp.get(f"/v1beta1/{c.endpoint}").json()["deployedModels"]
        assert deployed["checkpointId"] == c.checkpoint_id and deployed["model"] == done.tuned_model.model
        answer = vertex.models.generate_content(model=c.endpoint, contents="What is 3 plus one?")
        assert answer.text  # every checkpoint serves generateContent
    names = [vhttp.get(f"/v1beta1/{c.endpoint}").json()["displayName"] for c in checkpoints]
    assert names == ["adder-checkpoint-1", "adder-checkpoint-2", "adder"]


def test_export_last_checkpoint_only(vertex, clock):
    done = _done(vertex, clock, epochs=3, export_last_checkpoint_only=True)
    [only] = done.tuned_model.checkpoints
    assert (only.checkpoint_id, only.epoch, only.step, only.endpoint) == ("1", 3, 9, done.tuned_model.endpoint)
    assert done.supervised_tuning_spec.export_last_checkpoint_only is True


def _agreement(vertex, endpoint: str, prompts: list[str], expected: list[str]) -> int:
    answers = [vertex.models.generate_content(model=endpoint, contents=p).text for p in prompts]
    return sum(a == e for a, e in zip(answers, expected, strict=True))


def test_quality_improves_with_epoch_until_over_trained(vertex, clock):
    done = _done(vertex, clock, epochs=10)  # 12 examples support 6 epochs
    by_epoch = {c.epoch: c.endpoint for c in done.tuned_model.checkpoints}
    train_prompts, train_answers = [q for q, _ in QA], [a for _, a in QA]
    known = [_agreement(vertex, by_epoch[e], train_prompts, train_answers) for e in (1, 3, 6, 10)]
    assert known[0] < len(QA) and known == sorted(known) and known[2] == known[3] == len(QA)
    # Unseen prompts: the best checkpoint answers like its closest example; an over-trained one often does not.
    unseen = [f"Please tell me: what is {i} plus one?" for i in range(40)]
    reference = [vertex.models.generate_content(model=by_epoch[6], contents=p).text for p in unseen]
    over = [_agreement(vertex, by_epoch[e], unseen, reference) for e in (7, 10)]
    assert len(unseen) > over[0] >= over[1] and over[1] <= 30


def test_promote_a_checkpoint_with_models_update(server, vertex, vhttp, clock):
    done = _done(vertex, clock, epochs=3)
    sent: list[httpx.Request] = []
    client = vertex_client(server, sent)
    model = client.models.update(
        model=done.tuned_model.model, config=types.UpdateModelConfig(default_checkpoint_id="2")
    )
    assert [(r.method, r.url.raw_path.decode(), json.loads(r.content)) for r in sent] == [
        ("PATCH", f"/v1beta1/{done.tuned_model.model}", {"defaultCheckpointId": "2"})
    ]
    assert model.default_checkpoint_id == "2"
    second = done.tuned_model.checkpoints[1].endpoint
    assert vertex.tunings.get(name=done.name).tuned_model.endpoint == second
    renamed = vertex.models.update(
        model=done.tuned_model.model, config=types.UpdateModelConfig(display_name="adder-v2")
    )
    assert renamed.display_name == "adder-v2" and renamed.default_checkpoint_id == "2"
    with pytest.raises(errors.ClientError) as exc:
        vertex.models.update(model=done.tuned_model.model, config=types.UpdateModelConfig(default_checkpoint_id="9"))
    assert exc.value.code == 400 and exc.value.status == "INVALID_ARGUMENT" and "'9'" in exc.value.message
    masked = vhttp.patch(
        f"/v1beta1/{done.tuned_model.model}",
        params={"updateMask": "default_checkpoint_id"},
        json={"defaultCheckpointId": "1", "displayName": "ignored"},
    ).json()
    assert masked["defaultCheckpointId"] == "1" and masked["displayName"] == "adder-v2"
    bad = vhttp.patch(f"/v1beta1/{done.tuned_model.model}", params={"updateMask": "labels"}, json={})
    assert bad.status_code == 400 and bad.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_cleanup_of_every_checkpoint_endpoint_leaves_nothing(server, vertex, vhttp, clock):
    done = _done(vertex, clock, epochs=3, labels={"run": "weekly"})
    model = done.tuned_model.model
    endpoints = [c.endpoint for c in done.tuned_model.checkpoints]
    assert server.stats()["vertex_live"] == {"model_versions": 1, "endpoints": 3, "deployed_models": 3}
    listed = vhttp.get(f"/v1beta1/{LOC}/endpoints", params={"filter": 'labels.run="weekly"'}).json()["endpoints"]
    assert sorted(e["name"] for e in listed) == sorted(endpoints)
    r = vhttp.delete(f"/v1beta1/{model}")
    assert r.status_code == 400 and r.json()["error"]["status"] == "FAILED_PRECONDITION"
    assert all(e in r.json()["error"]["message"] for e in endpoints)  # every checkpoint endpoint is named
    for endpoint in endpoints:
        deployed_id = vhttp.get(f"/v1beta1/{endpoint}").json()["deployedModels"][0]["id"]
        undeploy = vhttp.post(f"/v1beta1/{endpoint}:undeployModel", json={"deployedModelId": deployed_id})
        assert undeploy.json()["done"] is True
        assert vhttp.delete(f"/v1beta1/{endpoint}").json()["done"] is True
    assert vhttp.delete(f"/v1beta1/{model}").json()["done"] is True
    assert vhttp.get(f"/v1beta1/{LOC}/endpoints").json() == {}
    assert vhttp.get(f"/v1beta1/{LOC}/models").json() == {}
    assert server.stats()["vertex_live"] == {"model_versions": 0, "endpoints": 0, "deployed_models": 0}


def test_list_models_and_endpoints_with_filters(vertex, vhttp, clock):
    weekly = _done(vertex, clock, epochs=1, labels={"run": "weekly"})
    _done(vertex, clock, epochs=2, labels={"run": "adhoc"})
    models = vhttp.get(f"/v1beta1/{LOC}/models").json()["models"]
    assert len(models) == 2 and all(m["versionAliases"] == ["default"] for m in models)
    only = vhttp.get(f"/v1beta1/{LOC}/models", params={"filter": 'labels.run = "weekly"'}).json()["models"]
    assert [m["name"] for m in only] == [weekly.tuned_model.model.split("@")[0]]
    assert len(vhttp.get(f"/v1beta1/{LOC}/endpoints").json()["endpoints"]) == 3
    page = vhttp.get(f"/v1beta1/{LOC}/endpoints", params={"pageSize": 2}).json()
    assert len(page["endpoints"]) == 2 and page["nextPageToken"]
    other = vhttp.get("/v1beta1/projects/other/locations/us-central1/endpoints").json()
    assert other == {}
