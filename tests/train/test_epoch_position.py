import torch

from dshgan.train.best_epoch import TrainingProgress
from dshgan.train.epoch_position import EpochPosition, checkpoint_due, start_or_continue


def test_checkpoints_fall_every_n_steps_inside_an_epoch_only():
    due = [d for d in range(1, 8) if checkpoint_due(d, 7, every=3)]
    assert due == [3, 6]
    assert [d for d in range(1, 7) if checkpoint_due(d, 6, every=3)] == [3]  # 6: the epoch's end
    assert not any(checkpoint_due(d, 7, every=0) for d in range(1, 8))


def test_an_epoch_continues_where_it_stopped_or_draws_its_order():
    saved = EpochPosition(torch.tensor([2, 0, 1]), done=1)
    drawn = []
    assert start_or_continue(saved, lambda: drawn.append(1)) is saved and drawn == []
    fresh = start_or_continue(None, lambda: torch.tensor([1, 0]))
    assert fresh.done == 0 and fresh.order.tolist() == [1, 0]


def test_progress_state_round_trips_with_and_without_a_position():
    run = TrainingProgress({"loss": [1.0]}, epoch=2, best_score=0.5,
                           position=EpochPosition(torch.tensor([1, 0]), 1))
    back = TrainingProgress.from_state(run.state())
    assert (back.epoch, back.best_score, back.position.done) == (2, 0.5, 1)
    assert back.position.order.tolist() == [1, 0] and back.steps_done(4) == 9
    back.end_epoch()
    assert back.epoch == 3 and back.position is None and back.steps_done(4) == 12
    older = {k: v for k, v in run.state().items() if k != "position"}  # before positions
    assert TrainingProgress.from_state(older).position is None
