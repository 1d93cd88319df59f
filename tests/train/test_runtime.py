import subprocess
import sys

import numba
import numpy as np
import pytest
import torch

from dshgan.metrics import mean_average_precision
from dshgan.train.runtime import limit_threads, resolve_device, seed_everything


def test_device_names():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="auto, cpu or cuda"):
        resolve_device("tpu")


def test_seeding_repeats_draws():
    seed_everything(3)
    a = torch.rand(2)
    seed_everything(3)
    assert torch.equal(a, torch.rand(2))


@pytest.fixture
def thread_counts():
    saved = torch.get_num_threads(), numba.get_num_threads()
    yield
    torch.set_num_threads(saved[0])
    numba.set_num_threads(saved[1])


def _numba_kernel() -> None:
    rng = np.random.default_rng(0)
    codes, labels = rng.integers(0, 2, (300, 16)), rng.integers(0, 4, 300)
    mean_average_precision(codes[:50], labels[:50], codes[50:], labels[50:])


def test_numba_kernels_leave_torch_at_the_thread_count_asked_for(thread_counts):
    """Where numba and torch share one OpenMP runtime (numba's omp layer, as here), a numba
    kernel sets torch's thread count to numba's; limit_threads makes the two counts one."""
    most = numba.config.NUMBA_NUM_THREADS
    if most < 2:
        pytest.skip("one core: no count to raise")
    numba.set_num_threads(most)
    torch.set_num_threads(1)
    _numba_kernel()
    raised = torch.get_num_threads()  # `most` where the runtime is shared, else 1
    limit_threads(1)
    _numba_kernel()
    assert torch.get_num_threads() == numba.get_num_threads() == 1, raised
    torch.set_num_threads(2)
    limit_threads()  # None: numba follows torch's count as it stands
    assert numba.get_num_threads() == 2


def test_a_fresh_process_held_to_one_thread_stays_there():
    """The order that matters: numba's threads start at its first call (here inside
    limit_threads) and set the shared count to all of them; torch must be set after."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one core: no count to raise")
    script = ("import numpy as np, torch\n"
              "from dshgan.metrics import mean_average_precision\n"
              "from dshgan.train.runtime import limit_threads\n"
              "limit_threads(1)\n"
              "first = torch.get_num_threads()\n"
              "c = np.random.default_rng(0).integers(0, 2, (300, 16))\n"
              "l = np.arange(300) % 4\n"
              "mean_average_precision(c[:50], l[:50], c[50:], l[50:])\n"
              "print(first, torch.get_num_threads())\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["1", "1"], done.stdout
