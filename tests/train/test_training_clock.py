import pytest

from dshgan.train import training_clock
from dshgan.train.training_clock import TrainingClock, round_seconds, total_seconds


@pytest.fixture
def fake_now(monkeypatch):
    """A clock the test moves by hand."""
    now = [100.0]
    monkeypatch.setattr(training_clock, "_now", lambda: now[0])
    return now


def test_a_fresh_clock_counts_this_sitting(fake_now):
    clock = TrainingClock()
    fake_now[0] += 7.5
    assert clock.seconds() == 7.5


def test_a_resumed_clock_counts_on_from_the_checkpoint(fake_now):
    clock = TrainingClock.resumed({"train_seconds": 40.0})
    fake_now[0] += 2.0
    assert clock.seconds() == 42.0


def test_a_run_reports_the_seconds_of_its_last_checkpoint(fake_now):
    clock = TrainingClock.resumed({"train_seconds": 40.0})
    assert clock.at_checkpoint == 40.0  # reloaded and not trained further
    fake_now[0] += 5.0
    assert clock.for_checkpoint() == 45.0
    fake_now[0] += 1.0  # after the last checkpoint: logging, handing the net on
    assert clock.at_checkpoint == 45.0 and clock.seconds() == 46.0


def test_a_checkpoint_from_before_the_clock_gives_unknown_not_zero(fake_now):
    clock = TrainingClock.resumed({"epoch": 3})
    fake_now[0] += 2.0
    assert clock.seconds() is None


def test_totals_and_rounding_keep_unknown_unknown():
    assert total_seconds(1.5, 2.0, 3.0) == 6.5
    assert total_seconds(1.5, None) is None
    assert round_seconds(12.345) == 12.3 and round_seconds(None) is None
