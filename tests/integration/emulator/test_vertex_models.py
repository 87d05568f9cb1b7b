"""Vertex AI models, endpoints and operations created by a succeeded tuning job.

Cleaning up a tuned model the way the real service requires: undeploy it from its endpoint,
delete the endpoint, then delete the model. Driven by raw httpx and by the google-genai client.
"""

from __future__ import annotations

import httpx
import pytest
from google.genai import errors, types

from tests.integration.emulator.conftest import vertex_client, wait_until

TRAIN = "gs://bucket/train.jsonl"
LOC = "projects/p/locations/us-central1"
PROMPT = {"contents": [{"role": "user", "parts": [{"text": "What is 3 plus one?"}]}]}
EMPTY = "type.googleapis.com/google.protobuf.Empty"


def _tune(vertex, epochs=1, **config):
    return vertex.tunings.tune(
        base_model="gemini-2.0-flash-001",
        training_dataset=types.TuningDataset(gcs_uri=TRAIN),
        config=types.CreateTuningJobConfig(epoch_count=epochs, tuned_model_display_name="adder", **config),
    )


def _succeeded(vertex, **config):
    job = _tune(vertex, **config)
    done = wait_until(lambda: (j := vertex.tunings.get(name=job.name)).has_ended and j)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    return done


@pytest.fixture
def tuned(vertex):
    """(model name with @1, model name without version, endpoint name) of a succeeded job."""
    done = _succeeded(vertex)
    model = done.tuned_model.model
    return model, model.split("@")[0], done.tuned_model.endpoint


def _deployed_id(vhttp, endpoint: str, version: str = "v1beta1") -> str:
    return vhttp.get(f"/{version}/{endpoint}").json()["deployedModels"][0]["id"]


def _undeploy(vhttp, endpoint: str, version: str = "v1beta1") -> dict:
    r = vhttp.post(
        f"/{version}/{endpoint}:undeployModel", json={"deployedModelId": _deployed_id(vhttp, endpoint, version)}
    )
    assert r.status_code == 200, r.text
    return r.json()


def _error(r: httpx.Response, code: int, status: str) -> str:
    assert r.status_code == code, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "status"}
    assert body["error"]["code"] == code and body["error"]["status"] == status
    return body["error"]["message"]


def _assert_done_operation(op: dict, metadata: str, response: str, version: str = "v1beta1") -> None:
    assert op["name"].startswith(f"{LOC}/operations/") and op["name"].rsplit("/", 1)[1].isdigit()
    assert op["done"] is True and "error" not in op
    assert op["metadata"]["@type"] == f"type.googleapis.com/google.cloud.aiplatform.{version}.{metadata}"
    generic = op["metadata"]["genericMetadata"]
    assert generic["createTime"].endswith("Z") and generic["updateTime"].endswith("Z")
    assert op["response"] == {"@type": response}


def test_model_and_endpoint_shapes(vhttp, vertex, tuned):
    model_v1, model, endpoint = tuned
    model_id = model.rsplit("/", 1)[1]
    for path in (model_v1, model, f"{model}@default"):
        r = vhttp.get(f"/v1beta1/{path}")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["name"] == model and body["displayName"] == "adder" and body["versionId"] == "1"
        assert body["createTime"].endswith("Z") and body["updateTime"].endswith("Z")
        assert body["deployedModels"] == [
            {"endpoint": endpoint, "deployedModelId": body["deployedModels"][0]["deployedModelId"], "checkpointId": "1"}
        ]
        assert body["defaultCheckpointId"] == "1" and body["checkpoints"] == [
            {"checkpointId": "1", "epoch": "1", "step": "3"}
        ]
    deployed_id = body["deployedModels"][0]["deployedModelId"]
    assert deployed_id.isdigit()
    assert body["labels"]["google-vertex-llm-tuning-base-model-id"] == "gemini-2_0-flash-001"

    ep = vhttp.get(f"/v1beta1/{endpoint}").json()
    assert ep["name"] == endpoint and ep["displayName"] == "adder"
    assert ep["createTime"].endswith("Z") and ep["updateTime"].endswith("Z")
    [dm] = ep["deployedModels"]
    assert dm["id"] == deployed_id and dm["model"] == model_v1 and dm["model"].endswith(f"{model_id}@1")
    assert dm["displayName"] == "adder" and dm["createTime"].endswith("Z")
    assert ep["trafficSplit"] == {deployed_id: 100}

    sdk = vertex.models.get(model=model_v1)
    assert sdk.name == model and sdk.display_name == "adder" and sdk.version == "1"
    assert [(e.name, e.deployed_model_id) for e in sdk.endpoints] == [(endpoint, deployed_id)]
    assert sdk.tuned_model_info.base_model == "gemini-2_0-flash-001"


def test_sdk_urls_for_models_get_and_delete(server, tuned):
    """The URLs google-genai sends for models.get / models.delete on Vertex, and that they route."""
    model_v1, model, endpoint = tuned
    sent: list[httpx.Request] = []
    client = vertex_client(server, sent)
    assert client.models.get(model=model_v1).name == model
    assert client.models.get(model=model.removeprefix(f"{LOC}/")).name == model  # "models/123" gets the project prefix
    with pytest.raises(errors.ClientError) as exc:
        client.models.delete(model=model_v1)  # still deployed
    assert exc.value.code == 400 and exc.value.status == "FAILED_PRECONDITION"
    model_id = model.rsplit("/", 1)[1]
    assert [(r.method, r.url.raw_path.decode()) for r in sent] == [
        ("GET", f"/v1beta1/{LOC}/models/{model_id}@1"),  # the @version suffix is sent as is, not %40
        ("GET", f"/v1beta1/{LOC}/models/{model_id}"),
        ("DELETE", f"/v1beta1/{LOC}/models/{model_id}@1"),
    ]


def test_delete_deployed_model_is_failed_precondition(vhttp, vertex, tuned, server):
    model_v1, model, endpoint = tuned
    for path in (model_v1, model):
        message = _error(vhttp.delete(f"/v1beta1/{path}"), 400, "FAILED_PRECONDITION")
        assert message == (
            f'The Model "{model}" is deployed or being deployed at the following Endpoint(s): {endpoint}. '
            "Please undeploy the Model first."
        )
    with pytest.raises(errors.ClientError) as exc:
        vertex.models.delete(model=model_v1)
    assert exc.value.code == 400 and exc.value.status == "FAILED_PRECONDITION" and endpoint in exc.value.message
    assert vhttp.get(f"/v1beta1/{model}").status_code == 200
    assert "vertex_ai" not in server.stats()["deletes"]


def test_delete_endpoint_with_deployed_model_is_failed_precondition(vhttp, vertex, tuned):
    _, _, endpoint = tuned
    deployed_id = _deployed_id(vhttp, endpoint)
    message = _error(vhttp.delete(f"/v1beta1/{endpoint}"), 400, "FAILED_PRECONDITION")
    assert endpoint in message and deployed_id in message and "undeploy them first" in message
    assert vertex.models.generate_content(model=endpoint, contents="What is 3 plus one?").text == "4"


def test_full_cleanup_undeploy_delete_endpoint_delete_model(vhttp, vertex, tuned, server):
    model_v1, model, endpoint = tuned
    op = _undeploy(vhttp, endpoint)
    _assert_done_operation(
        op,
        "UndeployModelOperationMetadata",
        "type.googleapis.com/google.cloud.aiplatform.v1beta1.UndeployModelResponse",
    )
    assert vhttp.get(f"/v1beta1/{op['name']}").json() == op

    ep = vhttp.get(f"/v1beta1/{endpoint}").json()
    assert "deployedModels" not in ep and "trafficSplit" not in ep and ep["name"] == endpoint
    assert "deployedModels" not in vhttp.get(f"/v1beta1/{model_v1}").json()
    assert vertex.models.get(model=model_v1).endpoints is None
    # The endpoint still exists but serves nothing.
    message = _error(vhttp.post(f"/v1beta1/{endpoint}:generateContent", json=PROMPT), 400, "FAILED_PRECONDITION")
    assert endpoint in message

    op = vhttp.delete(f"/v1beta1/{endpoint}").json()
    _assert_done_operation(op, "DeleteOperationMetadata", EMPTY)
    assert vhttp.get(f"/v1beta1/{op['name']}").json() == op
    _error(vhttp.get(f"/v1beta1/{endpoint}"), 404, "NOT_FOUND")
    assert _error(vhttp.delete(f"/v1beta1/{endpoint}"), 404, "NOT_FOUND") == f"Endpoint {endpoint} not found."
    _error(vhttp.post(f"/v1beta1/{endpoint}:generateContent", json=PROMPT), 404, "NOT_FOUND")

    op = vhttp.delete(f"/v1beta1/{model_v1}").json()
    _assert_done_operation(op, "DeleteOperationMetadata", EMPTY)
    assert vhttp.get(f"/v1beta1/{op['name']}").json() == op
    assert _error(vhttp.get(f"/v1beta1/{model}"), 404, "NOT_FOUND") == f"Model {model} not found."
    assert _error(vhttp.get(f"/v1beta1/{model_v1}"), 404, "NOT_FOUND") == f"Model {model_v1} not found."
    _error(vhttp.delete(f"/v1beta1/{model}"), 404, "NOT_FOUND")
    with pytest.raises(errors.ClientError) as exc:
        vertex.models.get(model=model_v1)
    assert exc.value.code == 404 and exc.value.status == "NOT_FOUND"
    with pytest.raises(errors.ClientError) as exc:
        vertex.models.generate_content(model=endpoint, contents="What is 3 plus one?")
    assert exc.value.code == 404

    deletes = server.stats()["deletes"]
    assert deletes["vertex_ai"] == 1 and deletes["vertex_ai_endpoints"] == 1 and deletes["gemini_api"] == 0
    # The tuning job itself is history and still names what it produced.
    job = vertex.tunings.list()
    assert [j.tuned_model.model for j in job] == [model_v1]


def test_sdk_delete_after_undeploy_keeps_endpoint(vhttp, vertex, tuned, server):
    model_v1, model, endpoint = tuned
    _undeploy(vhttp, endpoint)
    response = vertex.models.delete(model=model_v1)
    assert isinstance(response, types.DeleteModelResponse)
    with pytest.raises(errors.ClientError) as exc:
        vertex.models.get(model=model)
    assert exc.value.code == 404
    # The endpoint outlives the model; with nothing deployed it refuses to serve.
    assert vhttp.get(f"/v1beta1/{endpoint}").status_code == 200
    with pytest.raises(errors.ClientError) as exc:
        vertex.models.generate_content(model=endpoint, contents="What is 3 plus one?")
    assert exc.value.code == 400 and exc.value.status == "FAILED_PRECONDITION"
    assert server.stats()["deletes"]["vertex_ai"] == 1


def test_url_encoded_version_suffix(vhttp, tuned):
    model_v1, model, endpoint = tuned
    encoded = model_v1.replace("@", "%40")
    assert vhttp.get(f"/v1beta1/{encoded}").json()["name"] == model
    _undeploy(vhttp, endpoint)
    assert vhttp.delete(f"/v1beta1/{encoded}").json()["done"] is True
    _error(vhttp.get(f"/v1beta1/{model}"), 404, "NOT_FOUND")


def test_undeploy_errors(vhttp, tuned):
    _, _, endpoint = tuned
    message = _error(vhttp.post(f"/v1beta1/{endpoint}:undeployModel", json={}), 400, "INVALID_ARGUMENT")
    assert "deployedModelId" in message
    message = _error(vhttp.post(f"/v1beta1/{endpoint}:undeployModel", json={"deployedModelId": "42"}), 404, "NOT_FOUND")
    assert "42" in message and endpoint in message
    deployed_id = _deployed_id(vhttp, endpoint)
    # snake_case is accepted, as in proto JSON
    assert (
        vhttp.post(f"/v1beta1/{endpoint}:undeployModel", json={"deployed_model_id": deployed_id}).json()["done"] is True
    )
    _error(vhttp.post(f"/v1beta1/{endpoint}:undeployModel", json={"deployedModelId": deployed_id}), 404, "NOT_FOUND")
    _error(
        vhttp.post(f"/v1beta1/{LOC}/endpoints/42:undeployModel", json={"deployedModelId": deployed_id}),
        404,
        "NOT_FOUND",
    )


def test_unknown_resources_are_404(vhttp, tuned):
    model_v1, model, endpoint = tuned
    assert _error(vhttp.get(f"/v1beta1/{LOC}/models/123"), 404, "NOT_FOUND") == f"Model {LOC}/models/123 not found."
    _error(vhttp.delete(f"/v1beta1/{LOC}/models/123@1"), 404, "NOT_FOUND")
    _error(vhttp.get(f"/v1beta1/{model}@2"), 404, "NOT_FOUND")  # only version 1 exists
    _error(vhttp.get(f"/v1beta1/{model.replace('/p/', '/other/')}"), 404, "NOT_FOUND")
    assert (
        _error(vhttp.get(f"/v1beta1/{LOC}/endpoints/123"), 404, "NOT_FOUND")
        == f"Endpoint {LOC}/endpoints/123 not found."
    )
    _error(vhttp.delete(f"/v1beta1/{LOC}/endpoints/123"), 404, "NOT_FOUND")
    message = _error(vhttp.get(f"/v1beta1/{LOC}/operations/123"), 404, "NOT_FOUND")
    assert message == f"Operation {LOC}/operations/123 not found."


def test_no_model_or_endpoint_before_success_or_after_failure(vhttp, vertex, server):
    running = _tune(vertex, epochs=500)
    wait_until(lambda: vertex.tunings.get(name=running.name).state == types.JobState.JOB_STATE_RUNNING)
    job = vhttp.get(f"/v1beta1/{running.name}").json()
    assert "tunedModel" not in job
    server.set_faults(fail_jobs=True)
    failed = _tune(vertex)
    failed = wait_until(lambda: (j := vertex.tunings.get(name=failed.name)).has_ended and j)
    assert failed.state == types.JobState.JOB_STATE_FAILED
    # Neither job exposes tunedModel; take the names the emulator reserved for them at creation.
    for model_name, endpoint_name in _names_of(server, running.name, failed.name):
        _error(vhttp.get(f"/v1beta1/{model_name}"), 404, "NOT_FOUND")
        _error(vhttp.get(f"/v1beta1/{endpoint_name}"), 404, "NOT_FOUND")
        _error(vhttp.post(f"/v1beta1/{endpoint_name}:undeployModel", json={"deployedModelId": "1"}), 404, "NOT_FOUND")
        _error(vhttp.post(f"/v1beta1/{endpoint_name}:generateContent", json=PROMPT), 404, "NOT_FOUND")


def _names_of(server, *job_names: str) -> list[tuple[str, str]]:
    """The Model and the (only) checkpoint Endpoint the emulator reserved for each job."""
    with server.state.lock:
        jobs = [server.state.jobs[n] for n in job_names]
        return [(job.extra["model"], job.extra["checkpoints"][-1].endpoint) for job in jobs]


def test_v1_paths(vhttp, tuned):
    model_v1, model, endpoint = tuned
    assert vhttp.get(f"/v1/{model_v1}").json()["name"] == model
    assert vhttp.get(f"/v1/{endpoint}").json()["name"] == endpoint
    _error(vhttp.delete(f"/v1/{model_v1}"), 400, "FAILED_PRECONDITION")
    _error(vhttp.delete(f"/v1/{endpoint}"), 400, "FAILED_PRECONDITION")
    op = _undeploy(vhttp, endpoint, version="v1")
    _assert_done_operation(
        op,
        "UndeployModelOperationMetadata",
        "type.googleapis.com/google.cloud.aiplatform.v1.UndeployModelResponse",
        version="v1",
    )
    op = vhttp.delete(f"/v1/{endpoint}").json()
    _assert_done_operation(op, "DeleteOperationMetadata", EMPTY, version="v1")
    op = vhttp.delete(f"/v1/{model_v1}").json()
    _assert_done_operation(op, "DeleteOperationMetadata", EMPTY, version="v1")
    # Operations are location-scoped and readable under either version.
    assert vhttp.get(f"/v1/{op['name']}").json() == op
    assert vhttp.get(f"/v1beta1/{op['name']}").json() == op
    _error(vhttp.get(f"/v1/{model}"), 404, "NOT_FOUND")


def test_bearer_auth_required(server, vhttp, tuned):
    model_v1, model, endpoint = tuned
    op = vhttp.post(
        f"/v1beta1/{endpoint}:undeployModel", json={"deployedModelId": _deployed_id(vhttp, endpoint)}
    ).json()
    calls = [
        ("GET", model_v1, None),
        ("DELETE", model_v1, None),
        ("GET", endpoint, None),
        ("DELETE", endpoint, None),
        ("POST", f"{endpoint}:undeployModel", {"deployedModelId": "1"}),
        ("GET", op["name"], None),
    ]
    for method, path, body in calls:
        for version in ("v1beta1", "v1"):
            r = httpx.request(method, f"{server.url}/{version}/{path}", json=body)
            _error(r, 401, "UNAUTHENTICATED")
    # Nothing was changed by the unauthenticated calls.
    assert vhttp.get(f"/v1beta1/{model_v1}").status_code == 200
    assert vhttp.get(f"/v1beta1/{endpoint}").status_code == 200


def test_reset_forgets_models_endpoints_and_operations(vhttp, tuned, server):
    model_v1, _, endpoint = tuned
    op = _undeploy(vhttp, endpoint)
    server.reset()
    for path in (model_v1, endpoint, op["name"]):
        _error(vhttp.get(f"/v1beta1/{path}"), 404, "NOT_FOUND")


def test_requests_are_counted_by_route(vhttp, tuned, server):
    model_v1, _, endpoint = tuned
    vhttp.get(f"/v1beta1/{model_v1}")
    vhttp.get(f"/v1/{endpoint}")
    requests = server.stats()["requests"]
    assert requests["GET /v1beta1/projects/{project}/locations/{location}/models/{model_id}"] == 1
    assert requests["GET /v1/projects/{project}/locations/{location}/endpoints/{endpoint_id}"] == 1
