"""Loss curve helpers: per-epoch means, the epoch where it plateaus, and a PNG plot."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from gemini_tuning.models import Snapshot

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
    ``None`` when there is no curve (Vertex AI does not report one on the job resource).
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


def plot_loss_curve(snapshots: list[Snapshot], curve: list[dict], title: str, recommended: int | None = None) -> bytes:
    """Render the loss per step, each epoch's mean at the step it ends, and the recommended epoch."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    steps = [(s.step, s.mean_loss, s.epoch) for s in snapshots if s.step is not None and s.mean_loss is not None]
    if steps:
        ax.plot([s[0] for s in steps], [s[1] for s in steps], color="#9bb7e0", linewidth=1, label="mean loss per step")
    epoch_end = {}
    for step, _, epoch in steps:
        epoch_end[epoch] = max(step, epoch_end.get(epoch, step))
    points = [(epoch_end[p["epoch"]], p["mean_loss"], p["epoch"]) for p in curve if p["epoch"] in epoch_end]
    if points:
        ax.plot([p[0] for p in points], [p[1] for p in points], "o-", color="#1a56b0", label="mean loss per epoch")
        for x, y, epoch in points:
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
    ax.set_ylabel("mean loss")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
