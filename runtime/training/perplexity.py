"""Perplexity for next-token (many-to-many) classification: exp of the mean per-token
cross-entropy, i.e. the number of equally likely tokens the model is as unsure as. The
unigram baseline is the perplexity of always predicting the training set's token
frequencies: a model that learned nothing about context scores about that."""
from __future__ import annotations

import math

import torch

# exp() of more than this overflows a float; a loss that large means "no better than noise".
_MAX_LOG = 700.0


def perplexity(mean_cross_entropy: float) -> float:
    """exp(mean per-token cross-entropy in nats)."""
    return math.exp(min(float(mean_cross_entropy), _MAX_LOG))


def unigram_perplexity(train_targets: torch.Tensor, val_targets: torch.Tensor,
                       num_classes: int) -> float:
    """The perplexity on `val_targets` of predicting every token with its frequency among
    `train_targets`, add-one smoothed (a token never seen in training costs a finite
    amount). With no validation targets, on the training targets themselves."""
    train = train_targets.reshape(-1).long().cpu()
    scored = val_targets.reshape(-1).long().cpu() if val_targets.numel() else train
    size = max(int(num_classes), int(train.max()) + 1 if train.numel() else 1,
               int(scored.max()) + 1 if scored.numel() else 1)
    counts = torch.bincount(train, minlength=size).double() + 1.0
    log_p = (counts / counts.sum()).log()
    if not scored.numel():
        return float("nan")
    return perplexity(float(-log_p[scored].mean()))
