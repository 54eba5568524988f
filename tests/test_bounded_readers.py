"""Every dataset reader is bounded before it reads: bombs, devices, FIFOs and huge files are
refused with a message naming the file and what is wrong, in bounded time and memory.

The bombs are made on the fly: a 1 GB gzip is 64 copies of one compressed 16 MB member
(gzip readers inflate concatenated members as one stream), about 1 MB on disk. Huge files
are sparse, so they take no disk. Memory is measured with tracemalloc (numpy and Python's
bytes both report to it), with a wide margin either way: the old readers took the whole
bomb (≥ 1 GB) before refusing it; the bounded ones stay near what the header declares.
"""
from __future__ import annotations

import gzip
import io
import os
import stat
import struct
import threading
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from runtime.data import DataError, load_dataset
from runtime.data import limits
from runtime.data.csv_table import load_csv
from runtime.data.files import load_file
from runtime.data.idx_cifar import read_idx

MB = 1_000_000
GZIP_BOMB_BYTES = 64 * (16 << 20)        # 1 GiB of zeros


def idx_header(code: int, *dims: int) -> bytes:
    return struct.pack(f">BBBB{len(dims)}I", 0, 0, code, len(dims), *dims)


def gzip_bomb(path: Path, header: bytes) -> Path:
    member = gzip.compress(bytes(16 << 20), compresslevel=9)
    path.write_bytes(gzip.compress(header) + member * (GZIP_BOMB_BYTES // (16 << 20)))
    return path


def peak_mb(action) -> tuple[BaseException, float]:
    """(the exception `action` raised, the peak memory it traced in MB)."""
    tracemalloc.start()
    try:
        action()
    except Exception as exc:   # noqa: BLE001 - the caller asserts which
        caught = exc
    else:
        caught = None
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert caught is not None, "the reader accepted the file"
    return caught, peak / MB


def sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


# --- gzip IDX bombs ---------------------------------------------------------------------------

def test_a_gzip_idx_bomb_is_refused_once_it_passes_what_its_header_declares(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    bomb = gzip_bomb(folder / "train-images-idx3-ubyte.gz", idx_header(0x08, 60000, 28, 28))
    (folder / "train-labels-idx1-ubyte").write_bytes(idx_header(0x08, 60000) + bytes(60000))
    assert bomb.stat().st_size < 2 * MB
    error, peak = peak_mb(lambda: load_dataset({"path": str(folder)}))
    assert isinstance(error, DataError)
    assert str(error) == (f"{bomb}: the header says 60000×28×28 values (47040000 bytes) but the "
                          "data goes on past that; refused there, before reading the rest")
    # 47 MB declared, read in 1 MB steps; the old reader held the whole 1,074 MB first.
    assert peak < 200, peak


def test_a_gzip_header_declaring_more_than_the_cap_is_refused_before_inflating(tmp_path):
    bomb = gzip_bomb(tmp_path / "train-images-idx3-ubyte.gz", idx_header(0x0E, 4000, 4000, 400))
    error, peak = peak_mb(lambda: read_idx(bomb))
    assert isinstance(error, DataError)
    assert str(error) == (f"{bomb}: the header says 4000×4000×400 values (51200000000 bytes), "
                          "more than the 2,000.0 MB a dataset file may hold")
    assert peak < 20, peak


def test_the_cap_applies_to_what_a_gzip_inflates_to(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_DECODED_BYTES", 10_000)
    path = tmp_path / "t-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_header(0x08, 20, 28, 28) + bytes(20 * 28 * 28)))
    with pytest.raises(DataError, match=r"t-images-idx3-ubyte.gz: the header says 20×28×28 "
                                        r"values \(15680 bytes\), more than the 10,000 bytes"):
        read_idx(path)


def test_damaged_and_short_gzip_files_name_the_file(tmp_path):
    whole = gzip.compress(idx_header(0x08, 100, 4, 4) + bytes(1600))
    cut = tmp_path / "cut-images-idx3-ubyte.gz"
    cut.write_bytes(whole[:len(whole) // 2])
    with pytest.raises(DataError, match=f"^{cut}: cannot read: "):
        read_idx(cut)
    junk = tmp_path / "junk-images-idx3-ubyte.gz"
    junk.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=f"^{junk}: cannot read: Not a gzipped file"):
        read_idx(junk)
    short = tmp_path / "short-images-idx3-ubyte.gz"
    short.write_bytes(gzip.compress(idx_header(0x08, 100, 4, 4) + bytes(1000)))
    with pytest.raises(DataError, match=r"the header says 100×4×4 values \(1600 bytes\) but the "
                                        r"file holds 1000 bytes of data"):
        read_idx(short)


# --- devices, FIFOs and other files that are not files ----------------------------------------

DEVICES = [d for d in ("/dev/zero", "/dev/urandom") if os.path.exists(d)]


@pytest.mark.skipif(not DEVICES, reason="no /dev/zero here")
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fmt", [None, "csv", "npz", "idx", "cifar10", "imagefolder"])
def test_a_device_as_the_dataset_path_is_refused_by_its_kind(device, fmt):
    spec = {"path": device, **({"format": fmt} if fmt else {})}
    error, peak = peak_mb(lambda: load_dataset(spec))
    assert isinstance(error, DataError)
    assert str(error) == (f"{device}: is a character device, not a regular file; a dataset is "
                          "read only from files on disk")
    assert peak < 5, peak


def _refused_without_blocking(fifo: Path, action) -> str:
    """Run `action`, which must refuse the FIFO at once; if it blocks on the open, a writer
    is connected so that the test fails instead of hanging."""
    result: dict = {}

    def run() -> None:
        try:
            action()
        except Exception as exc:   # noqa: BLE001
            result["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=300)       # returns as soon as the reader does (milliseconds)
    if worker.is_alive():
        with open(fifo, "wb"):
            pass
        worker.join()
        pytest.fail(f"reading {fifo} blocked")
    assert isinstance(result.get("error"), DataError), result
    return str(result["error"])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    expected = (f"{fifo}: is a FIFO (named pipe), not a regular file; a dataset is read only "
                "from files on disk")
    assert _refused_without_blocking(fifo, lambda: load_dataset({"path": str(fifo)})) == expected
    # The reader itself refuses it too, not only the check in front of it.
    assert _refused_without_blocking(fifo, lambda: load_csv(fifo, {})) == expected
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte").write_bytes(idx_header(0x08, 2, 2, 2) + bytes(8))
    labels = folder / "train-labels-idx1-ubyte"
    os.mkfifo(labels)
    message = _refused_without_blocking(labels, lambda: load_dataset({"path": str(folder)}))
    assert message.startswith(f"{labels}: is a FIFO (named pipe), not a regular file")


def test_a_side_file_that_is_a_device_is_refused(tmp_path):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    record = bytes([3]) + bytes(3072)
    (tmp_path / "data_batch_1.bin").write_bytes(record * 2)
    (tmp_path / "batches.meta.txt").symlink_to("/dev/zero")
    with pytest.raises(DataError, match=r"batches.meta.txt: is a character device"):
        load_file(tmp_path, "cifar10", {})


# --- files too large for what they are --------------------------------------------------------

def test_a_huge_csv_is_refused_by_its_size_before_parsing(tmp_path):
    big = sparse(tmp_path / "big.csv", 3_000_000_000)
    error, peak = peak_mb(lambda: load_dataset({"path": str(big)}))
    assert str(error) == f"{big}: is 3,000.0 MB, more than the 200.0 MB a CSV file may be"
    assert peak < 5, peak


def test_the_csv_cap_is_the_module_constant(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n" + "1,2\n" * 500)
    assert len(load_csv(path, {}).x) == 500
    monkeypatch.setattr(limits, "MAX_CSV_BYTES", 1000)
    with pytest.raises(DataError, match=r"t.csv: is 2,004 bytes, more than the 1,000 bytes a CSV"):
        load_csv(path, {})


def test_a_csv_that_is_not_utf8_names_the_true_byte_and_row(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b\n" + b"1,2\n" * 5000 + b"\xff,3\n")
    with pytest.raises(DataError) as caught:
        load_csv(path, {})
    assert str(caught.value) == (f"{path}: not a UTF-8 text file (invalid start byte at byte "
                                 "20007 (row 5002))")


def test_a_huge_cifar_file_is_judged_by_its_size_without_reading_it(tmp_path):
    wrong = sparse(tmp_path / "data_batch_1.bin", 1_500_000_001)
    error, peak = peak_mb(lambda: load_file(wrong, "cifar10", {}))
    assert str(error) == (f"{wrong}: 1500000001 bytes is not a whole number of CIFAR-10 records "
                          "(1 label byte + 3072 pixel bytes each)")
    assert peak < 5, peak
    too_big = sparse(tmp_path / "data_batch_2.bin", 3073 * 700_000)
    error, peak = peak_mb(lambda: load_file(too_big, "cifar10", {}))
    assert str(error) == (f"{too_big}: is 2,151.1 MB, more than the 2,000.0 MB a dataset file "
                          "may be")
    assert peak < 5, peak


# --- .npz archives ----------------------------------------------------------------------------

def _npz(path: Path, **arrays) -> Path:
    np.savez_compressed(path, **arrays)
    return path


def test_an_npz_member_larger_than_the_cap_is_refused_from_the_zip_directory(tmp_path,
                                                                            monkeypatch):
    path = _npz(tmp_path / "d.npz", x=np.zeros((1000, 1000)), y=np.zeros(1000, np.int64))
    monkeypatch.setattr(limits, "MAX_DECODED_BYTES", 1 * MB)
    error, peak = peak_mb(lambda: load_file(path, None, {}))
    assert str(error) == (f"{path}, array 'x': is 8.0 MB unpacked, more than the 1.0 MB an "
                          "array may be")
    assert peak < 1, peak


def test_an_npy_header_that_declares_more_than_it_holds_allocates_nothing(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (10**6, 10**6)})
    path = tmp_path / "lie.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", header.getvalue() + bytes(800))
    error, peak = peak_mb(lambda: load_file(path, None, {}))
    assert str(error) == (f"{path}, array 'x': its header declares 1000000×1000000 values of "
                          "float64 (8000000000000 bytes) but it holds 800 bytes")
    assert peak < 5, peak


def test_a_member_that_inflates_past_its_declared_size_is_cut_there(tmp_path):
    stream = io.BytesIO(bytes(5 * MB))
    with pytest.raises(DataError, match="^too much$"):
        limits.read_at_most(stream, 2 * MB, "too much")
    assert stream.tell() <= 2 * MB + limits.CHUNK_BYTES


@pytest.mark.parametrize("keep", [0.5, 0.97])
def test_a_half_written_npz_names_the_file_and_says_what_is_wrong(tmp_path, keep):
    whole = _npz(tmp_path / "whole.npz", x=np.arange(20000.0).reshape(2000, 10),
                 y=np.arange(2000) % 3)
    data = whole.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(DataError) as caught:
        load_file(cut, None, {})
    message = str(caught.value)
    assert message.startswith(f"{cut}: not a readable .npz file: the zip archive is damaged or "
                              "cut short, e.g. saved only in part (")


def test_a_damaged_member_names_the_file_and_the_array(tmp_path):
    path = _npz(tmp_path / "d.npz", x=np.random.default_rng(0).normal(size=(500, 4)),
                y=np.arange(500) % 2)
    data = bytearray(path.read_bytes())
    start = data.index(b"x.npy") + 40      # inside x's compressed data
    data[start:start + 200] = bytes(200)
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=rf"^{path}, array 'x': cannot be unpacked; the archive "
                                        "is damaged or cut short"):
        load_file(path, None, {})


def test_a_plain_npz_still_reads_exactly(tmp_path):
    x = np.random.default_rng(1).normal(size=(30, 3)).astype(np.float32)
    y = np.arange(30) % 3
    raw = load_file(_npz(tmp_path / "ok.npz", x=x, y=y), None, {})
    assert np.array_equal(raw.x.numpy(), x) and np.array_equal(raw.y.numpy(), y)
    fortran = np.asfortranarray(np.arange(12.0).reshape(4, 3))
    np.savez(tmp_path / "f.npz", x=fortran, y=np.zeros(4, np.int64))
    assert np.array_equal(load_file(tmp_path / "f.npz", None, {}).x.numpy(), fortran)


# --- image folders ----------------------------------------------------------------------------

def png_declaring(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares width × height 1-bit pixels, with a few bytes of data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(bytes(1000))) + chunk(b"IEND", b""))
    return path


def _image_folder(tmp_path: Path) -> Path:
    from PIL import Image
    root = tmp_path / "images"
    (root / "cat").mkdir(parents=True)
    Image.new("L", (8, 8), 7).save(root / "cat" / "ok.png")
    return root


@pytest.mark.parametrize("width, height", [(9000, 9000), (100_000, 100_000)])
def test_a_decompression_bomb_png_is_refused_from_its_header(tmp_path, width, height):
    root = _image_folder(tmp_path)
    bomb = png_declaring(root / "cat" / "bomb.png", width, height)
    error, peak = peak_mb(lambda: load_dataset({"path": str(root)}))
    assert isinstance(error, DataError)
    if width * height < 2 * 89_478_485:     # below the size at which Pillow itself refuses
        assert str(error) == (f"{bomb}: declares {width}×{height} pixels ({width * height:,}), "
                              "more than the 64,000,000 an image may have (a decompression "
                              "bomb, or a photo to shrink first); delete or replace it")
    else:
        assert str(error).startswith(f"{bomb}: declares more than the 64,000,000 pixels an "
                                     "image may have (a decompression bomb: Image size "
                                     "(10000000000 pixels) exceeds limit")
    assert peak < 20, peak


def test_an_image_cap_lowered_for_the_test_applies(tmp_path, monkeypatch):
    root = _image_folder(tmp_path)
    assert len(load_dataset({"path": str(root), "val_split": 0.0}).x_train) == 1
    monkeypatch.setattr(limits, "MAX_IMAGE_PIXELS", 63)
    with pytest.raises(DataError, match=r"ok.png: declares 8×8 pixels \(64\), more than the 63"):
        load_dataset({"path": str(root)})


def test_every_refusal_names_a_regular_file_kind_only_when_it_is_one(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    with pytest.raises(DataError, match=r"is a folder, not a regular file"):
        limits.open_data_file(folder)
    assert stat.S_ISREG(os.stat(_npz(tmp_path / "a.npz", x=np.zeros(2))).st_mode)
    with limits.open_data_file(tmp_path / "a.npz") as fh:
        assert fh.read(2) == b"PK" and os.get_blocking(fh.fileno())
