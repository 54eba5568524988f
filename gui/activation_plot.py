"""The activation preview: activation_curve computes an activation and its derivative with
torch; make_activation_plot / update_activation_plot build and refresh the inspector's plot.
"""
from __future__ import annotations

import html
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt

from graph.spec import NodeSpec
from gui.theme import category_color, current_theme

pg.setConfigOptions(imageAxisOrder="row-major", useOpenGL=False)

PLOT_RANGE = (-5.0, 5.0)
PLOT_POINTS = 201


def activation_curve(spec: NodeSpec, params: dict[str, Any]) -> tuple[Any, Any, Any, str]:
    """(x, f(x), f'(x), title) for an activation on PLOT_RANGE, computed by torch itself.
    Softmax/LogSoftmax are swept over the first of two logits, the other fixed at 0."""
    import torch

    from runtime import targets

    params = dict(params)
    softmax = spec.type in ("Softmax", "LogSoftmax")
    if softmax:
        params["dim"] = -1
    if spec.type == "PReLU":
        params["num_parameters"] = 1  # one slope shows the curve; per-channel ones start equal
    fn = targets.instantiate(spec, params, {})
    x = torch.linspace(*PLOT_RANGE, PLOT_POINTS, dtype=torch.float32, requires_grad=True)
    with torch.enable_grad():
        if softmax:
            logits = torch.stack([x, torch.zeros_like(x)], dim=-1)
            y = fn(logits)[:, 0]
        else:
            y = fn(x)
        (dy,) = torch.autograd.grad(y.sum(), x)
    title = (f"{spec.type}([x, 0])[0]: first of two logits swept, the other fixed at 0"
             if softmax else f"{spec.type} and its derivative")
    return (x.detach().numpy(), y.detach().numpy(), dy.detach().numpy(), title)



def make_activation_plot(spec: NodeSpec) -> tuple[pg.PlotWidget, Any, Any]:
    """(plot, f(x) curve, f'(x) curve): an empty plot for an activation's curve."""
    plot = pg.PlotWidget(background=current_theme().base)
    plot.setMinimumHeight(190)
    plot.setMaximumHeight(230)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.addLegend(offset=(6, 6))
    curve = plot.plot([], [], name="f(x)", pen=pg.mkPen(category_color(spec.category), width=2))
    derivative_curve = plot.plot(
        [], [], name="f′(x)", pen=pg.mkPen("#3b9cff", width=1.5, style=Qt.DashLine))
    return plot, curve, derivative_curve


def update_activation_plot(plot: pg.PlotWidget, curve: Any, derivative_curve: Any,
                           spec: NodeSpec, params: dict[str, Any]) -> None:
    """Draws the activation for these parameters, or says in the title why it cannot."""
    if any(p.check(params.get(p.name, p.default))[1] for p in spec.params):
        plot.setTitle("no curve: a parameter is invalid")
        return
    try:
        x, y, dy, title = activation_curve(spec, params)
    except Exception as exc:  # a preview must never break the inspector
        curve.setData([], [])
        derivative_curve.setData([], [])
        plot.setTitle(f"no curve: {exc}")
        return
    curve.setData(x, y)
    derivative_curve.setData(x, dy)
    plot.setTitle(f"<span style='font-size:8pt'>{html.escape(title, quote=False)}</span>")
