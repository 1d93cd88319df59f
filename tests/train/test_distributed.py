"""Training on several processes: two torchrun ranks (gloo, CPU) against one process.

One torchrun launch runs this very file as its worker (``__main__`` at the end), so the two
processes start once for every scenario: one step of stage 2 and of stage 1 on each rank's share
of a batch (the tests redo that step in one process on both shares, the doubled batch, and
compare the averaged gradients and the weights), a dry run whose file writes are recorded per
rank, and a two-epoch run, whole and stopped after its first stage-2 checkpoint then resumed.

Why the reference runs the forward pass share by share: batch-norm statistics, dropout masks
and the spectral norm's power iteration are per rank in any data-parallel run, so "the doubled
batch" is both shares' losses averaged into one loss, each share's forward pass as its rank ran
it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from dshgan.config import GANConfig, HashingConfig, load_config
from dshgan.dry_run import dry_run_setup
from dshgan.experiment import replace_config, run_experiment
from dshgan.nets.generator import ConditionalGenerator
from dshgan.train import distributed
from dshgan.train.distributed import batch_share, rank_seed
from dshgan.train.gan_state import GANState
from dshgan.train.gan_step import (
    GANData,
    discriminator_objective,
    draw_batch,
    gan_step,
    generator_objective,
)
from dshgan.train.hashing_data import HashingData
from dshgan.train.hashing_losses import LossTerms, hashing_losses
from dshgan.train.hashing_setup import build_hashing_net
from dshgan.train.hashing_step import HashingUpdate
from dshgan.train.stage2_hashing import HISTORY_KEYS, train_step
from dshgan.train.triplet_sources import triplet_source

CPU = torch.device("cpu")
BATCH = 8  # the global batch; each of the two ranks takes 4
HASHING = HashingConfig(backbone="small-cnn", backbone_kwargs={"width": 4}, bits=(8, 16),
                        batch_size=BATCH, epochs=1)
GAN = GANConfig(steps=1, batch_size=BATCH, width=8, noise_dim=16)


def _images(n: int = 24, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return images, np.eye(4, dtype=np.float32)[np.arange(n) % 4]


def _stage2_parts() -> tuple:
    torch.manual_seed(0)
    generator = ConditionalGenerator(4, noise_dim=16, image_size=16, width=8)
    net = build_hashing_net(HASHING, list(HASHING.bits), 4)
    return net, generator, HashingUpdate(HASHING, net, generator, CPU, total_steps=4)


def _stage2_draws(net, generator, r: int) -> tuple:
    """Rank ``r``'s triplet source and losses, drawing from its own stream."""
    images, labels = _images()
    data = HashingData(images, labels, images[:4], labels[:4])
    seed = rank_seed(5, r)
    rng = torch.Generator().manual_seed(seed + 1)
    return (triplet_source(HASHING, data, net, generator, rng, CPU, seed),
            hashing_losses(HASHING, False, None, rng, CPU))


def _gan_state(r: int) -> GANState:
    torch.manual_seed(0)
    return GANState(GAN, 4, 16, CPU, seed=rank_seed(3, r))


def _gan_data() -> GANData:
    images, labels = _images()
    return GANData(images, labels, images[12:], False)


def _grads_at_step(optimiser, params) -> list:
    """Records the gradients each ``optimiser.step()`` is called with."""
    seen, step = [], optimiser.step

    def recording(*args, **kwargs):
        seen.append([p.grad.clone() for p in params])
        return step(*args, **kwargs)

    optimiser.step = recording
    return seen


def _from_one_start(module, computations) -> list:
    """Each computation from the module's buffers as they are now, as each rank starts from
    them: D's spectral norm advances its power iteration at every forward pass."""
    start = [b.clone() for b in module.buffers()]
    out = []
    for compute in computations:
        with torch.no_grad():
            for b, s in zip(module.buffers(), start):
                b.copy_(s)
        out.append(compute())
    return out


def _weights(module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


# ---- the worker: run by torchrun, two ranks --------------------------------------------------

def _step_scenario(out: Path) -> None:
    rank = distributed.rank()
    net, generator, update = _stage2_parts()
    source, losses = _stage2_draws(net, generator, rank)
    torch.manual_seed(100 + rank)  # dropout masks, as the reference draws them
    train_step(net, torch.arange(BATCH)[batch_share(BATCH)], source, losses, update,
               {k: [] for k in HISTORY_KEYS})
    state = _gan_state(rank)
    d_grads = _grads_at_step(state.opt_d, list(state.discriminator.parameters()))
    g_grads = _grads_at_step(state.opt_g, list(state.generator.parameters()))
    gan_step(state, _gan_data(), CPU)
    torch.save({"net": _weights(net), "net_grads": [p.grad for p in update.net_params],
                "generator": _weights(generator),
                "generator_grads": [p.grad for p in generator.parameters()],
                "d": _weights(state.discriminator), "d_grads": d_grads[0],
                "g": _weights(state.generator), "g_grads": g_grads[0]},
               out / f"step-rank{rank}.pt")


class _Stopped(Exception):
    pass


def _dry_run(epochs: int = 2):
    config, dataset, protocol = dry_run_setup(load_config("demo", {"device": "cpu"}))
    return replace_config(config, hashing={"epochs": epochs}), dataset, protocol


def _runs_scenario(out: Path) -> None:
    import dshgan.train.stage2_hashing as stage2

    writes: list[str] = []

    def record(path) -> None:
        # Only this scenario's folder: libraries may write their own caches (numba writes its
        # compiled kernels with os.replace the first time a kernel runs in a fresh checkout).
        if Path(path).resolve().is_relative_to(out.resolve()):
            writes.append(str(path))

    replace, write_text = os.replace, Path.write_text
    os.replace = lambda src, dst, *a, **k: (record(dst), replace(src, dst, *a, **k))[1]
    Path.write_text = lambda self, *a, **k: (record(self), write_text(self, *a, **k))[1]
    config, dataset, protocol = _dry_run(epochs=1)
    metrics = run_experiment(config, out / "writes", progress=False, dataset=dataset,
                             protocol=protocol)
    os.replace, Path.write_text = replace, write_text
    # The first run in a process rounds differently (fresh allocations): the one above warmed
    # up, so the two below round alike.
    config, dataset, protocol = _dry_run(epochs=2)
    run_experiment(config, out / "whole", progress=False, dataset=dataset, protocol=protocol)
    save = stage2.save_hashing_checkpoint

    def save_then_stop(*args, **kwargs):
        save(*args, **kwargs)
        raise _Stopped

    stage2.save_hashing_checkpoint = save_then_stop
    try:
        run_experiment(config, out / "stopped", progress=False, dataset=dataset,
                       protocol=protocol)
    except _Stopped:
        pass
    stage2.save_hashing_checkpoint = save
    distributed.barrier()  # every rank has stopped (rank 0's checkpoint is on disk)
    run_experiment(config, out / "stopped", resume=True, progress=False, dataset=dataset,
                   protocol=protocol)
    (out / f"runs-rank{distributed.rank()}.json").write_text(json.dumps(
        {"writes": writes, "runtime": metrics["runtime"], "results": metrics["results"]}))


def _worker(out: Path) -> None:
    with distributed.training_group("cpu"):
        assert distributed.world_size() == 2
        _step_scenario(out)
        _runs_scenario(out)


# ---- the tests -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory, torchrun_two_ranks) -> Path:
    outs = [tmp_path_factory.mktemp("two-ranks") for _ in range(2)]  # a fresh one per attempt
    done = torchrun_two_ranks(lambda attempt: [__file__, str(outs[attempt])], 600)
    assert done.returncode == 0, done.stderr[:3000] + "\n...\n" + done.stderr[-2000:]
    return next(out for out in reversed(outs) if any(out.iterdir()))


@pytest.fixture
def one_thread():
    """The ranks run with one thread each (OMP_NUM_THREADS=1): the reference here must too, or
    its sums round in another order and Adam's first step, which moves each weight by about
    +-lr whatever the gradient's size, turns a rounding difference of a near-zero gradient into
    a whole step."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _close(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.allclose(x, y, rtol=1e-4, atol=1e-6)
                                    for x, y in zip(a, b))


def test_stage2_gradients_are_the_doubled_batch_s_for_the_net_and_the_generator(two_ranks,
                                                                               one_thread):
    ranks = [torch.load(two_ranks / f"step-rank{r}.pt") for r in range(2)]
    net, generator, update = _stage2_parts()
    shares = []
    for r in range(2):
        source, losses = _stage2_draws(net, generator, r)
        torch.manual_seed(100 + r)
        shares.append(losses(net, source(net, torch.arange(BATCH)[4 * r:4 * r + 4])))
    both = LossTerms(*[(a + b) / 2 if a is not None else None for a, b in zip(*shares)])
    alone = torch.autograd.grad(shares[0].net, update.net_params, retain_graph=True,
                                allow_unused=True)
    assert update.apply(net, both)
    for key, want in (("net_grads", [p.grad for p in update.net_params]),
                      ("generator_grads", [p.grad for p in generator.parameters()]),
                      ("net", _weights(net)), ("generator", _weights(generator))):
        assert all(torch.equal(x, y) for x, y in zip(ranks[0][key], ranks[1][key])), key
        assert _close(ranks[0][key], want), key
    assert not _close(ranks[0]["net_grads"], list(alone))  # rank 0's share alone: the test can fail


def test_stage1_gradients_are_the_doubled_batch_s_for_d_and_g(two_ranks, one_thread):
    ranks = [torch.load(two_ranks / f"step-rank{r}.pt") for r in range(2)]
    state, data = _gan_state(0), _gan_data()
    d_grads = _grads_at_step(state.opt_d, list(state.discriminator.parameters()))
    g_grads = _grads_at_step(state.opt_g, list(state.generator.parameters()))
    draws = []
    for r in range(2):
        state.batches = torch.Generator().manual_seed(rank_seed(3, r))
        batch = draw_batch(state, data, BATCH // 2, CPU)
        draws.append((batch, state.generator(batch.noise, batch.y_fake)))
    d_loss = sum(_from_one_start(state.discriminator, [
        lambda b=b, fake=fake: discriminator_objective(state, data, b, fake)[0]
        for b, fake in draws])) / 2
    state.opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    state.opt_d.step()
    g_loss = sum(_from_one_start(state.discriminator, [
        lambda b=b, fake=fake: generator_objective(state, data, b, fake)
        for b, fake in draws])) / 2
    state.opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    state.opt_g.step()
    for key, want in (("d_grads", d_grads[0]), ("g_grads", g_grads[0]),
                      ("d", _weights(state.discriminator)), ("g", _weights(state.generator))):
        assert all(torch.equal(x, y) for x, y in zip(ranks[0][key], ranks[1][key])), key
        assert _close(ranks[0][key], want), key


def test_rank_0_alone_writes_the_run_and_records_the_world_size(two_ranks):
    rank0, rank1 = (json.loads((two_ranks / f"runs-rank{r}.json").read_text()) for r in range(2))
    assert rank1["writes"] == []
    run = two_ranks / "writes"
    written = [Path(w).relative_to(run).as_posix() for w in rank0["writes"]]
    for name in ("config.yaml", "stage1.pt", "stage2.pt", "model.pt", "report.md",
                 "metrics.json"):
        assert written.count(name) == 1, name
    assert not [p for p in run.iterdir() if p.name.startswith(".")]  # no stray temporary
    assert rank0["runtime"] == rank1["runtime"] == {"world_size": 2, "device": "cpu"}
    assert rank1["results"] == rank0["results"]  # every rank returns rank 0's metrics
    assert json.loads((run / "metrics.json").read_text())["runtime"]["world_size"] == 2


def test_a_stopped_run_resumes_to_the_uninterrupted_weights(two_ranks):
    """The last epoch's raw weights (model.pt holds the best epoch's, which may be the one
    before the stop) and the generator that stage 2 trained."""
    whole, resumed = (torch.load(two_ranks / name / "stage2.pt", weights_only=False)
                      for name in ("whole", "stopped"))
    assert whole["epoch"] == resumed["epoch"] == 2 and len(resumed["rng_ranks"]) == 2
    for part in ("net", "generator"):
        assert whole[part].keys() == resumed[part].keys()
        for name, value in whole[part].items():
            assert torch.equal(value, resumed[part][name]), (part, name)
    assert whole["history"]["loss"] == resumed["history"]["loss"]


def test_a_plain_process_is_a_world_of_one():
    grads = [torch.ones(2), None]
    assert distributed.world_size() == 1 and distributed.is_main()
    assert rank_seed(5) == 5 and batch_share(8) == slice(0, 8)
    assert distributed.average_gradients([torch.zeros(2)] * 2, grads, 3) == (grads, 3)
    assert distributed.mean_over_ranks([1.5], 4) == [1.5]
    assert distributed.from_main(lambda: 7) == 7
    assert distributed.checkpoint_rng({"torch": 1}) == {"rng": {"torch": 1}}


def test_shares_cover_a_batch_once_in_rank_order(monkeypatch):
    monkeypatch.setattr(distributed, "world_size", lambda: 3)
    rows = []
    for r in range(3):
        monkeypatch.setattr(distributed, "rank", lambda r=r: r)
        rows.append(list(range(8))[batch_share(8)])
    assert [i for row in rows for i in row] == list(range(8))
    assert sorted(map(len, rows)) == [2, 3, 3]
    with pytest.raises(ValueError, match="cannot be shared by 3 processes"):
        batch_share(2)


def test_rank_seeds_are_distinct_and_repeatable():
    seeds = [rank_seed(5, r) for r in range(4)]
    assert seeds[0] == 5 and len(set(seeds)) == 4 and max(seeds) < 2**62
    assert seeds == [rank_seed(5, r) for r in range(4)] and rank_seed(6, 1) != seeds[1]


def test_a_checkpoint_of_two_ranks_is_not_resumed_by_one():
    with pytest.raises(ValueError, match="written by 2 process"):
        distributed.own_rng({"rng": {}, "rng_ranks": [{}, {}]}, "stage2.pt")


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
