"""Old home of runtime.py, checkpoints.py and image_tensors.py; nothing new goes here.

Why it stays: ``dshgan.cli`` (owned elsewhere) still imports ``resolve_device`` from it. Import
from the modules named below instead.
"""

from dshgan.train.checkpoints import (  # noqa: F401
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from dshgan.train.image_tensors import augment, to_tensor_images, to_uint8_images  # noqa: F401
from dshgan.train.runtime import logger, resolve_device, seed_everything, setup_logging  # noqa: F401
