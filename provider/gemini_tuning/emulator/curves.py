"""Deterministic training curves: the simulated loss a job reports, derived from its name."""

from __future__ import annotations

import hashlib
import math


def unit(seed: str) -> float:
    """A deterministic float in [0, 1) derived from a string."""
    digest = hashlib.sha256(seed.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def loss_curve(job_name: str, total_steps: int, steps_per_epoch: int) -> list[float]:
    """Deterministic mean loss per step: exponential decay per epoch toward a floor, plus noise.

    The per-epoch mean falls for about three epochs and then plateaus.
    """
    initial = 2.2 + 0.6 * unit(job_name + ":initial")
    floor = 0.04 + 0.08 * unit(job_name + ":floor")
    losses = []
    for step in range(1, total_steps + 1):
        epochs_done = step / max(steps_per_epoch, 1)
        noise = (unit(f"{job_name}:noise:{step}") - 0.5) * 0.02
        losses.append(round(max(floor + (initial - floor) * math.exp(-1.6 * epochs_done) + noise, 0.0), 6))
    return losses
