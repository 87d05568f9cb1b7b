"""Server-side SVG charts: geometry computed here, drawn by the ``chart`` macro (autoescaped).

No JavaScript chart library: a loss curve or a run-over-run line is a few hundred bytes of SVG,
works without scripts, and every label goes through the same escaping as the rest of the page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from gemini_tuning.ui.models import LossPoint

WIDTH, HEIGHT = 600, 230
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 40


@dataclass
class Point:
    x: float
    y: float
    label: str


@dataclass
class Series:
    name: str
    css: str
    values: list[tuple[float, float, str]]  # (x, y, tooltip)
    markers: bool = True
    points: list[Point] = field(default_factory=list)
    path: str = ""


@dataclass
class Chart:
    css: str
    title: str
    series: list[Series]
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    vlines: list[tuple[float, str, str]] = field(default_factory=list)  # (x, label, css)
    x_title: str = ""
    y_title: str = ""
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    top: int = TOP
    bottom_edge: int = HEIGHT - BOTTOM

    @property
    def marker_count(self) -> int:
        return sum(len(s.points) for s in self.series if s.markers)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [round(math.floor(low / step) * step, 10)]
    while ticks[-1] < high - step * 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def line_chart(
    css: str,
    title: str,
    series: Sequence[Series],
    *,
    x_labels: dict[float, str] | None = None,
    vlines: Sequence[tuple[float, str, str]] = (),
    x_title: str = "",
    y_title: str = "",
    y_floor: float | None = None,
    y_ceiling: float | None = None,
) -> Chart:
    """Place every series on shared axes; ``x_labels`` replaces numeric x ticks (e.g. run dates)."""
    chart = Chart(css=css, title=title, series=list(series), x_title=x_title, y_title=y_title)
    xs = [x for s in series for x, _, _ in s.values] + [x for x, _, _ in vlines] + list(x_labels or ())
    ys = [y for s in series for _, y, _ in s.values]
    if not xs or not ys:
        return chart
    x_low, x_high = min(xs), max(xs)
    if x_labels:  # one slot per label: keep the first and last labels off the edges
        x_low, x_high = x_low - 0.5, x_high + 0.5
    elif x_high == x_low:
        x_low, x_high = x_low - 1, x_high + 1
    y_ticks = nice_ticks(min(ys) if y_floor is None else y_floor, max(ys) if y_ceiling is None else y_ceiling)
    y_low, y_high = y_ticks[0], y_ticks[-1]

    def px(x: float) -> float:
        return round(chart.left + (x - x_low) / (x_high - x_low) * (chart.right_edge - chart.left), 1)

    def py(y: float) -> float:
        return round(chart.bottom_edge - (y - y_low) / (y_high - y_low or 1) * (chart.bottom_edge - chart.top), 1)

    for s in chart.series:
        s.points = [Point(px(x), py(y), tip) for x, y, tip in s.values]
        s.path = " ".join(f"{p.x},{p.y}" for p in s.points)
    chart.y_ticks = [(py(y), f"{y:g}") for y in y_ticks]
    if x_labels:
        chart.x_ticks = [(px(x), label) for x, label in x_labels.items()]
    else:
        chart.x_ticks = [(px(x), f"{x:g}") for x in nice_ticks(x_low, x_high) if x_low <= x <= x_high]
    chart.vlines = [(px(x), label, line_css) for x, label, line_css in vlines]
    return chart


def loss_chart(
    curve: Sequence[LossPoint], steps: Sequence[LossPoint], recommended: int | None, title: str = "Training loss"
) -> Chart:
    """Loss per step (when the service reports steps), each epoch's mean, epoch boundaries, the recommended epoch.

    Without steps the x axis is the epoch. The chart has one marker per epoch of ``curve``.
    """
    steps = [p for p in steps if p.step is not None]
    if steps:
        epoch_end: dict[int, float] = {}
        for p in steps:
            if p.epoch is not None:
                epoch_end[p.epoch] = max(p.step, epoch_end.get(p.epoch, p.step))
        at = {epoch: float(step) for epoch, step in epoch_end.items()}
        step_series = Series(
            "loss per step", "steps", [(float(p.step), p.mean_loss, f"step {p.step}") for p in steps], markers=False
        )
        x_title = "step"
    else:
        at = {p.epoch: float(p.epoch) for p in curve if p.epoch is not None}
        step_series, x_title = None, "epoch"
    epochs = Series(
        "mean loss per epoch",
        "epochs loss-point",
        [(at[p.epoch], p.mean_loss, f"epoch {p.epoch}: {p.mean_loss:.4f}") for p in curve if p.epoch in at],
    )
    vlines = [(x, f"epoch {epoch}", "epoch-end") for epoch, x in sorted(at.items())] if steps else []
    if recommended in at:
        vlines.append((at[recommended], f"recommended: {recommended} epochs", "recommended"))
    series = [s for s in (step_series, epochs) if s is not None]
    x_labels = None if steps else {x: str(epoch) for epoch, x in at.items()}
    return line_chart(
        "loss-chart", title, series, x_labels=x_labels, vlines=vlines, x_title=x_title, y_title="mean loss", y_floor=0
    )
