"""Deleting a Vertex AI tuned model so that nothing is left billing.

A tuned model version has one endpoint per checkpoint. Vertex AI refuses to delete a deployed
version or an endpoint that still serves one, so every endpoint of every version to delete is
undeployed first, deleted once empty, then the versions (or the whole model) are deleted, waiting
for each long-running operation. What goes:

- an endpoint: the model version it serves, with all of that version's checkpoint endpoints;
- ``.../models/ID@N``: that version (with continuous tuning, the other versions stay);
- ``.../models/ID``: the model and every version (``:listVersions``).

The SDK has no endpoint, undeploy or list-versions calls: these are REST requests through the
client's own transport (:mod:`.genai_private`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from gemini_tuning.backends.genai_private import rest
from gemini_tuning.exceptions import NotFoundError, TuningJobTimeout, service_error, translate_errors

if TYPE_CHECKING:
    from google import genai


def delete_tuned_model(client: genai.Client, name: str) -> bool:
    """Delete what ``name`` designates (see the module docstring); ``False`` when it is already gone."""
    try:
        with translate_errors():
            versions = _versions_to_delete(client, name)
    except NotFoundError:
        return False
    with translate_errors():
        for version in versions:
            _undeploy_everywhere(client, version)
        if versions:
            _delete_versions(client, versions, whole_model="/endpoints/" not in name and "@" not in name)
    return True


def _versions_to_delete(client: genai.Client, name: str) -> list[dict]:
    """The model versions (``name`` without ``@``, ``versionId``) that ``name`` designates."""
    if "/endpoints/" in name:
        endpoint = rest(client, "get", name)
        deployed = {d["model"] for d in endpoint.get("deployedModels") or []}
        if not deployed:  # an endpoint left empty by an earlier, interrupted delete
            _wait(client, rest(client, "delete", name))
        return [rest(client, "get", model) for model in sorted(deployed)]
    if "@" in name:
        return [rest(client, "get", name)]
    return list_versions(client, name)


def list_versions(client: genai.Client, model: str) -> list[dict]:
    """Every live version of ``model`` (``GET {model}:listVersions``, all pages)."""
    versions, token = [], None
    while True:
        page = rest(client, "get", f"{model}:listVersions" + (f"?pageToken={token}" if token else ""))
        versions += page.get("models") or []
        token = page.get("nextPageToken")
        if not token:
            return versions


def _undeploy_everywhere(client: genai.Client, version: dict) -> None:
    """Undeploy ``version`` from each of its (checkpoint) endpoints; delete the endpoints left empty."""
    this = f"{version['name']}@{version['versionId']}"
    for endpoint_name in sorted({d["endpoint"] for d in version.get("deployedModels") or []}):
        try:
            endpoint = rest(client, "get", endpoint_name)
        except NotFoundError:
            continue
        others = []
        for deployed in endpoint.get("deployedModels") or []:
            if deployed["model"] != this:
                others.append(deployed)
                continue
            body = {"deployedModelId": deployed["id"]}
            _wait(client, rest(client, "post", f"{endpoint_name}:undeployModel", body))
        if not others:
            _wait(client, rest(client, "delete", endpoint_name))


def _delete_versions(client: genai.Client, versions: list[dict], whole_model: bool) -> None:
    """Delete ``versions``; the model itself when asked or when they are all its live versions."""
    model = versions[0]["name"]
    remaining = {v["versionId"] for v in list_versions(client, model)} - {v["versionId"] for v in versions}
    targets = [model] if whole_model or not remaining else [f"{model}@{v['versionId']}" for v in versions]
    for target in targets:
        try:
            _wait(client, rest(client, "delete", target))
        except NotFoundError:
            pass


def _wait(client: genai.Client, operation: dict, timeout: float = 600.0) -> None:
    """Poll a Vertex long-running operation until done; raise its error if it failed."""
    deadline = time.monotonic() + timeout
    while not operation.get("done"):
        if time.monotonic() > deadline:
            raise TuningJobTimeout(f"Operation {operation.get('name')} did not finish within {timeout:g}s.")
        time.sleep(1.0)
        operation = rest(client, "get", operation["name"])
    if operation.get("error"):
        error = operation["error"]
        raise service_error(error.get("message") or "the operation failed", status=_status_name(error))


def _status_name(error: dict) -> str | None:
    """The google.rpc code of an operation's error as its status name (``9`` -> ``FAILED_PRECONDITION``)."""
    from google.rpc import code_pb2

    code = error.get("code")
    return code_pb2.Code.Name(code) if isinstance(code, int) and code in code_pb2.Code.values() else None
