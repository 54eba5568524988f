"""load_dataset options, splitting, normalisation, fit_to_input, augmentation and batches."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from runtime.data import (DataBundle, DataError, augment_batch, batches, fit_to_input,
                          load_dataset)


def bundle_of(x: torch.Tensor, name: str = "toy", y: torch.Tensor | None = None) -> DataBundle:
    y = torch.zeros(len(x), dtype=torch.long) if y is None else y
    half = len(x) // 2
    return DataBundle(name, "classification", x[:half], y[:half], x[half:], y[half:], ["a"])


@pytest.fixture(scope="module")
def digits():
    return load_dataset({"name": "digits"}, seed=0)


# --- options and splitting ---------------------------------------------------------------
@pytest.mark.parametrize("spec, expected", [
    ({"name": "moons", "val_spilt": 0.1}, "unknown dataset option 'val_spilt' (did you mean "
                                          "'val_split'?)"),
    ({"name": "moons", "path": "a.csv"}, "not both"),
    ({"val_split": 0.1}, "give name"),
    ({"name": "moons", "val_split": 1.0}, "val_split must be a fraction in [0, 1)"),
    ({"name": "moons", "normalize": "yes"}, "normalize must be true or false"),
    ({"name": "moons", "format": "csv"}, "format applies to files"),
    (42, "must be a built-in name, a path or an object"),
])
def test_bad_specs(spec, expected):
    with pytest.raises(DataError) as info:
        load_dataset(spec)
    assert expected in str(info.value)


def test_resize_to_input_is_an_accepted_key():
    b = load_dataset({"name": "moons", "samples": 20, "resize_to_input": True})
    assert len(b) == 20


def indexed_npz(tmp_path, n=50):
    x = np.arange(n, dtype=np.float32)[:, None]
    np.savez(tmp_path / "idx.npz", x=x, y=np.arange(n) % 2)
    return str(tmp_path / "idx.npz")


def test_split_is_a_seeded_partition(tmp_path):
    path = indexed_npz(tmp_path)
    a = load_dataset({"path": path, "normalize": False, "val_split": 0.3}, seed=5)
    b = load_dataset({"path": path, "normalize": False, "val_split": 0.3}, seed=5)
    c = load_dataset({"path": path, "normalize": False, "val_split": 0.3}, seed=6)
    assert len(a.x_val) == 15 and len(a.x_train) == 35
    ids = torch.cat([a.x_train, a.x_val])[:, 0].long()
    assert sorted(ids.tolist()) == list(range(50))
    assert torch.equal(a.x_val, b.x_val) and not torch.equal(a.x_val, c.x_val)
    assert torch.equal(a.y_train, a.x_train[:, 0].long() % 2)   # labels travel with samples
    none = load_dataset({"path": path, "val_split": 0}, seed=5)
    assert len(none.x_val) == 0 and none.x_val.shape[1:] == (1,)


def test_samples_limits_a_file_dataset(tmp_path):
    b = load_dataset({"path": indexed_npz(tmp_path), "samples": 10, "val_split": 0.2})
    assert len(b) == 10


# --- normalisation -----------------------------------------------------------------------
def test_images_are_standardised_per_channel_with_train_statistics(digits):
    assert digits.mean.shape == (1, 1, 1) and digits.std.shape == (1, 1, 1)
    x = digits.x_train
    assert abs(x.mean().item()) < 1e-5 and abs(x.std(unbiased=False).item() - 1) < 1e-4
    raw = load_dataset({"name": "digits", "normalize": False}, seed=0)
    assert raw.mean is None and raw.x_train.min() == 0 and raw.x_train.max() == 1
    assert torch.allclose(raw.x_val, digits.x_val * digits.std + digits.mean, atol=1e-5)
    assert torch.equal(raw.y_train, digits.y_train)       # class labels are not touched


def test_colour_channels_get_their_own_statistics(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (60, 3, 4, 4)).astype(np.float32) * np.array([1, 5, 0.1],
                                                                       np.float32)[:, None, None]
    x += np.array([10, -3, 0.5], np.float32)[:, None, None]
    np.savez(tmp_path / "rgb.npz", x=x, y=np.arange(60) % 3)
    b = load_dataset({"path": str(tmp_path / "rgb.npz")})
    assert b.mean.shape == (3, 1, 1)
    per_channel = b.x_train.transpose(0, 1).reshape(3, -1)
    assert torch.allclose(per_channel.mean(1), torch.zeros(3), atol=1e-4)
    assert torch.allclose(per_channel.std(1, unbiased=False), torch.ones(3), atol=1e-4)
    assert b.mean.flatten().tolist() == pytest.approx([10, -3, 0.5], abs=1.0)


def test_sequences_vectors_tokens_and_regression_targets():
    wave = load_dataset({"name": "waveforms", "samples": 400})
    assert wave.mean.shape == (1,) and abs(wave.x_train.mean().item()) < 1e-5
    spirals = load_dataset({"name": "spirals", "samples": 300})
    assert spirals.mean.shape == (2,)
    assert torch.allclose(spirals.x_train.std(0, unbiased=False), torch.ones(2), atol=1e-4)
    tokens = load_dataset({"name": "tokens", "samples": 100})
    assert tokens.mean is None and tokens.x_train.dtype == torch.int64
    series = load_dataset({"name": "series", "samples": 300})
    assert series.target_mean.shape == (1,)
    assert abs(series.y_train.mean().item()) < 1e-5
    assert abs(series.y_train.std(unbiased=False).item() - 1) < 1e-4


# --- fit_to_input ------------------------------------------------------------------------
def test_mismatch_without_resize_says_how_to_fix_it(digits):
    with pytest.raises(DataError) as info:
        fit_to_input(digits, (1, 32, 32), "float32", False)
    assert str(info.value) == ("the Input node expects 1×32×32 but digits samples are 1×8×8: "
                               "set the Input shape to 1×8×8, or set dataset.resize_to_input")
    spirals = load_dataset({"name": "spirals", "samples": 50})
    with pytest.raises(DataError) as info:
        fit_to_input(spirals, (4,), "float32", "resize")
    message = str(info.value)
    assert "spirals samples of 2" in message and "set the Input shape to 2" in message
    with pytest.raises(DataError) as info:
        fit_to_input(spirals, (4,), "float32", None)
    assert "resize_to_input" not in str(info.value)


def test_matching_shape_is_returned_unchanged(digits):
    assert fit_to_input(digits, (1, 8, 8), "float32", False) is digits


def test_resize_images(digits):
    fitted = fit_to_input(digits, (1, 32, 32), "float32", "resize")
    assert fitted.sample_shape == (1, 32, 32) and fitted.x_val.shape[1:] == (1, 32, 32)
    assert fitted.x_train.dtype == torch.float32 and len(fitted.x_train) == len(digits.x_train)
    assert fitted.y_train is digits.y_train
    # content is kept: shrinking back gives nearly the original image
    back = torch.nn.functional.interpolate(fitted.x_train[:20], size=(8, 8), mode="area")
    assert (back - digits.x_train[:20]).abs().mean() < 0.2
    const = bundle_of(torch.full((4, 1, 10, 10), 0.7))
    assert torch.allclose(fit_to_input(const, (1, 5, 5), "float32", True).x_train,
                          torch.full((2, 1, 5, 5), 0.7))


def test_resize_volumes_and_channel_conversion():
    x = torch.rand(6, 1, 16, 16, 16)
    out = fit_to_input(bundle_of(x), (3, 8, 8, 8), "float32", "resize")
    assert out.sample_shape == (3, 8, 8, 8)
    assert torch.equal(out.x_train[:, 0], out.x_train[:, 2])
    rgb = torch.rand(4, 3, 6, 6)
    grey = fit_to_input(bundle_of(rgb), (1, 6, 6), "float32", "pad")
    expected = 0.299 * rgb[:2, 0] + 0.587 * rgb[:2, 1] + 0.114 * rgb[:2, 2]
    assert torch.allclose(grey.x_train[:, 0], expected, atol=1e-6)
    with pytest.raises(DataError, match="2 channels cannot become 3"):
        fit_to_input(bundle_of(torch.rand(4, 2, 6, 6)), (3, 6, 6), "float32", "resize")


def test_pad_centres_the_sample():
    x = torch.arange(2 * 1 * 3 * 4, dtype=torch.float32).reshape(2, 1, 3, 4) + 1
    out = fit_to_input(bundle_of(torch.cat([x, x])), (1, 6, 7), "float32", "pad").x_train
    assert out.shape == (2, 1, 6, 7)
    assert torch.equal(out[:, :, 1:4, 1:5], x)              # (6-3)//2 = 1, (7-4)//2 = 1
    assert out.sum() == x.sum()
    with pytest.raises(DataError, match="padding cannot make samples smaller"):
        fit_to_input(bundle_of(torch.cat([x, x])), (1, 2, 7), "float32", "pad")


def test_flatten_and_squeeze_to_the_input(digits):
    flat = fit_to_input(digits, (64,), "float32", "resize")
    assert flat.sample_shape == (64,)
    assert torch.equal(flat.x_train[3], digits.x_train[3].flatten())
    rows = fit_to_input(digits, (8, 8), "float32", "resize")
    assert rows.sample_shape == (8, 8) and torch.equal(rows.x_train, digits.x_train[:, 0])
    with pytest.raises(DataError, match="or set dataset.resize_to_input"):
        fit_to_input(digits, (64,), "float32", False)


def test_dtype_rules(digits):
    tokens = load_dataset({"name": "tokens", "samples": 50})
    assert fit_to_input(tokens, (16,), "int64", False) is tokens
    with pytest.raises(DataError) as info:
        fit_to_input(tokens, (16,), "float32", False)
    assert "token ids" in str(info.value) and "set the Input dtype to int64" in str(info.value)
    with pytest.raises(DataError) as info:
        fit_to_input(digits, (1, 8, 8), "int64", False)
    assert "set the Input dtype to float32" in str(info.value)
    with pytest.raises(DataError, match="token ids keep their length"):
        fit_to_input(tokens, (20,), "int64", "resize")
    doubled = fit_to_input(digits, (1, 8, 8), "float64", False)
    assert doubled.x_train.dtype == torch.float64 and doubled.x_val.dtype == torch.float64


def test_bad_mode():
    with pytest.raises(DataError, match="resize_to_input must be"):
        fit_to_input(bundle_of(torch.rand(4, 1, 4, 4)), (1, 5, 5), "float32", "stretch")


# --- augmentation ------------------------------------------------------------------------
def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_flip_mirrors_left_right():
    x = torch.rand(8, 3, 5, 6)
    assert torch.equal(augment_batch(x, {"flip": 1.0}, gen()), x.flip(-1))
    out = augment_batch(x, {"flip": True}, gen(1))
    flipped = [torch.equal(o, s.flip(-1)) for o, s in zip(out, x)]
    kept = [torch.equal(o, s) for o, s in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    many = augment_batch(torch.rand(2000, 1, 2, 2), {"flip": True}, gen(2))
    assert many.shape == (2000, 1, 2, 2)


def test_augment_is_deterministic_and_leaves_input_alone():
    x = torch.rand(16, 1, 12, 12)
    before = x.clone()
    opts = {"flip": True, "shift": 3, "noise": 0.1}
    a = augment_batch(x, opts, gen(7))
    b = augment_batch(x, opts, gen(7))
    c = augment_batch(x, opts, gen(8))
    assert torch.equal(a, b) and not torch.equal(a, c) and torch.equal(x, before)


def test_shift_moves_content_with_zero_fill():
    n = 64
    x = torch.zeros(n, 1, 15, 15)
    x[:, 0, 7, 7] = 1.0                                      # one bright pixel in the middle
    out = augment_batch(x, {"shift": 2}, gen(3))
    assert out.shape == x.shape and torch.equal(out.sum((1, 2, 3)), torch.ones(n))
    pos = out[:, 0].flatten(1).argmax(1)
    dy, dx = pos // 15 - 7, pos % 15 - 7
    assert dy.abs().max() <= 2 and dx.abs().max() <= 2
    assert (dy != 0).any() and (dx != 0).any() and len(set(zip(dy.tolist(), dx.tolist()))) > 5
    edge = augment_batch(torch.ones(n, 1, 6, 6), {"shift": 2}, gen(4))
    moved = (dy != 0) | (dx != 0)
    assert moved.any() and set(edge.unique().tolist()) <= {0.0, 1.0}
    assert (edge.sum((1, 2, 3)) < 36).any()                  # zeros came in from outside


def test_shift_volumes_too():
    x = torch.zeros(10, 1, 9, 9, 9)
    x[:, 0, 4, 4, 4] = 1.0
    out = augment_batch(x, {"shift": 1}, gen(5))
    assert torch.equal(out.sum((1, 2, 3, 4)), torch.ones(10))


def test_noise_has_the_given_std():
    x = torch.zeros(64, 1, 32, 32)
    out = augment_batch(x, {"noise": 0.3}, gen(6))
    assert out.std().item() == pytest.approx(0.3, rel=0.02)
    assert abs(out.mean().item()) < 0.01


def test_non_images_and_empty_options_are_untouched():
    tokens = torch.randint(0, 10, (4, 16))
    assert augment_batch(tokens, {"flip": True, "noise": 1.0}, gen()) is tokens
    points = torch.rand(5, 2)
    assert augment_batch(points, {"noise": 1.0}, gen()) is points
    seqs = torch.rand(5, 32, 1)
    assert augment_batch(seqs, {"flip": True}, gen()) is seqs
    images = torch.rand(2, 1, 4, 4)
    assert augment_batch(images, {}, gen()) is images
    with pytest.raises(DataError, match="unknown augment option"):
        augment_batch(images, {"rotate": 10}, gen())


# --- batches -----------------------------------------------------------------------------
def test_batches_cover_every_sample_once_per_epoch():
    x = torch.arange(103).float()[:, None]
    y = torch.arange(103)
    got = list(batches(x, y, 10, True, gen(0)))
    assert [len(xb) for xb, _ in got] == [10] * 10 + [3]
    seen = torch.cat([yb for _, yb in got])
    assert sorted(seen.tolist()) == list(range(103)) and seen.tolist() != list(range(103))
    for xb, yb in got:
        assert torch.equal(xb[:, 0].long(), yb)
    again = torch.cat([yb for _, yb in batches(x, y, 10, True, gen(0))])
    assert torch.equal(seen, again)
    plain = torch.cat([yb for _, yb in batches(x, y, 32, False, None)])
    assert plain.tolist() == list(range(103))


def test_batches_respect_indices():
    x = torch.arange(20).float()[:, None]
    y = torch.arange(20)
    shard = torch.arange(1, 20, 2)                            # rank 1 of 2
    got = torch.cat([yb for _, yb in batches(x, y, 3, True, gen(1), indices=shard)])
    assert sorted(got.tolist()) == shard.tolist()
    ordered = torch.cat([yb for _, yb in batches(x, y, 4, False, None, indices=[5, 2, 9])])
    assert ordered.tolist() == [5, 2, 9]
    with pytest.raises(DataError, match="batch_size"):
        list(batches(x, y, 0, False, None))


def test_normalize_is_idempotent_and_marks_the_bundle(digits):
    from runtime.data import normalize

    assert digits.normalized and normalize(digits) is digits
    raw = load_dataset({"name": "digits", "normalize": False})
    assert not raw.normalized
    once = normalize(raw)
    assert once.normalized and torch.allclose(once.x_train, digits.x_train)
    assert torch.equal(once.mean, digits.mean)
