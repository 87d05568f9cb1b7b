"""Gemini Developer API (``generativelanguage.googleapis.com``): one router per resource.

Only ``/v1beta`` has tunedModels CRUD; ``/v1`` serves models and generateContent only.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from gemini_tuning.emulator.deps import api_gate, require_api_key
from gemini_tuning.emulator.gemini_api import generate, operations, tuned_models
from gemini_tuning.emulator.gemini_api.resources import render_model

__all__ = ["build_router", "render_model"]


def build_router() -> APIRouter:
    """All Gemini API routes, behind the fault gate and the API-key check."""
    router = APIRouter(dependencies=[Depends(api_gate), Depends(require_api_key)])
    for sub in (tuned_models.router, operations.router, generate.router):
        router.include_router(sub)
    return router
