"""Gemini Developer API surface, driven by raw HTTP and by the real google-genai client."""

from __future__ import annotations

import pytest
from google.genai import errors, types

from tests.integration.emulator.conftest import API_KEY, QA, create_tuned, tuned_model_body, wait_until


def _active(http, model_id="adder"):
    return wait_until(lambda: (r := http.get(f"/v1beta/tunedModels/{model_id}").json()).get("state") == "ACTIVE" and r)


def test_create_returns_operation_with_metadata(http):
    r = create_tuned(http, epochCount=2, batchSize=4)
    assert r.status_code == 200
    op = r.json()
    assert op["name"].startswith("tunedModels/adder/operations/")
    assert op["done"] is False
    meta = op["metadata"]
    assert meta["@type"] == "type.googleapis.com/google.ai.generativelanguage.v1beta.CreateTunedModelMetadata"
    assert meta["tunedModel"] == "tunedModels/adder"
    assert meta["totalSteps"] == 6  # ceil(12 / 4) * 2


def test_operation_completes_with_tuned_model_response(http):
    op = create_tuned(http, epochCount=2, batchSize=4).json()
    done = wait_until(lambda: (o := http.get(f"/v1beta/{op['name']}").json())["done"] and o)
    assert done["response"]["@type"].endswith("v1beta.TunedModel")
    assert done["response"]["state"] == "ACTIVE"
    assert done["metadata"]["completedSteps"] == 6
    assert done["metadata"]["completedPercent"] == 100.0
    assert [s["step"] for s in done["metadata"]["snapshots"]] == [1, 2, 3, 4, 5, 6]
    assert [s["epoch"] for s in done["metadata"]["snapshots"]] == [1, 1, 1, 2, 2, 2]
    listed = http.get("/v1beta/tunedModels/adder/operations").json()
    assert [o["name"] for o in listed["operations"]] == [op["name"]]


def test_defaults_echoed_and_examples_not_returned(http):
    create_tuned(http)
    model = http.get("/v1beta/tunedModels/adder").json()
    assert model["state"] == "CREATING"
    assert model["tuningTask"]["hyperparameters"] == {"epochCount": 5, "batchSize": 4, "learningRate": 0.001}
    assert "trainingData" not in model["tuningTask"]
    model = _active(http)
    assert {"startTime", "completeTime", "snapshots"} <= set(model["tuningTask"])
    assert model["createTime"].endswith("Z") and model["updateTime"] >= model["createTime"]


def test_learning_rate_multiplier_is_kept(http):
    create_tuned(http, learningRateMultiplier=0.5)
    hp = http.get("/v1beta/tunedModels/adder").json()["tuningTask"]["hyperparameters"]
    assert hp == {"epochCount": 5, "batchSize": 4, "learningRateMultiplier": 0.5}


def test_generated_id_from_display_name(http):
    op = create_tuned(http, model_id=None).json()
    model_id = op["metadata"]["tunedModel"].split("/", 1)[1]
    assert model_id.startswith("adder-") and len(model_id) <= 40


def test_snake_case_body_is_accepted(http):
    body = {
        "base_model": "models/gemini-2.0-flash-001",
        "tuning_task": {"training_data": {"examples": {"examples": [{"text_input": "a", "output": "b"}]}}},
    }
    assert http.post("/v1beta/tunedModels", params={"tunedModelId": "snake"}, json=body).status_code == 200


def test_sdk_generate_content_on_tuned_model(http, gemini):
    create_tuned(http, epochCount=1)
    _active(http)
    exact = gemini.models.generate_content(model="tunedModels/adder", contents="What is 7 plus one?")
    assert exact.text == "8"
    near = gemini.models.generate_content(model="tunedModels/adder", contents="what is 7 plus one")
    assert near.text == "8"
    assert exact.candidates[0].finish_reason == types.FinishReason.STOP
    assert exact.usage_metadata.total_token_count == (
        exact.usage_metadata.prompt_token_count + exact.usage_metadata.candidates_token_count
    )


def test_base_model_answers_differently(gemini):
    r = gemini.models.generate_content(model="gemini-2.0-flash-001", contents="What is 7 plus one?")
    assert r.text != "8" and "What is 7 plus one?" in r.text


def test_tuned_model_not_ready_is_failed_precondition(http, server):
    server.state.settings.startup_seconds = 30
    try:
        create_tuned(http)
        r = http.post("/v1beta/tunedModels/adder:generateContent", json={"contents": [{"parts": [{"text": "x"}]}]})
    finally:
        server.state.settings.startup_seconds = 0.02
    assert r.status_code == 400
    assert r.json()["error"]["status"] == "FAILED_PRECONDITION"


@pytest.mark.parametrize(
    "config, fragment",
    [
        (types.GenerateContentConfig(system_instruction="be terse"), "Developer instruction"),
        (types.GenerateContentConfig(response_mime_type="application/json"), "JSON mode"),
    ],
)
def test_tuned_model_rejects_system_instruction_and_json_mode(http, gemini, config, fragment):
    create_tuned(http, epochCount=1)
    _active(http)
    with pytest.raises(errors.ClientError) as exc:
        gemini.models.generate_content(model="tunedModels/adder", contents="hi", config=config)
    assert exc.value.code == 400 and exc.value.status == "INVALID_ARGUMENT" and fragment in exc.value.message


def test_tuned_model_rejects_long_input(http):
    create_tuned(http, epochCount=1)
    _active(http)
    r = http.post("/v1beta/tunedModels/adder:generateContent", json={"contents": [{"parts": [{"text": "x" * 40_001}]}]})
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_sdk_models_list_get(gemini, http):
    names = [m.name for m in gemini.models.list()]
    assert "models/gemini-1.5-flash-001-tuning" in names and "models/gemini-2.5-flash" in names
    assert gemini.models.get(model="gemini-2.5-flash").name == "models/gemini-2.5-flash"
    create_tuned(http, epochCount=1)
    tuned = gemini.models.get(model="tunedModels/adder")
    assert tuned.name == "tunedModels/adder"
    assert tuned.tuned_model_info.base_model == "models/gemini-2.0-flash-001"


def test_sdk_tunings_get_maps_state(http, gemini):
    create_tuned(http, epochCount=1)
    _active(http)
    job = gemini.tunings.get(name="tunedModels/adder")
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED
    assert job.tuned_model.model == "tunedModels/adder"


def test_sdk_delete_and_404(http, gemini):
    create_tuned(http, epochCount=1)
    _active(http)
    gemini.models.delete(model="tunedModels/adder")
    r = http.get("/v1beta/tunedModels/adder")
    assert r.status_code == 404
    assert r.json()["error"] == {
        "code": 404,
        "message": "Tuned model tunedModels/adder does not exist.",
        "status": "NOT_FOUND",
    }
    assert http.delete("/v1beta/tunedModels/adder").status_code == 404


def test_delete_while_creating_cancels_operation(http, server):
    op = create_tuned(http, epochCount=50).json()
    r = http.delete("/v1beta/tunedModels/adder")
    assert r.status_code == 200 and r.json() == {}
    assert http.get("/v1beta/tunedModels/adder").status_code == 404
    final = http.get(f"/v1beta/{op['name']}").json()
    assert final["done"] is True and final["error"]["code"] == 1
    assert "response" not in final
    stats = server.stats()
    assert stats["cancels"]["gemini_api"] == 1 and stats["deletes"]["gemini_api"] == 1


def test_operation_cancel_binding_does_not_exist(http):
    op = create_tuned(http).json()
    r = http.post(f"/v1beta/{op['name']}:cancel", json={})
    assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND"
    assert http.get("/v1beta/tunedModels/adder").json()["state"] == "CREATING"


def test_v1_has_models_but_no_tuned_models(http):
    assert http.get("/v1/tunedModels").status_code == 404
    assert http.post("/v1/tunedModels", json=tuned_model_body()).status_code == 404
    r = http.post("/v1/models/gemini-2.0-flash-001:generateContent", json={"contents": [{"parts": [{"text": "hi"}]}]})
    assert r.status_code == 200 and r.json()["candidates"][0]["content"]["role"] == "model"
    assert http.get("/v1/models").status_code == 200


def test_patch_update_mask(http):
    create_tuned(http)
    r = http.patch(
        "/v1beta/tunedModels/adder",
        params={"updateMask": "displayName,description"},
        json={"displayName": "Renamed", "description": "d"},
    )
    assert r.status_code == 200 and r.json()["displayName"] == "Renamed" and r.json()["description"] == "d"
    bad = http.patch("/v1beta/tunedModels/adder", params={"updateMask": "baseModel"}, json={"baseModel": "x"})
    assert bad.status_code == 400 and "baseModel" in bad.json()["error"]["message"]


def test_pagination(http):
    for i in range(5):
        create_tuned(http, model_id=f"m{i}")
    seen, token = [], None
    while True:
        params = {"pageSize": 2, **({"pageToken": token} if token else {})}
        body = http.get("/v1beta/tunedModels", params=params).json()
        seen += [m["name"] for m in body["tunedModels"]]
        token = body.get("nextPageToken")
        if not token:
            break
    assert seen == [f"tunedModels/m{i}" for i in range(5)]
    assert len(http.get("/v1beta/tunedModels").json()["tunedModels"]) == 5
    assert http.get("/v1beta/tunedModels", params={"pageToken": "garbage!"}).status_code == 400


def test_duplicate_id_conflicts(http):
    assert create_tuned(http).status_code == 200
    r = create_tuned(http)
    assert r.status_code == 409 and r.json()["error"]["status"] == "ALREADY_EXISTS"


@pytest.mark.parametrize(
    "model_id, kwargs, field",
    [
        ("Bad_Id", {}, "tunedModelId"),
        ("a" * 41, {}, "tunedModelId"),
        ("ends-with-", {}, "tunedModelId"),
        ("ok", {"base": "models/unknown"}, "baseModel"),
        ("ok", {"base": ""}, "baseModel"),
        ("ok", {"examples": []}, "examples"),
        ("ok", {"examples": [{"textInput": "x" * 40_001, "output": "y"}]}, "textInput"),
        ("ok", {"examples": [{"textInput": "x", "output": "y" * 5_001}]}, "output"),
        ("ok", {"examples": [{"textInput": "x"}]}, "output"),
        ("ok", {"examples": [{"textInput": "x", "output": "y", "extra": 1}]}, "extra"),
        ("ok", {"learningRate": 0.1, "learningRateMultiplier": 1.0}, "learningRateMultiplier"),
        ("ok", {"epochCount": 0}, "epochCount"),
    ],
)
def test_validation_errors_name_the_field(http, model_id, kwargs, field):
    r = create_tuned(http, model_id=model_id, **kwargs)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and error["code"] == 400
    assert field in error["message"]


def test_display_name_too_long(http):
    body = tuned_model_body()
    body["displayName"] = "x" * 41
    r = http.post("/v1beta/tunedModels", json=body)
    assert r.status_code == 400 and "displayName" in r.json()["error"]["message"]


def test_auth_failures(server):
    import httpx

    missing = httpx.get(f"{server.url}/v1beta/tunedModels")
    assert missing.status_code == 403 and missing.json()["error"]["status"] == "PERMISSION_DENIED"
    assert "unregistered callers" in missing.json()["error"]["message"]
    wrong = httpx.get(f"{server.url}/v1beta/tunedModels", headers={"x-goog-api-key": "nope"})
    assert wrong.status_code == 400
    assert wrong.json()["error"] == {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
    }
    assert httpx.get(f"{server.url}/v1beta/tunedModels", params={"key": API_KEY}).status_code == 200


def test_sdk_wrong_key_raises_client_error(server):
    from google import genai

    client = genai.Client(api_key="wrong", http_options=types.HttpOptions(base_url=server.url, api_version="v1beta"))
    with pytest.raises(errors.ClientError) as exc:
        client.models.generate_content(model="gemini-2.0-flash-001", contents="hi")
    assert exc.value.code == 400 and "API key not valid" in exc.value.message


def test_qa_fixture_sanity():
    assert len(QA) == 12
