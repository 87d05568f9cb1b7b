"""Base models (``/v1beta`` and ``/v1``: list, get, generateContent) and tuned-model generateContent."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gemini_tuning.emulator.deps import get_state, paged, read_json
from gemini_tuning.emulator.errors import failed_precondition, invalid, not_found
from gemini_tuning.emulator.gemini_api.resources import BASE_MODELS, MAX_INPUT_CHARS, live_model, render_base_model
from gemini_tuning.emulator.responder import answer_base, answer_tuned

router = APIRouter()


@router.post("/v1beta/tunedModels/{model_id}:generateContent")
async def generate_tuned(request: Request, model_id: str):
    state = get_state(request)
    body = await read_json(request)
    name = f"tunedModels/{model_id}"
    with state.lock:
        job = live_model(request, model_id)
        phase = job.phase(state.now())
    if phase != "succeeded":
        state_name = "FAILED" if phase == "failed" else "CREATING"
        raise failed_precondition(f"Tuned model {name} is not ready for inference (state {state_name}).")
    if body.get("systemInstruction") or body.get("system_instruction"):
        raise invalid(f"Developer instruction is not enabled for {name}")
    config = body.get("generationConfig") or body.get("generation_config") or {}
    if (config.get("responseMimeType") or config.get("response_mime_type")) == "application/json":
        raise invalid(f"JSON mode is not enabled for {name}")
    return answer_tuned(body, job.examples, name, max_chars=MAX_INPUT_CHARS)


def _add_base_model_routes(version: str) -> None:
    """List, get and generateContent for the base models under ``/{version}`` (v1beta and v1)."""

    def known(model: str) -> str:
        name = f"models/{model}"
        if name not in BASE_MODELS:
            raise not_found(
                f"models/{model} is not found for API version {version}, or is not supported for generateContent."
            )
        return name

    @router.get(f"/{version}/models", name=f"{version}_list_models")
    async def list_models(pageSize: str | None = None, pageToken: str | None = None):
        return paged(list(BASE_MODELS), pageSize, pageToken, key="models", default=50, render=render_base_model)

    @router.get(f"/{version}/models/{{model}}", name=f"{version}_get_model")
    async def get_model(model: str):
        return render_base_model(known(model))

    @router.post(f"/{version}/models/{{model}}:generateContent", name=f"{version}_generate_content")
    async def generate_base(request: Request, model: str):
        return answer_base(await read_json(request), known(model), model)


for _version in ("v1beta", "v1"):
    _add_base_model_routes(_version)
