"""Vertex AI (``aiplatform.googleapis.com``): one router per resource.

The same handlers serve ``/v1beta1`` and ``/v1`` (the app mounts :func:`build_router` under both).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from gemini_tuning.emulator.deps import api_gate, require_bearer
from gemini_tuning.emulator.vertex_ai import endpoints, experiments, models, operations, tensorboards, tuning_jobs
from gemini_tuning.emulator.vertex_ai.registry import live_counts
from gemini_tuning.emulator.vertex_ai.tuning_jobs import render_job

__all__ = ["build_router", "live_counts", "render_job"]


def build_router() -> APIRouter:
    """All Vertex AI routes relative to ``/{version}``, behind the fault gate and the bearer check."""
    router = APIRouter(dependencies=[Depends(api_gate), Depends(require_bearer)])
    routers = (tuning_jobs, models, endpoints, operations, experiments, tensorboards)
    for sub in routers:
        router.include_router(sub.router)
    return router
