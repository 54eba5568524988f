"""The run's views side by side in tabs: curves, feature maps, predictions, confusion
matrix, weights and gradients, run history, and the log. Every event of a run goes to
every view (each ignores what it does not draw); a new run resets them."""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtWidgets import QPlainTextEdit, QTabWidget

from gui.insights.confusion_view import ConfusionView
from gui.insights.curves_view import CurvesView
from gui.insights.feature_maps import FeatureMapView
from gui.insights.predictions_view import PredictionsView
from gui.insights.run_history import RunHistoryView
from gui.insights.weights_view import WeightsView


class InsightTabs(QTabWidget):
    def __init__(self, session, runs_dir, graph_name: Callable[[], str], parent=None) -> None:
        super().__init__(parent)
        self.curves = CurvesView()
        self.feature_maps = FeatureMapView(session)
        self.predictions = PredictionsView()
        self.confusion = ConfusionView()
        self.weights = WeightsView(session=session)
        self.runs = RunHistoryView(runs_dir, graph_name, read_now=False)
        self.log_view = QPlainTextEdit(readOnly=True)
        self.log_view.setMaximumBlockCount(5000)
        self.views = [self.curves, self.feature_maps, self.predictions, self.confusion, self.weights]
        for widget, title, tip in (
                (self.curves, "Curves", "loss per step and per epoch, learning rate, metrics"),
                (self.feature_maps, "Feature maps", "what chosen layers make of one validation sample"),
                (self.predictions, "Predictions", "class probabilities, reconstructions, generated samples"),
                (self.confusion, "Confusion", "validation predictions by true class, each epoch"),
                (self.weights, "Weights && gradients", "weight histograms over time, gradient norms per layer"),
                (self.runs, "Runs", "every run of this graph: settings compared, curves overlaid"),
                (self.log_view, "Log", "the run's messages")):
            self.setTabToolTip(self.addTab(widget, title), tip)

    def reset(self) -> None:
        for view in self.views:
            view.reset()
        self.log_view.clear()

    def handle_event(self, ev: dict[str, Any]) -> None:
        for view in self.views:
            view.handle_event(ev)

    def flush(self) -> None:
        """Draw everything now (tests and screenshots; normally each view throttles)."""
        for view in self.views:
            view.flush()
