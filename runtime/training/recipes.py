"""What training means for a graph: the loss, the step, and the metrics of each recipe.

A recipe gets its models and steppers from the trainer and answers three questions:
how to train on a batch, how to score a validation batch, and what the epoch's metrics are.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from runtime.data.bundle import DataBundle
from runtime.training.loss_terms import OutputRoles
from runtime.training.observe import eval_mode
from runtime.training.perplexity import perplexity, unigram_perplexity
from runtime.training.config import TrainConfig
from runtime.training.stepper import Stepper


class RecipeError(ValueError):
    """The graph and the data do not fit this recipe; the message says how."""


def confusion_counts(pred: torch.Tensor, target: torch.Tensor, k: int) -> torch.Tensor:
    """k×k counts (any shape: samples, tokens or pixels), rows the true class, columns the
    predicted one (int64, on the CPU)."""
    index = (target.reshape(-1) * k + pred.reshape(-1)).cpu()
    return torch.bincount(index, minlength=k * k).view(k, k)


def first_output(out: Any) -> torch.Tensor:
    """A graph with several Outputs returns a tuple; training uses the first."""
    return out[0] if isinstance(out, (tuple, list)) else out


class Supervised:
    """Classification, regression, autoencoder and sequence (many-to-one or many-to-many)."""

    monitor = "val_loss"

    def __init__(self, cfg: TrainConfig, model: torch.nn.Module, data: DataBundle,
                 roles: OutputRoles | None = None) -> None:
        self.cfg, self.model, self.data = cfg, model, data
        self.roles = roles or OutputRoles()   # which Output predicts; loss-term Outputs
        kind = cfg.recipe
        if kind == "sequence":
            kind = "classification" if data.task == "classification" else "regression"
        if data.task == "segmentation":
            raise RecipeError(f"dataset {data.name!r} holds a mask (a class per pixel) for "
                              f"every sample: choose recipe segmentation")
        if kind == "classification" and data.task != "classification":
            raise RecipeError(f"the classification recipe needs labelled classes, but dataset "
                              f"{data.name!r} is a {data.task} set; choose recipe regression")
        if kind == "classification" and cfg.loss not in ("cross_entropy", "nll"):
            raise RecipeError(f"loss {cfg.loss!r} does not fit classification; use cross_entropy")
        if kind in ("regression", "autoencoder") and cfg.loss in ("cross_entropy", "nll"):
            raise RecipeError(f"loss {cfg.loss!r} needs class labels; for {kind} use mse or mae")
        self.kind = kind
        # Next-token prediction (N×T labels): perplexity, against the unigram baseline
        # (computed once, from the training split's token frequencies).
        self.per_step = kind == "classification" and data.y_train.dim() == 2
        self.unigram_perplexity = unigram_perplexity(data.y_train, data.y_val, data.num_classes) \
            if self.per_step else None
        self.steppers: dict[str, Stepper] = {}
        self._reset()

    def models(self) -> dict[str, torch.nn.Module]:
        return {"model": self.model}

    # --- training ------------------------------------------------------------------------
    def train_step(self, x: torch.Tensor, y: torch.Tensor, where: str) -> dict[str, float]:
        stepper = self.steppers["model"]
        with stepper.autocast():
            out, terms = self.roles.split(self.model(x))
            loss, out, target = self._loss(out, x, y)
            loss, parts = self.roles.add_terms(loss, terms)
        norm = stepper.step(loss, where)
        metrics = {"loss": stepper.last_loss, **parts}
        if self.kind == "classification":
            metrics["accuracy"] = (out.detach().argmax(1) == target).float().mean()
        if norm is not None:
            metrics["grad_norm"] = norm
        return metrics

    def _loss(self, out: torch.Tensor, x: torch.Tensor, y: torch.Tensor):
        if self.kind == "classification":
            if y.dim() == 2:
                self._check_steps(out, y)
            if out.dim() == 3 and y.dim() == 2:  # many-to-many: N×T×C scores, N×T labels
                out, y = out.reshape(-1, out.shape[-1]), y.reshape(-1)
            self._check_classes(out)
            out = out.float()
            loss = F.nll_loss(out, y) if self.cfg.loss == "nll" else F.cross_entropy(out, y)
            return loss, out, y
        target = x if self.kind == "autoencoder" else y
        if out.shape != target.shape:
            what = "the input (autoencoder)" if self.kind == "autoencoder" else "the targets"
            raise RecipeError(f"the model outputs N×{_dims(out)} but {what} are "
                              f"N×{_dims(target)}: make the last layer produce that shape")
        return _regression_loss(self.cfg.loss, out.float(), target.float()), out, target

    def _check_steps(self, out: torch.Tensor, y: torch.Tensor) -> None:
        """N×T labels (a class per step) need N×T×C scores with the same T."""
        if out.dim() != 3:
            raise RecipeError(f"dataset {self.data.name!r} has a class per step (targets "
                              f"N×{y.shape[1]}) but the model outputs N×{_dims(out)}: keep the "
                              f"time axis (recurrent layers with returns 'sequence') and end "
                              f"with a Linear per step to N×{y.shape[1]}×"
                              f"{self.data.num_classes}")
        if out.shape[1] != y.shape[1]:
            raise RecipeError(f"the model outputs {out.shape[1]} steps of scores but the "
                              f"targets have {y.shape[1]} steps per sample: keep the sequence "
                              "length from input to output")

    def _check_classes(self, logits: torch.Tensor) -> None:
        if logits.dim() != 2:
            raise RecipeError(f"classification needs N×classes scores, but the model outputs "
                              f"N×{_dims(logits)}: end with Flatten and Linear")
        if logits.shape[1] < self.data.num_classes:
            raise RecipeError(f"the model outputs {logits.shape[1]} scores but dataset "
                              f"{self.data.name!r} has {self.data.num_classes} classes: set the "
                              f"last Linear's out_features to {self.data.num_classes}")

    # --- validation ----------------------------------------------------------------------
    def _reset(self) -> None:
        self._sum_loss, self._count, self._abs, self._sq, self._correct = 0.0, 0, 0.0, 0.0, 0
        self._term_sums: dict[str, float] = {}
        self._samples = 0
        n = max(self.data.num_classes, 1)
        self._confusion = torch.zeros(n, n, dtype=torch.long)

    @torch.no_grad()
    def eval_batch(self, x: torch.Tensor, y: torch.Tensor) -> None:
        with self.steppers["model"].autocast():
            out, terms = self.roles.split(self.model(x))
            loss, out, target = self._loss(out, x, y)
            _, parts = self.roles.add_terms(loss, terms)
        n = target.shape[0]           # samples, or tokens when there is a class per step
        self._sum_loss += float(loss) * n
        self._count += n
        for name, value in parts.items():
            if name != "main_loss":
                self._term_sums[name] = self._term_sums.get(name, 0.0) + float(value) * len(x)
        self._samples += len(x)
        if self.kind == "classification":
            pred = out.argmax(1)
            self._correct += int((pred == target).sum())
            k = self._confusion.shape[0]
            inside = pred < k  # a model may have more scores than classes; those miss anyway
            self._confusion += confusion_counts(pred[inside], target[inside], k)
        else:
            diff = (out.float() - target.float()).reshape(n, -1)
            self._abs += float(diff.abs().mean(1).sum())
            self._sq += float(diff.pow(2).mean(1).sum())

    @torch.no_grad()
    def reconstructions(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs, outputs) on the CPU for a few samples, in eval mode: what an autoencoder
        makes of them."""
        with eval_mode(self.model):
            out = self.roles.split(self.model(x))[0].float().cpu()
        return x.float().cpu(), out

    def eval_summary(self) -> dict[str, Any]:
        count = max(self._count, 1)
        result: dict[str, Any] = {"val_loss": self._sum_loss / count}
        if self.per_step:
            result["val_perplexity"] = perplexity(result["val_loss"])
            result["val_unigram_perplexity"] = self.unigram_perplexity
        if self.roles.terms:   # val_loss: the total, as trained; main loss and terms beside
            result["val_main_loss"] = result["val_loss"]
            for term in self.roles.terms:
                mean = self._term_sums.get(term.name, 0.0) / max(self._samples, 1)
                result[f"val_{term.name}"] = mean
                result["val_loss"] += term.weight * mean
            result["loss_terms"] = [t.name for t in self.roles.terms]
        if self.kind == "classification":
            cm = self._confusion
            per_class = (cm.diag().float() / cm.sum(1).clamp_min(1).float()).tolist()
            result["val_accuracy"] = self._correct / count
            result["per_class_accuracy"] = dict(zip(self.data.class_names, per_class))
            result["confusion"] = cm.tolist()
        else:
            result["val_mae"] = self._abs / count
            result["val_rmse"] = (self._sq / count) ** 0.5
        self._reset()
        return result


class Gan:
    """Generator and discriminator trained against each other (non-saturating loss)."""

    monitor = None  # no validation loss means "better" for a GAN; keep the last epoch

    def __init__(self, cfg: TrainConfig, generator: torch.nn.Module,
                 discriminator: torch.nn.Module, data: DataBundle, latent_dim: int,
                 device: torch.device) -> None:
        self.cfg, self.generator, self.discriminator, self.data = cfg, generator, discriminator, data
        self.latent_dim = latent_dim
        self.steppers: dict[str, Stepper] = {}
        seeded = torch.Generator().manual_seed(cfg.seed + 1)
        self.fixed_noise = torch.randn(cfg.gan.samples, latent_dim, generator=seeded).to(device)
        self._sums: dict[str, float] = {}
        self._count = 0

    def models(self) -> dict[str, torch.nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    def train_step(self, x: torch.Tensor, y: torch.Tensor, where: str) -> dict[str, float]:
        n = x.shape[0]
        z = torch.randn(n, self.latent_dim, device=x.device)
        d_step, g_step = self.steppers["discriminator"], self.steppers["generator"]
        with d_step.autocast():
            fake = first_output(self.generator(z))
            if fake.shape[1:] != x.shape[1:]:
                raise RecipeError(f"the generator makes N×{_dims(fake)} samples but the data "
                                  f"is N×{_dims(x)}: make its last layer produce that shape")
            real_score = first_output(self.discriminator(x)).float().reshape(n, -1)
            fake_score = first_output(self.discriminator(fake.detach())).float().reshape(n, -1)
            d_loss = F.binary_cross_entropy_with_logits(real_score, torch.ones_like(real_score)) + \
                F.binary_cross_entropy_with_logits(fake_score, torch.zeros_like(fake_score))
        d_step.step(d_loss, f"{where} (discriminator)")
        with g_step.autocast():
            score = first_output(self.discriminator(fake)).float().reshape(n, -1)
            g_loss = F.binary_cross_entropy_with_logits(score, torch.ones_like(score))
        g_step.step(g_loss, f"{where} (generator)")
        return {"loss": g_step.last_loss, "d_loss": d_step.last_loss,
                "d_real": torch.sigmoid(real_score).mean().detach(),
                "d_fake": torch.sigmoid(fake_score).mean().detach()}

    @torch.no_grad()
    def eval_batch(self, x: torch.Tensor, y: torch.Tensor) -> None:
        n = x.shape[0]
        z = torch.randn(n, self.latent_dim, device=x.device)
        real = torch.sigmoid(first_output(self.discriminator(x)).float()).mean()
        fake = torch.sigmoid(first_output(self.discriminator(first_output(self.generator(z)))).float()).mean()
        for key, value in (("val_d_real", real), ("val_d_fake", fake)):
            self._sums[key] = self._sums.get(key, 0.0) + float(value) * n
        self._count += n

    def eval_summary(self) -> dict[str, Any]:
        result = {k: v / max(self._count, 1) for k, v in self._sums.items()}
        self._sums, self._count = {}, 0
        return result

    @torch.no_grad()
    def samples(self) -> torch.Tensor:
        """The fixed-noise grid: the same noise every epoch, so progress is visible."""
        with eval_mode(self.generator):
            return first_output(self.generator(self.fixed_noise)).float().cpu()


def _regression_loss(name: str, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if name == "mae":
        return F.l1_loss(out, target)
    if name == "smooth_l1":
        return F.smooth_l1_loss(out, target)
    if name == "bce":
        return F.binary_cross_entropy(out.clamp(0, 1), target.clamp(0, 1))
    return F.mse_loss(out, target)


def _dims(t: torch.Tensor) -> str:
    return "×".join(str(d) for d in t.shape[1:]) or "(scalar)"
