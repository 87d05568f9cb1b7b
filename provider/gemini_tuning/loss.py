"""Loss curve helpers: per-epoch means, the epoch where it plateaus, and a PNG plot."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from gemini_tuning.models import Snapshot

#: An epoch "still improves" when some later epoch is at least this much (relative) lower.
PLATEAU_THRESHOLD = 0.05


def per_epoch_loss(snapshots: Iterable[Snapshot]) -> list[dict]:
    """Mean of the snapshots' mean losses for each epoch, in epoch order."""
    by_epoch: dict[int, list[float]] = defaultdict(list)
    for snap in snapshots:
        if snap.epoch is not None and snap.mean_loss is not None:
            by_epoch[snap.epoch].append(snap.mean_loss)
    return [{"epoch": e, "mean_loss": sum(v) / len(v)} for e, v in sorted(by_epoch.items())]


def recommended_epoch_count(curve: list[dict], threshold: float = PLATEAU_THRESHOLD) -> int | None:
    """The first epoch after which no later epoch lowers the loss by more than ``threshold`` (relative).

    This is the reference page's advice: stop at the lowest point right before the curve plateaus.
    ``None`` when there is no curve (Vertex AI does not report one on the job resource).
    """
    for i, point in enumerate(curve):
        later = [p["mean_loss"] for p in curve[i + 1 :]]
        if not later or min(later) >= point["mean_loss"] * (1 - threshold):
            return point["epoch"]
    return None


def plot_loss_curve(snapshots: list[Snapshot], curve: list[dict], title: str) -> bytes:
    """Render the step-level and per-epoch loss as a PNG (matplotlib is imported only here)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), dpi=100)
    ax = fig.add_subplot()
    steps = [(s.step, s.mean_loss) for s in snapshots if s.step is not None and s.mean_loss is not None]
    if steps:
        ax.plot(*zip(*steps), color="#9bb7e0", linewidth=1, label="mean loss per step")
    ax.set_xlabel("step")
    ax.set_ylabel("mean loss")
    ax.set_title(title)
    if curve and steps:
        ax2 = ax.twiny()
        ax2.plot([p["epoch"] for p in curve], [p["mean_loss"] for p in curve], "o-", color="#1a56b0", label="per epoch")
        ax2.set_xlabel("epoch")
    fig.legend(loc="upper right")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
