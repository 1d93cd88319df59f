"""Data: sources (folder or archive, CIFAR-10 python archive, list files), seeded protocol
splits, the bundled CIFAR-10 sample and toy data for tests."""

from dshgan.data.dataset import Catalogue, ImageDataset, dataset_fingerprint
from dshgan.data.errors import DataError
from dshgan.data.protocols import (
    Protocol,
    Split,
    get_protocol,
    list_protocols,
    make_split,
    register_protocol,
)
from dshgan.data.sample import load_sample, sample_path
from dshgan.data.sources import (
    detect_source,
    download_cifar10,
    load_dataset,
    parse_list_file,
    read_cifar10_python,
    read_image_archive,
    read_image_folder,
    read_list_dataset,
    scan_dataset,
)
from dshgan.data.splitfiles import check_split, prepare, read_split, write_split
from dshgan.data.toy import make_mosaic_multilabel, make_toy_dataset

__all__ = [
    "Catalogue", "DataError", "ImageDataset", "Protocol", "Split", "check_split",
    "dataset_fingerprint", "detect_source", "download_cifar10", "get_protocol", "list_protocols",
    "load_dataset", "load_sample", "make_mosaic_multilabel", "make_split", "make_toy_dataset",
    "parse_list_file", "prepare", "read_cifar10_python", "read_image_archive",
    "read_image_folder", "read_list_dataset", "read_split", "register_protocol", "sample_path",
    "scan_dataset", "write_split",
]
