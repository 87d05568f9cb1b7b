"""``/_emulator/*``: faults, reset, stats, health and a human-readable job page (never faulted)."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gemini_tuning.emulator import gemini_api, vertex_ai
from gemini_tuning.emulator.deps import get_state, read_json
from gemini_tuning.emulator.errors import invalid, not_found

router = APIRouter(prefix="/_emulator")
RENDERERS = {
    "gemini_api": lambda state, job, now: gemini_api.render_model(job, now),
    "vertex_ai": vertex_ai.render_job,
}


@router.get("/faults")
async def get_faults(request: Request):
    return get_state(request).faults.as_dict()


@router.post("/faults")
async def set_faults(request: Request):
    state = get_state(request)
    body = await read_json(request)
    with state.lock:
        backup = state.faults.as_dict()
        try:
            state.faults.update(body)
        except (TypeError, ValueError) as exc:
            state.faults.update(backup)
            raise invalid(str(exc)) from None
        return state.faults.as_dict()


@router.post("/reset")
async def reset(request: Request):
    get_state(request).reset()
    return {}


@router.get("/stats")
async def stats(request: Request):
    """Counters, plus ``vertex_live``: the tuned model versions, endpoints and deployments that exist now."""
    state = get_state(request)
    with state.lock:
        return {**state.stats(), "vertex_live": vertex_ai.live_counts(state, state.now())}


@router.get("/health")
async def health():
    return {"status": "ok"}


@router.get("/jobs/{name:path}", response_class=HTMLResponse)
async def job_page(request: Request, name: str):
    """The page the provider links to as the job URL when the connection has ``emulator: true``."""
    state = get_state(request)
    with state.lock:
        job = state.jobs.get(name)
        if job is None:
            raise not_found(f"No job named {name}.")
        now = state.now()
        resource = RENDERERS[job.backend](state, job, now)
        done, total, losses = job.completed_steps(now), job.total_steps, job.losses()
    rows = "".join(
        f"<tr><td>{s}</td><td>{(s - 1) // job.steps_per_epoch + 1}</td><td>{losses[s - 1]:.4f}</td></tr>"
        for s in range(1, done + 1)
    )
    title = html.escape(name)
    detail = f" ({resource['tuningJobState']})" if "tuningJobState" in resource else ""
    return HTMLResponse(
        f"<!doctype html><html><head><title>{title}</title></head><body>"
        f"<h1>{title}</h1><p>Backend: {job.backend}{' (deleted)' if job.deleted else ''}</p>"
        f"<p>State: <b>{html.escape(str(resource.get('state')) + detail)}</b> &mdash; step {done} of {total}</p>"
        f"<table border=1><tr><th>step</th><th>epoch</th><th>mean loss</th></tr>{rows}</table>"
        "</body></html>"
    )
