"""Datasets: built-in generators and loaders for standard file formats, all offline.

    bundle = load_dataset({"name": "digits"}, seed=0)               # split + normalised
    bundle = fit_to_input(bundle, (1, 32, 32), "float32", "resize")  # match the Input node
    for xb, yb in batches(bundle.x_train, bundle.y_train, 64, True, generator):
        xb = augment_batch(xb, {"flip": True, "shift": 2}, generator)
"""
from runtime.data.augment import AUGMENT_OPTIONS, augment_batch
from runtime.data.augment import check_options as check_augment_options
from runtime.data.builtin import BUILTIN_DATASETS, RawData, make_builtin
from runtime.data.bundle import DataBundle, DataError
from runtime.data.files import FILE_FORMATS, detect_format
from runtime.data.prepare import (DATASET_KEYS, batches, dataset_spec, feature_stats,
                                  fit_to_input, load_dataset, normalize_bundle, resolve_path)

normalize = normalize_bundle   # the same function, by its short name

__all__ = [
    "AUGMENT_OPTIONS", "BUILTIN_DATASETS", "DATASET_KEYS", "FILE_FORMATS", "DataBundle",
    "DataError", "RawData", "augment_batch", "batches", "check_augment_options", "dataset_spec",
    "detect_format", "feature_stats", "fit_to_input", "load_dataset", "make_builtin",
    "normalize", "normalize_bundle", "resolve_path",
]
