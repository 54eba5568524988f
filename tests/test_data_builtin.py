"""Built-in datasets: shapes, dtypes, classes, determinism, and that they are learnable."""
from __future__ import annotations

import time

import pytest
import torch

from runtime.data import BUILTIN_DATASETS, DataError, load_dataset, make_builtin
from runtime.data.builtin import TOKEN_CLASSES, TOKEN_VOCAB

# name → (sample shape, x dtype, task, number of classes, default size)
EXPECTED = {
    "digits": ((1, 8, 8), torch.float32, "classification", 10, 1797),
    "shapes": ((1, 28, 28), torch.float32, "classification", 6, 5000),
    "spirals": ((2,), torch.float32, "classification", 3, 3000),
    "moons": ((2,), torch.float32, "classification", 2, 2000),
    "waveforms": ((32, 1), torch.float32, "classification", 4, 4000),
    "series": ((32, 1), torch.float32, "regression", 0, 3000),
    "tokens": ((16,), torch.int64, "classification", 6, 4000),
    "volumes": ((1, 16, 16, 16), torch.float32, "classification", 5, 2000),
}

# Built-ins whose shapes and determinism a file of their own tests (a class per step:
# corpus, in tests/test_language_model.py; a class per pixel: segments, in
# tests/test_segmentation.py).
TESTED_ELSEWHERE = {"corpus", "segments"}


@pytest.fixture(scope="module")
def bundles():
    return {name: load_dataset({"name": name}, seed=0) for name in EXPECTED}


def test_every_builtin_is_listed_with_a_description():
    assert set(BUILTIN_DATASETS) - TESTED_ELSEWHERE == set(EXPECTED)
    for name, text in BUILTIN_DATASETS.items():
        assert isinstance(text, str) and 10 < len(text) < 160 and "\n" not in text, name


@pytest.mark.parametrize("name", list(EXPECTED))
def test_builtin_shapes_dtypes_and_classes(bundles, name):
    shape, dtype, task, classes, size = EXPECTED[name]
    b = bundles[name]
    assert b.name == name and b.task == task and b.description
    assert b.sample_shape == shape and b.x_val.shape[1:] == shape
    assert b.x_train.dtype == dtype and b.x_val.dtype == dtype
    assert len(b) == size
    assert len(b.x_val) == round(size * 0.2)
    assert len(b.y_train) == len(b.x_train) and len(b.y_val) == len(b.x_val)
    assert b.num_classes == classes
    assert torch.isfinite(b.x_train.float()).all()
    if task == "classification":
        assert b.y_train.dtype == torch.int64 and b.y_train.dim() == 1
        counts = torch.bincount(torch.cat([b.y_train, b.y_val]), minlength=classes)
        assert len(counts) == classes and counts.min() > 0
        if name != "digits":   # generated sets are balanced
            assert counts.max() - counts.min() <= 1
        assert len(set(b.class_names)) == classes
    else:
        assert b.y_train.dtype == torch.float32


@pytest.mark.parametrize("name", list(EXPECTED))
def test_builtin_is_deterministic_per_seed(name):
    samples = None if name == "digits" else 300
    a = load_dataset({"name": name, "samples": samples} if samples else name, seed=3)
    b = load_dataset({"name": name, "samples": samples} if samples else name, seed=3)
    c = load_dataset({"name": name, "samples": samples} if samples else name, seed=4)
    for field in ("x_train", "y_train", "x_val", "y_val"):
        assert torch.equal(getattr(a, field), getattr(b, field)), field
    assert not torch.equal(a.x_train, c.x_train)


def test_raw_values_are_in_range():
    digits = make_builtin("digits")
    assert digits.x.min() == 0.0 and digits.x.max() == 1.0
    assert digits.class_names == [str(i) for i in range(10)]
    for name in ("shapes", "volumes"):
        raw = make_builtin(name, 200, 0)
        assert raw.x.min() >= 0.0 and raw.x.max() <= 1.0
        # a drawn figure, not just noise: the brightest pixels are well above the background
        assert (raw.x.flatten(1).amax(1) > 0.5).all()
    tokens = make_builtin("tokens", 500, 0)
    assert tokens.x.min() >= 0 and tokens.x.max() < len(TOKEN_VOCAB)


def test_samples_option_and_digits_subset():
    assert len(load_dataset({"name": "moons", "samples": 100})) == 100
    assert len(load_dataset({"name": "digits", "samples": 500})) == 500
    with pytest.raises(DataError, match="samples"):
        load_dataset({"name": "moons", "samples": 0})


def test_shapes_generate_quickly():
    start = time.perf_counter()
    make_builtin("shapes", 5000, 1)
    # 0.31–2.0 s on a busy 2-core machine (the first call the slowest): a limit for a
    # blow-up only; speed itself is for bench/.
    assert time.perf_counter() - start < 30.0


def test_series_target_is_the_next_step():
    raw = make_builtin("series", 50, 0)
    assert raw.y.shape == raw.x.shape == (50, 32, 1)
    assert torch.equal(raw.x[:, 1:], raw.y[:, :-1])
    b = load_dataset({"name": "series", "samples": 200})
    assert b.target_mean is not None and b.target_std is not None
    back = b.denormalize_targets(b.y_train)
    raw_x = b.x_train * b.std + b.mean
    assert torch.allclose(raw_x[:, 1:], back[:, :-1], atol=1e-4)


def test_tokens_label_is_the_marker_order_so_counts_carry_no_signal():
    raw = make_builtin("tokens", 600, 0)
    x, y = raw.x, raw.y
    markers = [TOKEN_VOCAB.index(c) for c in "XYZ"]
    # every sequence holds each marker exactly once: a bag of words sees the same counts
    for m in markers:
        assert torch.equal((x == m).sum(1), torch.ones(len(x), dtype=torch.long))
    for seq, label in zip(x.tolist(), y.tolist()):
        order = "".join(TOKEN_VOCAB[t] for t in seq if TOKEN_VOCAB[t] in "XYZ")
        assert order == TOKEN_CLASSES[label]


@pytest.fixture
def one_thread():
    """Tiny models train faster on one thread, and do not stall on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _fit_mlp(b, epochs: int, hidden: int = 64, lr: float = 1e-2) -> float:
    # The spreads below: this function with seeds 0-5 (manual_seed, batch order, split).
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(b.x_train[0].numel(), hidden),
                                torch.nn.ReLU(), torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
                                torch.nn.Linear(hidden, b.num_classes))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(0)
    from runtime.data import batches
    for _ in range(epochs):
        for xb, yb in batches(b.x_train, b.y_train, 64, True, g):
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return (model(b.x_val).argmax(1) == b.y_val).float().mean().item()


def test_spirals_need_a_nonlinear_model_and_an_mlp_learns_them(bundles, one_thread):
    from sklearn.linear_model import LogisticRegression

    b = bundles["spirals"]
    linear = LogisticRegression(max_iter=500).fit(b.x_train.numpy(), b.y_train.numpy())
    assert linear.score(b.x_val.numpy(), b.y_val.numpy()) < 0.6
    assert _fit_mlp(b, epochs=12) > 0.65   # seeds 0-5: 0.983–0.997; chance 1/3


def test_digits_and_moons_are_learnable(bundles, one_thread):
    # seeds 0-5: digits 0.944–0.986 (chance 0.1), moons 0.990–1.0 (chance 0.5)
    assert _fit_mlp(bundles["digits"], epochs=8, lr=3e-3) > 0.5
    assert _fit_mlp(bundles["moons"], epochs=5) > 0.75


def test_unknown_builtin_suggests_a_close_name():
    with pytest.raises(DataError) as info:
        load_dataset({"name": "digit"})
    message = str(info.value)
    assert "'digit'" in message and "did you mean 'digits'" in message.lower()
    for name in EXPECTED:
        assert name in message
