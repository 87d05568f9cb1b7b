from gemini_tuning.loss import per_epoch_loss, recommended_epoch_count
from gemini_tuning.models import Snapshot


def curve(*losses):
    return [{"epoch": i + 1, "mean_loss": v} for i, v in enumerate(losses)]


def test_per_epoch_loss_averages_snapshots():
    snaps = [
        Snapshot(step=1, epoch=1, mean_loss=4.0),
        Snapshot(step=2, epoch=1, mean_loss=2.0),
        Snapshot(step=3, epoch=2, mean_loss=1.0),
    ]
    assert per_epoch_loss(snaps) == [{"epoch": 1, "mean_loss": 3.0}, {"epoch": 2, "mean_loss": 1.0}]


def test_recommended_epoch_is_where_the_curve_plateaus():
    # falls sharply to epoch 3, then within 5% for good: the reference page's "stop before the plateau"
    assert recommended_epoch_count(curve(2.0, 0.9, 0.30, 0.295, 0.29, 0.291)) == 3


def test_recommended_epoch_ignores_a_flat_step_followed_by_a_drop():
    assert recommended_epoch_count(curve(2.0, 1.99, 1.0, 0.99)) == 3


def test_still_converging_recommends_the_last_epoch():
    assert recommended_epoch_count(curve(4.0, 2.0, 1.0, 0.5)) == 4


def test_demo_shaped_curve_plateaus_at_three():
    assert recommended_epoch_count(curve(1.10, 0.26, 0.09, 0.05, 0.045)) == 3


def test_rising_loss_after_the_minimum_counts_as_plateau():
    assert recommended_epoch_count(curve(3.0, 1.0, 0.5, 0.6, 0.7)) == 3


def test_plot_is_a_png():
    from gemini_tuning.loss import epoch_means, plot_loss_curve, step_points
    from gemini_tuning.models import MetricPoint

    steps = step_points([MetricPoint(step=i, value=2.0 / i) for i in range(1, 31)], steps_per_epoch=10)
    evals = step_points([MetricPoint(step=i, value=1.0 + i / 100) for i in (10, 20, 30)], steps_per_epoch=10)
    png = plot_loss_curve(steps, epoch_means(steps), "t", recommended=2, eval_curve=epoch_means(evals))
    assert png.startswith(b"\x89PNG")


def test_steps_fall_in_their_epoch_and_average_per_epoch():
    from gemini_tuning.loss import epoch_means, step_points
    from gemini_tuning.models import MetricPoint

    steps = step_points([MetricPoint(step=s, value=v) for s, v in [(1, 4.0), (2, 2.0), (3, 1.0)]], 2)
    assert [s["epoch"] for s in steps] == [1, 1, 2]
    assert epoch_means(steps) == [{"epoch": 1, "mean_loss": 3.0}, {"epoch": 2, "mean_loss": 1.0}]


def test_validation_loss_that_turns_up_recommends_no_later_than_its_minimum():
    assert recommended_epoch_count(curve(1.0, 0.6, 0.5, 0.55, 0.7, 0.9)) == 3


def test_no_curve_no_recommendation():
    assert recommended_epoch_count([]) is None
