"""Functions and small modules that node specs target besides torch.nn's own.

Code export copies the definitions a model uses, verbatim, into a standalone .py that
starts with exactly the four imports below. So every definition here must be
self-contained: it may use math, torch, nn and F, and nothing else from this file.
Axes count with the batch axis as 0, which every node keeps first.
"""
import math

import torch
from torch import nn
import torch.nn.functional as F


# --- Merge / split -------------------------------------------------------------------

def add(*xs):
    """Add the inputs element by element (a residual / skip connection)."""
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


def multiply(*xs):
    """Multiply the inputs element by element (gating, masking)."""
    out = xs[0]
    for x in xs[1:]:
        out = out * x
    return out


def concat(*xs, dim=1):
    """Join the inputs end to end along axis `dim` (1 = channels / features)."""
    if dim == 0 or dim == -xs[0].dim():
        raise ValueError("Concat can't join along axis 0: that is the batch axis")
    return torch.cat(xs, dim=dim)


def chunk(x, chunks=2, dim=1):
    """Cut x along axis `dim` into `chunks` nearly equal pieces, returned as a tuple.

    When the size doesn't divide evenly the first pieces are one larger."""
    if dim == 0 or dim == -x.dim():
        raise ValueError("Chunk can't cut along axis 0: that is the batch axis")
    size = x.size(dim)
    if chunks > size:
        raise ValueError(f"can't cut an axis of size {size} into {chunks} pieces")
    return tuple(torch.tensor_split(x, chunks, dim=dim))


def split(x, split_sizes=(1, 1), dim=1):
    """Cut x along axis `dim` into pieces of the given sizes, returned as a tuple."""
    if dim == 0 or dim == -x.dim():
        raise ValueError("Split can't cut along axis 0: that is the batch axis")
    size = x.size(dim)
    if sum(split_sizes) != size:
        raise ValueError(f"split_sizes {tuple(split_sizes)} add up to {sum(split_sizes)}, "
                         f"but axis {dim} has size {size}")
    return tuple(torch.split(x, list(split_sizes), dim=dim))


# --- Reshape -------------------------------------------------------------------------

def reshape(x, shape=(-1,)):
    """Give each sample a new shape (batch axis kept): x.reshape(N, *shape).

    One entry may be -1, meaning "whatever is left"."""
    shape = tuple(shape)
    if shape.count(-1) > 1:
        raise ValueError(f"shape may contain at most one -1, got {shape}")
    if any(s == 0 or s < -1 for s in shape):
        raise ValueError(f"shape entries must be positive (or one -1), got {shape}")
    size = math.prod(x.shape[1:])
    known = math.prod(s for s in shape if s != -1)
    if (known != size) if -1 not in shape else (size % known != 0):
        raise ValueError(f"can't reshape a sample of shape {tuple(x.shape[1:])} "
                         f"({size} values) into {shape}")
    return x.reshape(x.size(0), *shape)


def permute(x, dims=(0, 2, 1)):
    """Reorder the axes; `dims` lists every axis, batch (0) first, e.g. (0, 2, 1)."""
    dims = tuple(dims)
    if sorted(dims) != list(range(x.dim())):
        raise ValueError(f"dims must list each of the input's {x.dim()} axes "
                         f"(0 to {x.dim() - 1}) exactly once, got {dims}")
    if dims[0] != 0:
        raise ValueError(f"dims must start with 0 so the batch axis stays first, got {dims}")
    return x.permute(*dims)


def squeeze(x, dim=1):
    """Remove axis `dim`, which must have size 1."""
    if dim == 0 or dim == -x.dim():
        raise ValueError("Squeeze can't remove axis 0: that is the batch axis")
    if x.size(dim) != 1:
        raise ValueError(f"axis {dim} has size {x.size(dim)}; only an axis of size 1 can "
                         "be removed")
    return x.squeeze(dim)


def unsqueeze(x, dim=1):
    """Insert a new axis of size 1 at position `dim` (e.g. a channel axis at 1)."""
    if dim == 0 or dim == -x.dim() - 1:
        raise ValueError("Unsqueeze can't insert at axis 0: the batch axis stays first")
    return x.unsqueeze(dim)


# --- Math ----------------------------------------------------------------------------

def exp(x):
    """e to the power of each value (a VAE turns log-variance into a standard deviation)."""
    return torch.exp(x)


def log(x, eps=0.0):
    """The natural logarithm of each value plus eps (eps > 0 keeps log(0) finite)."""
    return torch.log(x + eps) if eps else torch.log(x)


def subtract(a, b):
    """a - b, element by element (sizes of 1 stretch to match)."""
    return a - b


def divide(a, b):
    """a / b, element by element (sizes of 1 stretch to match)."""
    return a / b


def scale(x, factor=2.0, offset=0.0):
    """x * factor + offset: every value scaled by one constant and shifted by another."""
    return x * factor + offset


def reduce_axes(x, dims=(-1,), keepdim=False, how="mean"):
    """The mean (or sum) over the listed axes, never the batch axis (0); keepdim keeps
    them, with size 1."""
    if any(d < -x.dim() or d >= x.dim() for d in dims):
        raise ValueError(f"the input has axes 0 to {x.dim() - 1}, got dims {tuple(dims)}")
    axes = sorted({d % x.dim() for d in dims})
    if 0 in axes:
        raise ValueError("can't reduce axis 0: that is the batch axis")
    return x.sum(dim=axes, keepdim=keepdim) if how == "sum" else x.mean(dim=axes, keepdim=keepdim)


def slice_axis(x, dim=1, start=0, length=1, step=1):
    """`length` entries of axis `dim` from `start` (negative counts from the end), taking
    every `step`-th: a crop along one axis."""
    if dim == 0 or dim == -x.dim():
        raise ValueError("Slice can't cut axis 0: that is the batch axis")
    size = x.size(dim)
    first = start + size if start < 0 else start
    last = first + (length - 1) * step
    if not 0 <= first < size or last >= size:
        raise ValueError(f"Slice: {length} entries from {start} every {step} do not fit "
                         f"axis {dim} of size {size}")
    return x.narrow(dim, first, last - first + 1)[(slice(None),) * (dim % x.dim()) +
                                                    (slice(None, None, step),)]


# --- Normalization -------------------------------------------------------------------

class LastAxesLayerNorm(nn.LayerNorm):
    """nn.LayerNorm over the last `normalized_dims` axes of each sample.

    sample_shape is the input's shape without the batch axis; only its last
    `normalized_dims` entries are used (they size the learned weight and bias)."""

    def __init__(self, sample_shape, normalized_dims=1, eps=1e-5, elementwise_affine=True,
                 bias=True, device=None, dtype=None):
        axes = len(sample_shape)
        if not 1 <= normalized_dims <= axes:
            raise ValueError(f"normalized_dims must be between 1 and {axes}: the input has "
                             f"{axes} axes besides the batch axis")
        super().__init__(tuple(sample_shape)[axes - normalized_dims:], eps=eps,
                         elementwise_affine=elementwise_affine, bias=bias,
                         device=device, dtype=dtype)


# --- Recurrent -----------------------------------------------------------------------

class RNNLayer(nn.RNN):
    """nn.RNN (batch first) returning the whole output sequence (N×T×H, ×2 if
    bidirectional) or the final hidden state (N×H, ×2 if bidirectional); with
    state_output, also the final hidden state of the last layer as a second tensor."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 dropout=0.0, bidirectional=False, returns="sequence", state_output=False,
                 batch_first=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, num_layers=num_layers,
                         nonlinearity=nonlinearity, bias=bias, batch_first=batch_first,
                         dropout=dropout, bidirectional=bidirectional,
                         device=device, dtype=dtype)
        self.returns = returns
        self.state_output = state_output

    def forward(self, x):
        if x.dim() != 3:
            raise ValueError(f"RNN expects batch × time × features (3 axes), got {x.dim()}")
        out, h = super().forward(x)
        if self.returns == "sequence" and not self.state_output:
            return out
        # h: (layers × directions, N, H); keep the top layer's, directions side by side.
        directions = 2 if self.bidirectional else 1
        final = torch.cat(tuple(h[-directions:]), dim=1)
        result = out if self.returns == "sequence" else final
        return (result, final) if self.state_output else result


class LSTMLayer(nn.LSTM):
    """nn.LSTM (batch first) returning the whole output sequence (N×T×H, ×2 if
    bidirectional) or the final hidden state (N×H, ×2 if bidirectional); with
    state_output, also the final hidden state of the last layer as a second tensor."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, dropout=0.0,
                 bidirectional=False, returns="sequence", state_output=False,
                 batch_first=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, num_layers=num_layers, bias=bias,
                         batch_first=batch_first, dropout=dropout,
                         bidirectional=bidirectional, device=device, dtype=dtype)
        self.returns = returns
        self.state_output = state_output

    def forward(self, x):
        if x.dim() != 3:
            raise ValueError(f"LSTM expects batch × time × features (3 axes), got {x.dim()}")
        out, (h, _) = super().forward(x)
        if self.returns == "sequence" and not self.state_output:
            return out
        # h: (layers × directions, N, H); keep the top layer's, directions side by side.
        directions = 2 if self.bidirectional else 1
        final = torch.cat(tuple(h[-directions:]), dim=1)
        result = out if self.returns == "sequence" else final
        return (result, final) if self.state_output else result


class GRULayer(nn.GRU):
    """nn.GRU (batch first) returning the whole output sequence (N×T×H, ×2 if
    bidirectional) or the final hidden state (N×H, ×2 if bidirectional); with
    state_output, also the final hidden state of the last layer as a second tensor."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, dropout=0.0,
                 bidirectional=False, returns="sequence", state_output=False,
                 batch_first=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, num_layers=num_layers, bias=bias,
                         batch_first=batch_first, dropout=dropout,
                         bidirectional=bidirectional, device=device, dtype=dtype)
        self.returns = returns
        self.state_output = state_output

    def forward(self, x):
        if x.dim() != 3:
            raise ValueError(f"GRU expects batch × time × features (3 axes), got {x.dim()}")
        out, h = super().forward(x)
        if self.returns == "sequence" and not self.state_output:
            return out
        # h: (layers × directions, N, H); keep the top layer's, directions side by side.
        directions = 2 if self.bidirectional else 1
        final = torch.cat(tuple(h[-directions:]), dim=1)
        result = out if self.returns == "sequence" else final
        return (result, final) if self.state_output else result


# --- Attention -----------------------------------------------------------------------

class AttentionLayer(nn.MultiheadAttention):
    """nn.MultiheadAttention (batch first) returning only the attended output, N×T×E.

    key defaults to query and value to key, so with one input it is self-attention.
    causal=True stops each position from looking at later ones."""

    def __init__(self, embed_dim, num_heads=4, dropout=0.0, bias=True, causal=False,
                 kdim=None, vdim=None, batch_first=True, device=None, dtype=None):
        super().__init__(embed_dim, num_heads, dropout=dropout, bias=bias, kdim=kdim,
                         vdim=kdim if vdim is None else vdim, batch_first=batch_first,
                         device=device, dtype=dtype)
        self.causal = causal

    def forward(self, query, key=None, value=None):
        if query.dim() != 3:
            raise ValueError(f"attention expects batch × time × features (3 axes), "
                             f"got {query.dim()}")
        key = query if key is None else key
        value = key if value is None else value
        mask = None
        if self.causal:
            t, s = query.size(1), key.size(1)
            mask = torch.ones(t, s, dtype=torch.bool, device=query.device).triu(1)
        return super().forward(query, key, value, attn_mask=mask, need_weights=False)[0]


class PositionalEncoding(nn.Module):
    """Adds a position signal to a batch × time × d_model input so that attention can
    tell positions apart: fixed sine waves ("sinusoidal") or a learned table."""

    def __init__(self, d_model, max_len=512, encoding="sinusoidal", dropout=0.0,
                 device=None, dtype=None):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        if encoding == "learned":
            self.pe = nn.Parameter(0.02 * torch.randn(max_len, d_model, device=device,
                                                      dtype=dtype))
            return
        # Built where it will live: on the meta device (shape inference) the table costs
        # no memory at all, however long max_len is.
        position = torch.arange(max_len, dtype=torch.float32, device=device).unsqueeze(1)
        freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32, device=device)
                         * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model, device=device)
        pe[:, 0::2] = torch.sin(position * freq)
        pe[:, 1::2] = torch.cos(position * freq)[:, : d_model // 2]
        self.register_buffer("pe", pe.to(device=device, dtype=dtype), persistent=False)

    def forward(self, x):
        if x.dim() != 3:
            raise ValueError(f"PositionalEncoding expects batch × time × features "
                             f"(3 axes), got {x.dim()}")
        if x.size(1) > self.pe.size(0):
            raise ValueError(f"the sequence has {x.size(1)} steps but max_len is "
                             f"{self.pe.size(0)}; raise max_len")
        return self.dropout(x + self.pe[: x.size(1)])


# --- Radial basis --------------------------------------------------------------------

class RBF(nn.Module):
    """Radial-basis units on the last axis: unit j gives exp(-‖x − c_j‖² / w_j²) for a
    learned centre c_j and width w_j, so it answers only near its centre (an RBF network
    on 2-D points draws round bumps, where a Linear layer draws straight lines)."""

    def __init__(self, in_features, out_features, device=None, dtype=None):
        super().__init__()
        self.centres = nn.Parameter(torch.randn(out_features, in_features, device=device,
                                                dtype=dtype))
        # The width as its logarithm: it stays positive whatever the optimizer does.
        self.log_widths = nn.Parameter(torch.zeros(out_features, device=device, dtype=dtype))

    def forward(self, x):
        # ‖x − c‖² = ‖x‖² − 2 x·c + ‖c‖², as matrix products (one op each in ONNX too).
        squared = (x * x).sum(-1, keepdim=True) - 2 * (x @ self.centres.t()) + \
            (self.centres * self.centres).sum(-1)
        return torch.exp(-squared.clamp_min(0) * torch.exp(-2 * self.log_widths))


# --- Random --------------------------------------------------------------------------

class RandomNormalLike(nn.Module):
    """Noise shaped like its input, drawn from N(mean, std²) at every forward pass while
    training (torch's own generator, so a run's seed fixes it); at evaluation time the
    mean itself, unless sample_in_eval. A VAE samples its code with it."""

    def __init__(self, mean=0.0, std=1.0, sample_in_eval=False):
        super().__init__()
        self.mean, self.std, self.sample_in_eval = mean, std, sample_in_eval

    def forward(self, x):
        if self.training or self.sample_in_eval:
            return torch.randn_like(x) * self.std + self.mean
        return torch.full_like(x, self.mean)


# --- Residual shortcut ----------------------------------------------------------------

class Shortcut2d(nn.Module):
    """What a residual block adds back: the input itself when it already fits the main
    path (same channels, stride 1), else a strided 1×1 convolution and a BatchNorm, as in
    ResNet (so one block definition serves a stage's first block and the rest)."""

    def __init__(self, in_channels, out_channels, stride=1, device=None, dtype=None):
        super().__init__()
        self.projects = in_channels != out_channels or stride != 1
        if self.projects:
            self.conv = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False,
                                  device=device, dtype=dtype)
            self.bn = nn.BatchNorm2d(out_channels, device=device, dtype=dtype)

    def forward(self, x):
        return self.bn(self.conv(x)) if self.projects else x

