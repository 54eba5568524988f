"""File loaders on small files generated here: CSV, image folders, IDX, CIFAR-10 .bin, .npz."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from runtime.data import DataError, detect_format, load_dataset
from runtime.data.files import CIFAR10_CLASSES, load_file

RAW = {"normalize": False, "val_split": 0.0}   # keep values and order as written


def load_raw(path: Path, **options):
    return load_dataset({"path": str(path), **RAW, **options})


# --- CSV ---------------------------------------------------------------------------------
def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_numeric_and_categorical_features_with_text_target(tmp_path):
    f = write(tmp_path / "flowers.csv",
              "length,width,colour,species\n"
              "1.5,0.25,red,setosa\n"
              "2,0.5,blue,virginica\n"
              "-3e-1,1,red,versicolor\n"
              "4,2.5,green,setosa\n")
    b = load_raw(f)
    assert b.task == "classification"
    assert b.class_names == ["setosa", "versicolor", "virginica"]
    assert b.y_train.tolist() == [0, 2, 1, 0]
    # length, width, then colour one-hot in sorted order: blue, green, red
    expected = [[1.5, 0.25, 0, 0, 1], [2, 0.5, 1, 0, 0], [-0.3, 1, 0, 0, 1], [4, 2.5, 0, 1, 0]]
    assert torch.allclose(b.x_train, torch.tensor(expected))
    assert b.x_train.dtype == torch.float32 and b.sample_shape == (5,)


def test_csv_regression_target_and_feature_selection(tmp_path):
    f = write(tmp_path / "houses.csv",
              "id;rooms;area;price\n1;3;70.5;210.25\n2;4;90;300.5\n3;2;40;99.75\n")
    b = load_raw(f, csv={"features": ["rooms", 2], "target": "price", "delimiter": ";"})
    assert b.task == "regression" and b.class_names == []
    assert b.y_train.shape == (3, 1) and b.y_train[:, 0].tolist() == [210.25, 300.5, 99.75]
    assert b.x_train.tolist() == [[3.0, 70.5], [4.0, 90.0], [2.0, 40.0]]


def test_csv_small_integer_target_is_classification_unless_told(tmp_path):
    f = write(tmp_path / "t.csv", "a,b,grade\n0.1,1,3\n0.2,2,1\n0.3,3,2\n0.4,4,3\n")
    b = load_raw(f)
    assert b.task == "classification" and b.class_names == ["1", "2", "3"]
    assert b.y_train.tolist() == [2, 0, 1, 2]
    b = load_raw(f, csv={"task": "regression"})
    assert b.task == "regression" and b.y_train[:, 0].tolist() == [3.0, 1.0, 2.0, 3.0]


def test_csv_normalised_per_feature_with_train_statistics(tmp_path):
    rows = "\n".join(f"{i},{10 * i + 5},{i % 2}" for i in range(40))
    f = write(tmp_path / "n.csv", "a,b,label\n" + rows + "\n")
    b = load_dataset({"path": str(f)}, seed=1)
    assert b.mean.shape == (2,) and b.std.shape == (2,)
    assert torch.allclose(b.x_train.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(b.x_train.std(0, unbiased=False), torch.ones(2), atol=1e-5)


def test_csv_text_in_a_numeric_column_names_file_row_column_and_value(tmp_path):
    f = write(tmp_path / "bad.csv", "a,b,label\n1,2,x\n3,4,y\n5,abc,x\n7,8,y\n")
    with pytest.raises(DataError) as info:
        load_raw(f)
    message = str(info.value)
    assert str(f) in message and "row 4" in message and "column 'b'" in message
    assert "'abc'" in message


def test_csv_empty_cell_and_non_finite_number(tmp_path):
    f = write(tmp_path / "gap.csv", "a,b,label\n1,2,x\n3,,y\n5,6,x\n")
    with pytest.raises(DataError, match=r"row 3, column 'b': the cell is empty"):
        load_raw(f)
    f = write(tmp_path / "inf.csv", "a,b,label\n1,2,x\n3,inf,y\n5,6,x\n")
    with pytest.raises(DataError, match=r"row 3, column 'b': 'inf' is not a finite number"):
        load_raw(f)


@pytest.mark.parametrize("text, expected", [
    ("", "is empty"),
    ("\n\n", "is empty"),
    ("a,b,label\n", "no data rows"),
    ("a,b,label\n1,2,x\n3,4\n", "row 3: 2 cells, but the header (row 1) has 3 columns"),
    ("a,b,label\n1,2,x\n3,4,y,9\n", "row 3: 4 cells"),
])
def test_csv_structural_errors(tmp_path, text, expected):
    f = write(tmp_path / "s.csv", text)
    with pytest.raises(DataError) as info:
        load_raw(f)
    assert expected in str(info.value) and str(f) in str(info.value)


def test_csv_missing_target_column_lists_the_columns(tmp_path):
    f = write(tmp_path / "m.csv", "a,b,label\n1,2,x\n")
    with pytest.raises(DataError) as info:
        load_raw(f, csv={"target": "class"})
    assert "no target column 'class'" in str(info.value) and "a, b, label" in str(info.value)
    with pytest.raises(DataError, match="no feature column 'c'"):
        load_raw(f, csv={"features": ["a", "c"]})


def test_csv_id_like_text_column_is_rejected_with_a_hint(tmp_path):
    rows = "\n".join(f"name{i},{i},{i % 2}" for i in range(80))
    f = write(tmp_path / "ids.csv", "name,value,label\n" + rows + "\n")
    with pytest.raises(DataError, match="column 'name' holds text with 80 different values"):
        load_raw(f)
    b = load_raw(f, csv={"features": ["value"]})
    assert b.sample_shape == (1,)


# --- image folders -----------------------------------------------------------------------
def grey(value_fn, size=(5, 6)) -> Image.Image:
    h, w = size
    arr = np.fromfunction(value_fn, (h, w)).astype(np.uint8)
    return Image.fromarray(arr, mode="L")


def make_grey_folder(root: Path) -> Path:
    for c, cls in enumerate(["cat", "dog"]):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            image = grey(lambda y, x: (y * 20 + x * 3 + c * 100 + i * 7) % 256)
            image.save(root / cls / f"{i}.png")
    (root / "cat" / "notes.txt").write_text("not an image")
    return root


def test_image_folder_grey_exact_pixels(tmp_path):
    root = make_grey_folder(tmp_path / "pets")
    assert detect_format(root) == "imagefolder"
    b = load_raw(root)
    assert b.class_names == ["cat", "dog"] and b.task == "classification"
    assert b.x_train.shape == (6, 1, 5, 6) and b.y_train.tolist() == [0, 0, 0, 1, 1, 1]
    # image 4 is dog/1.png: pixel (y=3, x=5) = 3*20 + 5*3 + 100 + 7
    assert b.x_train[4, 0, 3, 5].item() == pytest.approx((60 + 15 + 100 + 7) / 255)
    assert b.x_train.min() >= 0 and b.x_train.max() <= 1


def test_image_folder_rgb_and_options(tmp_path):
    root = tmp_path / "colours"
    for cls, rgb in (("red", (200, 10, 20)), ("blue", (5, 15, 250))):
        (root / cls).mkdir(parents=True)
        for i in range(2):
            arr = np.zeros((8, 8, 3), np.uint8)
            arr[:] = rgb
            arr[2, 3] = (i, 2 * i, 3 * i)
            Image.fromarray(arr, "RGB").save(root / cls / f"{i}.png")
    b = load_raw(root)
    assert b.sample_shape == (3, 8, 8) and b.class_names == ["blue", "red"]
    assert b.x_train[0, :, 0, 0].mul(255).round().tolist() == [5, 15, 250]
    assert b.x_train[1, :, 2, 3].mul(255).round().tolist() == [1, 2, 3]
    b = load_raw(root, image={"color": "grayscale", "size": [4, 6]})
    assert b.sample_shape == (1, 4, 6)


def test_image_folder_mixed_sizes_default_to_the_most_common(tmp_path):
    root = tmp_path / "mixed"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    grey(lambda y, x: x, (10, 12)).save(root / "a" / "1.png")
    grey(lambda y, x: y, (10, 12)).save(root / "a" / "2.png")
    grey(lambda y, x: y, (7, 7)).save(root / "b" / "1.png")
    assert load_raw(root).sample_shape == (1, 10, 12)
    grey(lambda y, x: y, (20, 20)).save(root / "b" / "2.png")
    grey(lambda y, x: y, (30, 20)).save(root / "b" / "3.png")
    assert load_raw(root).sample_shape == (1, 32, 32)   # no size shared by half: 32×32


def test_image_folder_with_train_and_val_folders(tmp_path):
    make_grey_folder(tmp_path / "set" / "train")
    make_grey_folder(tmp_path / "set" / "val")
    b = load_dataset({"path": str(tmp_path / "set"), "normalize": False})
    assert len(b.x_train) == 6 and len(b.x_val) == 6


def test_corrupt_image_names_the_file(tmp_path):
    root = make_grey_folder(tmp_path / "pets")
    bad = root / "dog" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    with pytest.raises(DataError) as info:
        load_raw(root)
    assert str(bad) in str(info.value) and "not a readable image" in str(info.value)


def test_truncated_image_names_the_file(tmp_path):
    root = make_grey_folder(tmp_path / "pets")
    good = (root / "cat" / "0.png").read_bytes()
    bad = root / "cat" / "9.png"
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match=str(bad).replace("\\", "\\\\")):
        load_raw(root)


def test_image_folder_without_images(tmp_path):
    (tmp_path / "empty" / "a").mkdir(parents=True)
    (tmp_path / "empty" / "a" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match="no images found"):
        load_raw(tmp_path / "empty")
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "x.png").write_bytes(b"")
    with pytest.raises(DataError, match="cannot tell which dataset format"):
        load_raw(tmp_path / "flat")


# --- MNIST IDX ---------------------------------------------------------------------------
def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(">u1" if code == 0x08 else ">f4").tobytes()


def mnist_like(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    return images, rng.integers(0, 10, n).astype(np.uint8)


def test_idx_pair_raw_and_gz(tmp_path):
    images, labels = mnist_like(5, 0)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(images))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    path = tmp_path / "train-images-idx3-ubyte"
    assert detect_format(path) == "idx"
    b = load_raw(path)
    assert b.x_train.shape == (5, 1, 28, 28) and b.x_train.dtype == torch.float32
    assert b.x_train[2, 0, 3, 5].item() == pytest.approx(images[2, 3, 5] / 255)
    assert b.y_train.tolist() == labels.tolist() and b.y_train.dtype == torch.int64
    assert b.class_names == [str(i) for i in range(int(labels.max()) + 1)]


def test_idx_folder_uses_t10k_as_validation(tmp_path):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    for prefix, n, seed in (("train", 6, 1), ("t10k", 4, 2)):
        images, labels = mnist_like(n, seed)
        labels[0] = 9
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    b = load_dataset({"path": str(folder), "normalize": False})
    assert len(b.x_train) == 6 and len(b.x_val) == 4
    assert b.class_names[0] == "T-shirt/top" and b.num_classes == 10
    images, _ = mnist_like(4, 2)
    assert torch.equal(b.x_val[:, 0], torch.from_numpy(images).float() / 255)


def test_idx_mismatched_counts_and_bad_headers(tmp_path):
    images, labels = mnist_like(5, 0)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(images))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels[:4]))
    with pytest.raises(DataError, match="holds 5 images but train-labels-idx1-ubyte holds 4"):
        load_raw(tmp_path / "train-images-idx3-ubyte")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\x12\x34\x56\x78" + bytes(20))
    with pytest.raises(DataError, match="not an IDX file"):
        load_raw(tmp_path / "train-images-idx3-ubyte")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels)[:-2])
    with pytest.raises(DataError, match="header says 5 values"):
        load_raw(tmp_path / "train-images-idx3-ubyte")
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="cannot find the matching labels file"):
        load_raw(tmp_path / "train-images-idx3-ubyte")


# --- CIFAR-10 binary ---------------------------------------------------------------------
def cifar_records(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 10, n).astype(np.uint8), rng.integers(0, 256, (n, 3, 32, 32),
                                                                 dtype=np.uint8)


def write_cifar(path: Path, labels: np.ndarray, pixels: np.ndarray) -> None:
    path.write_bytes(b"".join(bytes([int(l)]) + p.tobytes() for l, p in zip(labels, pixels)))


def test_cifar_folder_with_meta(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    l1, p1 = cifar_records(3, 1)
    l2, p2 = cifar_records(2, 2)
    lt, pt = cifar_records(4, 3)
    write_cifar(folder / "data_batch_1.bin", l1, p1)
    write_cifar(folder / "data_batch_2.bin", l2, p2)
    write_cifar(folder / "test_batch.bin", lt, pt)
    names = [f"class{i}" for i in range(10)]
    (folder / "batches.meta.txt").write_text("\n".join(names) + "\n\n")
    assert detect_format(tmp_path) == "cifar10"
    b = load_dataset({"path": str(tmp_path), "normalize": False})
    assert b.class_names == names
    assert b.x_train.shape == (5, 3, 32, 32) and len(b.x_val) == 4
    assert b.y_train.tolist() == l1.tolist() + l2.tolist()
    assert b.x_train[4, 2, 7, 9].item() == pytest.approx(p2[1, 2, 7, 9] / 255)
    assert b.x_val[0, 0, 0, 0].item() == pytest.approx(pt[0, 0, 0, 0] / 255)


def test_cifar_single_file_standard_names_and_bad_length(tmp_path):
    labels, pixels = cifar_records(6, 4)
    write_cifar(tmp_path / "data_batch_1.bin", labels, pixels)
    b = load_raw(tmp_path / "data_batch_1.bin")
    assert b.class_names == CIFAR10_CLASSES and len(b.x_train) == 6
    assert b.x_train[3, 1, 31, 0].item() == pytest.approx(pixels[3, 1, 31, 0] / 255)
    bad = tmp_path / "broken.bin"
    bad.write_bytes(bytes(3073 * 2 + 5))
    with pytest.raises(DataError) as info:
        load_raw(bad)
    assert str(bad) in str(info.value) and "whole number of CIFAR-10 records" in str(info.value)


def test_pickled_cifar_is_refused(tmp_path):
    (tmp_path / "data_batch_1").write_bytes(b"\x80\x04pickle")
    with pytest.raises(DataError, match="never loaded"):
        load_raw(tmp_path / "data_batch_1")


# --- NumPy .npz --------------------------------------------------------------------------
def test_npz_classification_and_regression(tmp_path):
    x = np.arange(24, dtype=np.float32).reshape(6, 4)
    np.savez(tmp_path / "c.npz", x=x, y=np.array([0, 2, 1, 2, 0, 1]))
    b = load_raw(tmp_path / "c.npz")
    assert b.task == "classification" and b.class_names == ["0", "1", "2"]
    assert torch.equal(b.x_train, torch.from_numpy(x)) and b.y_train.tolist() == [0, 2, 1, 2, 0, 1]
    np.savez(tmp_path / "r.npz", inputs=x, out=np.linspace(0, 1, 6))
    b = load_raw(tmp_path / "r.npz", npz={"x": "inputs", "y": "out"})
    assert b.task == "regression" and b.y_train.shape == (6, 1)
    assert b.y_train[5, 0].item() == pytest.approx(1.0)


def test_npz_train_test_keys_and_uint8_images(tmp_path):
    rng = np.random.default_rng(0)
    xtr = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    xte = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    np.savez_compressed(tmp_path / "mnist.npz", x_train=xtr, y_train=np.arange(5) % 3,
                        x_test=xte, y_test=np.arange(3))
    b = load_dataset({"path": str(tmp_path / "mnist.npz"), "normalize": False})
    assert b.x_train.shape == (5, 1, 28, 28) and b.x_val.shape == (3, 1, 28, 28)
    assert b.x_val[2, 0, 3, 5].item() == pytest.approx(xte[2, 3, 5] / 255)


def test_npz_objects_are_never_unpickled(tmp_path):
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}, None], dtype=object), y=np.array([0, 1]))
    with pytest.raises(DataError) as info:
        load_raw(tmp_path / "obj.npz")
    assert "never" in str(info.value) and "obj.npz" in str(info.value)


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "n.npz", x=np.zeros((4, 2)), y=np.zeros(3, np.int64))
    with pytest.raises(DataError, match="'x' has 4 samples but 'y' has 3"):
        load_raw(tmp_path / "n.npz")
    np.savez(tmp_path / "k.npz", a=np.zeros((4, 2)))
    with pytest.raises(DataError, match="no array named x"):
        load_raw(tmp_path / "k.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="junk.npz: not a readable .npz"):
        load_raw(tmp_path / "junk.npz")


# --- paths and formats -------------------------------------------------------------------
def test_missing_path_says_where_it_looked(tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset({"path": "nowhere/data.csv"}, base_dir=tmp_path)
    message = str(info.value)
    assert "dataset path nowhere/data.csv does not exist" in message
    assert str(tmp_path / "nowhere") in message


def test_plain_string_is_a_builtin_or_a_path_relative_to_base_dir(tmp_path):
    write(tmp_path / "tiny.csv", "a,label\n1,x\n2,y\n3,x\n")
    b = load_dataset("tiny.csv", base_dir=tmp_path)
    assert b.name == "tiny.csv" and len(b) == 3
    with pytest.raises(DataError) as info:
        load_dataset("spiral", base_dir=tmp_path)
    assert "does not exist" in str(info.value) and "did you mean 'spirals'" in str(info.value)


def test_format_is_detected_or_forced(tmp_path):
    f = write(tmp_path / "table.txt", "a,label\n1,x\n2,y\n")
    with pytest.raises(DataError, match="set dataset.format"):
        load_raw(f)
    assert len(load_raw(f, format="csv")) == 2
    with pytest.raises(DataError, match="unknown dataset format 'excel'"):
        load_raw(f, format="excel")
    assert load_file(f, "csv", {}).task == "classification"


def test_a_path_given_as_name_is_still_a_path(tmp_path):
    write(tmp_path / "tiny.csv", "a,label\n1,x\n2,y\n3,x\n")
    assert len(load_dataset({"name": "tiny.csv"}, base_dir=tmp_path)) == 3
    with pytest.raises(DataError, match="dataset path data/missing.csv does not exist"):
        load_dataset({"name": "data/missing.csv"}, base_dir=tmp_path)
    with pytest.raises(DataError, match="no built-in dataset 'mnist'"):
        load_dataset({"name": "mnist"}, base_dir=tmp_path)
