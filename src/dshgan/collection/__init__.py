"""Index and search a collection of your own images with a trained run.

``Encoder`` turns images into codes the way training decoded them; ``ImageIndex`` keeps the
codes with each image's path, labels and digest and searches by image; ``build_index`` and
``add_images`` encode whole folders in resumable chunks.
"""

from dshgan.collection.build import BuildReport, add_images, build_index
from dshgan.collection.encoder import Encoder
from dshgan.collection.files import list_images
from dshgan.collection.fingerprint import check_same_model, model_fingerprint
from dshgan.collection.image_index import ImageIndex, SearchResult

__all__ = [
    "BuildReport",
    "Encoder",
    "ImageIndex",
    "SearchResult",
    "add_images",
    "build_index",
    "check_same_model",
    "list_images",
    "model_fingerprint",
]
