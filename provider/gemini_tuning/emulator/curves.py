"""Deterministic training curves: the simulated loss a job reports, derived from its name."""

from __future__ import annotations

import hashlib
import math


def unit(seed: str) -> float:
    """A deterministic float in [0, 1) derived from a string."""
    digest = hashlib.sha256(seed.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _approach(
    job_name: str, key: str, total_steps: int, steps_per_epoch: int, start: float, end: float, noise: float
) -> list[float]:
    """Per step: from ``start`` toward ``end`` exponentially in epochs done, plus deterministic noise."""
    values = []
    for step in range(1, total_steps + 1):
        epochs_done = step / max(steps_per_epoch, 1)
        jitter = (unit(f"{job_name}:{key}:{step}") - 0.5) * noise
        values.append(end + (start - end) * math.exp(-1.6 * epochs_done) + jitter)
    return values


def loss_curve(job_name: str, total_steps: int, steps_per_epoch: int) -> list[float]:
    """Deterministic mean loss per step: exponential decay per epoch toward a floor, plus noise.

    The per-epoch mean falls for about three epochs and then plateaus.
    """
    initial = 2.2 + 0.6 * unit(job_name + ":initial")
    floor = 0.04 + 0.08 * unit(job_name + ":floor")
    values = _approach(job_name, "noise", total_steps, steps_per_epoch, initial, floor, 0.02)
    return [round(max(v, 0.0), 6) for v in values]


def best_epoch(steps_per_epoch: int) -> int:
    """The epoch after which more training over-fits: larger datasets support fewer epochs.

    ``clamp(ceil(60 / steps_per_epoch), 3, 6)``: 3 from 20 steps per epoch on, 6 for tiny datasets.
    """
    return min(6, max(3, math.ceil(60 / max(steps_per_epoch, 1))))


def accuracy_curve(job_name: str, total_steps: int, steps_per_epoch: int) -> list[float]:
    """Training token accuracy per step: rises from about 0.35 toward about 0.93 as the loss falls."""
    start = 0.30 + 0.10 * unit(job_name + ":acc0")
    top = 0.90 + 0.07 * unit(job_name + ":acc1")
    values = _approach(job_name, "acc-noise", total_steps, steps_per_epoch, start, top, 0.01)
    return [round(min(1.0, max(0.0, v)), 6) for v in values]


def eval_curves(job_name: str, epochs: int, steps_per_epoch: int) -> tuple[list[float], list[float]]:
    """Validation (loss, token accuracy) at the end of each epoch.

    The loss falls like the training loss toward a higher floor, then turns up once the job
    trains past :func:`best_epoch`; the accuracy mirrors it.
    """
    initial = 2.3 + 0.6 * unit(job_name + ":eval-initial")
    floor = 0.04 + 0.08 * unit(job_name + ":floor") + 0.08 + 0.1 * unit(job_name + ":eval-gap")
    slope = 0.12 + 0.06 * unit(job_name + ":overfit")
    top = 0.85 + 0.07 * unit(job_name + ":eval-acc")
    best = best_epoch(steps_per_epoch)
    losses, accuracies = [], []
    for epoch in range(1, epochs + 1):
        over = max(0, epoch - best)
        noise = (unit(f"{job_name}:eval-noise:{epoch}") - 0.5) * 0.01
        losses.append(round(floor + (initial - floor) * math.exp(-1.6 * epoch) + slope * over**1.3 + noise, 6))
        accuracy = top - (top - 0.3) * math.exp(-1.6 * epoch) - 0.03 * over + noise / 2
        accuracies.append(round(min(1.0, max(0.0, accuracy)), 6))
    return losses, accuracies
