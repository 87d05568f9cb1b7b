"""Loss curve helpers: per-step points, per-epoch means, the epoch where it plateaus, and a PNG plot."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from gemini_tuning.models import MetricPoint, Snapshot

#: An epoch is on the plateau when no later epoch improves on it by more than this share of the
#: curve's total drop (first epoch's loss minus the lowest loss).
PLATEAU_THRESHOLD = 0.05


def per_epoch_loss(snapshots: Iterable[Snapshot]) -> list[dict]:
    """Mean of the snapshots' mean losses for each epoch, in epoch order."""
    by_epoch: dict[int, list[float]] = defaultdict(list)
    for snap in snapshots:
        if snap.epoch is not None and snap.mean_loss is not None:
            by_epoch[snap.epoch].append(snap.mean_loss)
    return [{"epoch": e, "mean_loss": sum(v) / len(v)} for e, v in sorted(by_epoch.items())]


def recommended_epoch_count(curve: list[dict], threshold: float = PLATEAU_THRESHOLD) -> int | None:
    """The first epoch after which the mean loss improves by no more than ``threshold`` of its total drop.

    This is the reference page's advice: stop at the lowest point right before the curve plateaus.
    Applied to a validation-loss curve that turns up (over-training), this never picks an epoch
    after the curve's minimum. ``None`` when there is no curve (e.g. the metrics are not available).
    """
    if not curve:
        return None
    losses = [point["mean_loss"] for point in curve]
    tolerance = threshold * (losses[0] - min(losses))
    for i, point in enumerate(curve):
        later = losses[i + 1 :]
        if not later or point["mean_loss"] - min(later) <= tolerance:
            return point["epoch"]
    return None


def step_points(points: Iterable[MetricPoint], steps_per_epoch: int | None) -> list[dict]:
    """``[{step, epoch, value}]``: each step placed in its epoch (``ceil(step / steps_per_epoch)``)."""
    return [
        {"step": p.step, "epoch": -(-p.step // steps_per_epoch) if steps_per_epoch else None, "value": p.value}
        for p in points
    ]


def epoch_means(steps: list[dict]) -> list[dict]:
    """``[{epoch, mean_loss}]``: the mean of each epoch's step values (what :func:`per_epoch_loss` does)."""
    return per_epoch_loss(Snapshot(step=s["step"], epoch=s["epoch"], mean_loss=s["value"]) for s in steps)


def plot_loss_curve(
    steps: list[dict],
    curve: list[dict],
    title: str,
    recommended: int | None = None,
    eval_curve: list[dict] | None = None,
) -> bytes:
    """Render the training loss per step and per epoch, the validation loss per epoch, and the recommended epoch.

    ``steps`` are :func:`step_points`; ``curve`` and ``eval_curve`` are :func:`epoch_means`-shaped.
    Each epoch's point sits at the step that ends it.
    """
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    if steps:
        ax.plot(
            [s["step"] for s in steps],
            [s["value"] for s in steps],
            color="#9bb7e0",
            linewidth=1,
            label="train loss per step",
        )
    epoch_end: dict[int, int] = {}
    for s in steps:
        if s["epoch"] is not None:
            epoch_end[s["epoch"]] = max(s["step"], epoch_end.get(s["epoch"], s["step"]))
    for points, style, color, label in (
        (curve, "o-", "#1a56b0", "train loss per epoch"),
        (eval_curve or [], "s-", "#e37400", "validation loss per epoch"),
    ):
        xy = [(epoch_end[p["epoch"]], p["mean_loss"], p["epoch"]) for p in points if p["epoch"] in epoch_end]
        if xy:
            ax.plot([p[0] for p in xy], [p[1] for p in xy], style, color=color, label=label)
    for x, y, epoch in ((epoch_end[p["epoch"]], p["mean_loss"], p["epoch"]) for p in curve if p["epoch"] in epoch_end):
        ax.annotate(f"epoch {epoch}", (x, y), textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8)
    if recommended in epoch_end:
        ax.axvline(
            epoch_end[recommended],
            color="#d93025",
            linestyle="--",
            linewidth=1,
            label=f"recommended: {recommended} epochs",
        )
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
