"""File › Open Template…'s dialog driven through its real widgets: family headings in
teaching order, the filter box, keyboard and mouse choice, the details pane with counts from
the real check, the rendered preview, and libraries with broken or untagged files."""
from __future__ import annotations

import json
from concurrent.futures import Future

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog

import graph.templates as templates
from graph.templates import find_template, list_templates
from gui import template_counts as counts
from gui import template_library as library
from gui.template_rows import (COUNT_ROLE, DESCRIPTION_ROLE, FACTS_ROLE, FAMILY_ROLE,
                               compact_count)
from gui.templates_dialog import NAME_ROLE, TemplatesDialog
from gui.theme import category_color, current_theme

BUNDLED = templates.TEMPLATES_DIR  # before any test points the library elsewhere
LENET_DESCRIPTION = json.loads((BUNDLED / "lenet5.json").read_text(encoding="utf-8"))[
    "description"]


def open_dialog(qtbot) -> TemplatesDialog:
    dlg = TemplatesDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    return dlg


@pytest.fixture
def dialog(qtbot):
    return open_dialog(qtbot)


def write_template(folder, key: str, name: str, family: str | None, source: str = "mlp",
                   description: str | None = None, dataset: str | None = None):
    """A copy of a bundled template under another name and family (None: no family key)."""
    data = json.loads((BUNDLED / f"{source}.json").read_text(encoding="utf-8"))
    data["name"] = name
    data["description"] = description or f"Family sentence for {name}. The idea of {name}."
    data.pop("family", None)
    if dataset is not None:
        data["training"]["dataset"] = {"name": dataset}
    if family is not None:
        data["family"] = family
    path = folder / f"{key}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def library_dir(tmp_path, monkeypatch):
    folder = tmp_path / "templates"
    folder.mkdir()
    monkeypatch.setattr(templates, "TEMPLATES_DIR", folder)
    return folder


def item_named(dlg: TemplatesDialog, name: str):
    matches = [item for item in dlg.items() if item.data(0, NAME_ROLE) == name]
    assert len(matches) == 1, [i.text(0) for i in dlg.items()]
    return matches[0]


def shown(dlg: TemplatesDialog) -> list[str]:
    """What the list shows, top to bottom: '# Family' for a heading, else the name."""
    rows = []
    for i in range(dlg.list.topLevelItemCount()):
        item = dlg.list.topLevelItem(i)
        if not item.isHidden():
            family = item.data(0, FAMILY_ROLE)
            rows.append(f"# {family}" if family else item.data(0, NAME_ROLE))
    return rows


def click_item(dlg: TemplatesDialog, name: str, double: bool = False) -> None:
    item = item_named(dlg, name)
    dlg.list.scrollToItem(item)
    centre = dlg.list.visualItemRect(item).center()
    QTest.mouseClick(dlg.list.viewport(), Qt.LeftButton, Qt.NoModifier, centre)
    if double:
        QTest.mouseDClick(dlg.list.viewport(), Qt.LeftButton, Qt.NoModifier, centre)


def selected_name(dlg: TemplatesDialog) -> str | None:
    chosen = dlg.list.selectedItems()
    assert len(chosen) <= 1 and (not chosen or chosen[0] is dlg.list.currentItem())
    return chosen[0].data(0, NAME_ROLE) if chosen else None


# --- grouping ---------------------------------------------------------------------------
def test_families_in_teaching_order_each_with_its_templates(qtbot, library_dir):
    write_template(library_dir, "zeta", "Zeta net", "Convolutional")
    write_template(library_dir, "alpha", "Alpha net", "Convolutional")
    write_template(library_dir, "rbf", "Bumps", "Radial basis")
    write_template(library_dir, "mlp", "Plain MLP", "Feedforward")
    write_template(library_dir, "untagged", "No tag", None)
    write_template(library_dir, "gan", "Forger", "Generative")
    dlg = open_dialog(qtbot)
    assert shown(dlg) == ["# Feedforward", "Plain MLP", "# Convolutional", "Alpha net",
                          "Zeta net", "# Generative", "Forger", "# Radial basis", "Bumps",
                          "# Other", "No tag"]
    assert [h.data(0, COUNT_ROLE) for h in dlg.headings()] == [1, 2, 1, 1, 1]
    assert dlg.count_label.text() == "6 templates in 5 families"
    # Headings cannot be chosen: not selectable, not enabled (arrow keys pass over them).
    assert all(h.flags() == Qt.NoItemFlags for h in dlg.headings())


def test_real_library_lists_every_template_once_under_its_family(dialog):
    infos = list_templates()
    files = list(templates.TEMPLATES_DIR.glob("*.json"))
    assert len(infos) >= 2 and len(dialog.items()) == len(files)
    rows = shown(dialog)
    families = [r[2:] for r in rows if r.startswith("# ")]
    order = library.families()
    assert families == sorted(families, key=order.index)  # teaching order, Other last
    for info in infos:
        index = rows.index(info.name)
        heading = next(r for r in reversed(rows[:index]) if r.startswith("# "))
        assert heading == f"# {info.family}", info.name


def test_a_template_without_family_lands_in_other_after_the_known_families(qtbot, library_dir):
    write_template(library_dir, "plain", "Plain", "Feedforward")
    write_template(library_dir, "untagged", "Untagged", None)
    write_template(library_dir, "odd", "Odd", "Not a family")  # the library calls it Other
    dlg = open_dialog(qtbot)
    assert shown(dlg) == ["# Feedforward", "Plain", "# Other", "Odd", "Untagged"]
    click_item(dlg, "Untagged")
    assert "Other" in dlg.family_label.text()


def test_unknown_family_names_sort_after_known_and_before_other():
    assert library.family_rank("Feedforward") < library.family_rank("Radial basis") \
        < library.family_rank("Graph nets") < library.family_rank("Zoo") \
        < library.family_rank("Other")


# --- what a template shows --------------------------------------------------------------
def test_rows_show_the_idea_and_the_facts(dialog):
    dialog.count_all()
    lenet = item_named(dialog, "LeNet-5")
    family_part, idea = library.split_description(LENET_DESCRIPTION, "Convolutional")
    assert family_part.startswith("Convolutional networks") and family_part.endswith(".")
    assert idea.startswith("LeCun's classic") and lenet.data(0, DESCRIPTION_ROLE) == idea
    assert lenet.toolTip(0) == LENET_DESCRIPTION
    assert lenet.data(0, FACTS_ROLE) == "digits · 61.7 k params"
    # The 133 M-parameter VGG-11 is counted on the meta device: no weights exist.
    vgg = item_named(dialog, "VGG-11")
    assert vgg.data(0, FACTS_ROLE).endswith("· 133 M params")


def test_selecting_lenet_shows_its_description_and_facts(dialog):
    click_item(dialog, "LeNet-5")
    assert dialog.ok_button.isEnabled() and selected_name(dialog) == "LeNet-5"
    assert dialog.name_label.text() == "LeNet-5"
    assert ">Convolutional<" in dialog.family_label.text()
    text = dialog.description_label.text()
    assert "<i>Convolutional networks slide" in text and "LeCun&#x27;s classic" in text
    assert dialog.dataset_label.text() == "digits"
    assert dialog.recipe_label.text() == "classification"
    assert dialog.inputs_label.text() == "x: 1×32×32"
    assert dialog.layers_label.text() == "Conv2d ×2, ReLU ×4, MaxPool2d ×2, Flatten, Linear ×3"
    assert dialog.stats_label.text() == "14 nodes · 61,706 parameters"
    training = json.loads(find_template("lenet5").read_text(encoding="utf-8"))["training"]
    assert dialog.training_label.text() == (f"{training['epochs']} epochs · batch "
                                            f"{training['batch_size']} · adam, lr 0.001")
    assert not dialog.error_label.isVisible() and not dialog.hint_label.isVisible()


def test_selecting_vgg11_counts_its_parameters_exactly(dialog):
    assert dialog.select_template("vgg11")
    assert dialog.stats_label.text().endswith("132,863,336 parameters")
    assert dialog.inputs_label.text() == "x: 3×224×224"


def test_the_preview_is_a_rendered_non_interactive_picture(dialog, qtbot):
    click_item(dialog, "LeNet-5")
    view = dialog.preview
    assert view.isVisible() and not view.isInteractive() and view.scene() is not None
    assert len(view.scene().nodes) == 14
    shown_rect = view.mapToScene(view.viewport().rect()).boundingRect()
    assert shown_rect.contains(view.scene().itemsBoundingRect())

    qtbot.wait(20)
    image: QImage = view.viewport().grab().toImage()
    colours = {image.pixel(x, y) for x in range(0, image.width(), 2)
               for y in range(0, image.height(), 2)}
    assert len(colours) > 8, len(colours)  # background and category-coloured node blocks
    assert image.pixelColor(2, 2).name() in (current_theme().background.name(),
                                            current_theme().grid.name())
    conv = category_color("Convolution")

    def near(c, ref, tol=24):
        return all(abs(a - b) <= tol for a, b in
                   zip((c.red(), c.green(), c.blue()), (ref.red(), ref.green(), ref.blue())))
    assert any(near(image.pixelColor(x, y), conv)
               for x in range(image.width()) for y in range(image.height()))

    conv1 = view.scene().nodes["conv1"]
    before = conv1.pos()
    at = view.mapFromScene(conv1.mapToScene(conv1.boundingRect().center()))
    QTest.mousePress(view.viewport(), Qt.LeftButton, Qt.NoModifier, at)
    QTest.mouseMove(view.viewport(), at + QPoint(40, 10))
    QTest.mouseRelease(view.viewport(), Qt.LeftButton, Qt.NoModifier, at + QPoint(40, 10))
    assert view.scene().selectedItems() == [] and conv1.pos() == before


def test_list_counts_arrive_from_the_helper_process(qtbot, library_dir, monkeypatch):
    """Counting runs torch's meta tracing: in the editor's helper process, never on a
    thread of the editor beside its own torch work."""
    write_template(library_dir, "a", "Digits MLP", "Feedforward")
    write_template(library_dir, "b", "Conv", "Convolutional", source="lenet5")
    jobs = []
    real_submit_to = counts.background.submit_to

    def recording(callback, fn, *args):
        jobs.append((fn, args))
        return real_submit_to(callback, fn, *args)
    monkeypatch.setattr(counts.background, "submit_to", recording)
    dlg = open_dialog(qtbot)
    conv = item_named(dlg, "Conv")
    assert conv.data(0, FACTS_ROLE) == "digits"  # before its count arrives
    qtbot.waitUntil(lambda: conv.data(0, FACTS_ROLE) == "digits · 61.7 k params", timeout=60_000)
    assert item_named(dlg, "Digits MLP").data(0, FACTS_ROLE) == "digits · 8.97 k params"
    # The template selected on opening is counted with its details; the rest by the helper.
    assert jobs and all(fn is library.parameter_count for fn, _ in jobs)


def test_closing_stops_the_counting_and_drops_late_counts(qtbot, library_dir, monkeypatch):
    for n in range(6):
        write_template(library_dir, f"t{n}", f"Net {n}", "Feedforward")
    jobs = []

    def held(callback, fn, *args):   # jobs that finish only when the test says
        future = Future()
        jobs.append((callback, future))
        return future
    monkeypatch.setattr(counts.background, "submit_to", held)
    dlg = TemplatesDialog()
    dlg.show()
    qtbot.waitUntil(lambda: len(jobs) >= 5, timeout=10_000)   # all but the selected one
    first_callback, first = jobs[0]
    assert first.set_running_or_notify_cancel()   # the helper is counting the first
    delivered = []
    dlg._counter.counted.connect(lambda path, n: delivered.append(path))
    dlg.reject()
    assert all(f.cancelled() for _, f in jobs[1:])   # the rest never start
    first.set_result(123)
    first_callback(first)
    assert delivered == []   # the count for the closed dialog is dropped, not delivered


# --- filter and keyboard ----------------------------------------------------------------
def test_filter_narrows_by_name_family_description_and_dataset(qtbot, library_dir):
    write_template(library_dir, "a", "Spiral MLP", "Feedforward",
                   description="Feedforward nets map inputs. Folds the plane.")
    write_template(library_dir, "b", "Tiny CNN", "Convolutional", source="lenet5",
                   description="Convolutional nets slide filters. Pooling shifts.")
    write_template(library_dir, "c", "Seq reader", "Recurrent", dataset="waveforms",
                   description="Recurrent nets read sequences. Gates fight vanishing gradients.")
    dlg = open_dialog(qtbot)
    assert selected_name(dlg) == "Spiral MLP"  # the first template is selected at once
    assert dlg.focusWidget() is dlg.filter_edit

    QTest.keyClicks(dlg.filter_edit, "cnn")
    assert shown(dlg) == ["# Convolutional", "Tiny CNN"]
    assert selected_name(dlg) == "Tiny CNN" and dlg.name_label.text() == "Tiny CNN"
    assert dlg.count_label.text() == "1 of 3 templates match"
    assert dlg.headings()[0].data(0, COUNT_ROLE) == 0  # Feedforward, hidden

    for query, expected in (("RECURRENT", ["Seq reader"]), ("vanishing gates", ["Seq reader"]),
                            ("waveforms", ["Seq reader"]),  # its dataset
                            ("digits", ["Spiral MLP", "Tiny CNN"]),
                            ("net", ["Spiral MLP", "Tiny CNN", "Seq reader"])):
        dlg.filter_edit.setText(query)
        assert [r for r in shown(dlg) if not r.startswith("# ")] == expected, query

    dlg.filter_edit.setText("transformer")
    assert shown(dlg) == [] and selected_name(dlg) is None
    assert not dlg.ok_button.isEnabled() and dlg.selected_path() is None
    assert dlg.count_label.text() == "No template matches “transformer”."
    assert dlg.hint_label.isVisible() and "Esc" in dlg.hint_label.text()
    QTest.keyClick(dlg.filter_edit, Qt.Key_Escape)  # clears the filter; the dialog stays
    assert dlg.filter_edit.text() == "" and dlg.isVisible() and len(shown(dlg)) == 6


def test_arrow_keys_pass_over_headings_and_enter_opens(qtbot, library_dir):
    write_template(library_dir, "a", "First", "Feedforward")
    second = write_template(library_dir, "b", "Second", "Convolutional")
    write_template(library_dir, "c", "Third", "Recurrent")
    dlg = open_dialog(qtbot)
    assert selected_name(dlg) == "First"
    QTest.keyClick(dlg.filter_edit, Qt.Key_Down)  # from the filter box
    assert selected_name(dlg) == "Second"
    dlg.list.setFocus()
    QTest.keyClick(dlg.list, Qt.Key_Down)          # in the list itself
    assert selected_name(dlg) == "Third"
    QTest.keyClick(dlg.list, Qt.Key_Up)
    assert selected_name(dlg) == "Second"
    QTest.keyClick(dlg.list, Qt.Key_Up)
    assert selected_name(dlg) == "First"
    QTest.keyClick(dlg.list, Qt.Key_Up)            # nothing above the first heading
    assert selected_name(dlg) == "First"
    # Typing in the list goes to the filter.
    QTest.keyClicks(dlg.list, "sec")
    assert dlg.filter_edit.text() == "sec" and dlg.focusWidget() is dlg.filter_edit
    assert selected_name(dlg) == "Second"
    dlg.list.setFocus()
    QTest.keyClick(dlg.list, Qt.Key_Backspace)    # so does Backspace
    assert dlg.filter_edit.text() == "se" and selected_name(dlg) == "Second"
    with qtbot.waitSignal(dlg.accepted, timeout=2000):
        QTest.keyClick(dlg.filter_edit, Qt.Key_Return)
    assert dlg.selected_path() == second


def test_many_templates_stay_navigable_and_scroll_into_view(qtbot, library_dir):
    families = library.families()
    for n in range(30):
        write_template(library_dir, f"t{n:02d}", f"Net {n:02d}", families[n % len(families)])
    dlg = open_dialog(qtbot)
    assert len(dlg.items()) == 30 and len(dlg.headings()) == len(families)
    for _ in range(40):  # past the end: stays on the last
        QTest.keyClick(dlg.filter_edit, Qt.Key_Down)
    # Family by family, then by name: "Net 23" (the Others) comes last.
    in_order = sorted(range(30), key=lambda n: (n % len(families), n))
    assert [i.data(0, NAME_ROLE) for i in dlg.items()] == [f"Net {n:02d}" for n in in_order]
    last = dlg.visible_items()[-1]
    assert dlg.list.currentItem() is last and last.data(0, NAME_ROLE) == "Net 23"
    assert dlg.list.viewport().rect().contains(dlg.list.visualItemRect(last))
    QTest.keyClick(dlg.filter_edit, Qt.Key_PageUp)
    assert dlg.visible_items().index(dlg.list.currentItem()) == 24
    QTest.keyClicks(dlg.filter_edit, "29")
    assert [i.data(0, NAME_ROLE) for i in dlg.visible_items()] == ["Net 29"]
    assert selected_name(dlg) == "Net 29"


# --- choosing ---------------------------------------------------------------------------
def test_open_returns_the_selected_path(dialog, qtbot):
    click_item(dialog, "LeNet-5")
    qtbot.mouseClick(dialog.ok_button, Qt.LeftButton)
    assert dialog.result() == QDialog.Accepted
    assert dialog.selected_path() == find_template("lenet5")


def test_double_click_accepts_and_cancel_rejects(qtbot):
    dlg = open_dialog(qtbot)
    with qtbot.waitSignal(dlg.accepted, timeout=2000):
        click_item(dlg, "MLP", double=True)
    assert dlg.selected_path() == find_template("mlp")

    other = open_dialog(qtbot)
    with qtbot.waitSignal(other.rejected, timeout=2000):
        qtbot.mouseClick(other.buttons.button(other.buttons.StandardButton.Cancel),
                         Qt.LeftButton)
    assert other.result() == QDialog.Rejected


def test_clicking_a_heading_chooses_nothing(qtbot, library_dir):
    write_template(library_dir, "a", "Only", "Feedforward")
    dlg = open_dialog(qtbot)
    heading = dlg.headings()[0]
    QTest.mouseDClick(dlg.list.viewport(), Qt.LeftButton, Qt.NoModifier,
                      dlg.list.visualItemRect(heading).center())
    assert dlg.result() != QDialog.Accepted and selected_name(dlg) == "Only"


# --- broken libraries -------------------------------------------------------------------
def test_broken_templates_show_their_error_instead_of_crashing(qtbot, library_dir):
    good = write_template(library_dir, "lenet5", "LeNet-5", "Convolutional", source="lenet5")
    text = (BUNDLED / "mlp.json").read_text(encoding="utf-8")
    (library_dir / "mlp.json").write_text(text[: len(text) // 2], encoding="utf-8")  # truncated
    broken = json.loads(text)
    broken.update(graph=5, name="Not a graph", family="Feedforward")  # JSON, but no graph
    (library_dir / "wrong.json").write_text(json.dumps(broken), encoding="utf-8")

    dlg = open_dialog(qtbot)
    assert shown(dlg) == ["# Feedforward", "Not a graph", "# Convolutional", "LeNet-5",
                          "# Other", "mlp"]  # the unreadable file is still listed
    assert item_named(dlg, "mlp").data(0, DESCRIPTION_ROLE) == "(cannot be read)"
    dlg.count_all()
    assert item_named(dlg, "mlp").data(0, FACTS_ROLE) == "cannot be opened"
    assert item_named(dlg, "Not a graph").data(0, FACTS_ROLE) == "cannot be opened"

    click_item(dlg, "mlp")
    assert dlg.error_label.isVisible()
    error = dlg.error_label.text()
    assert error.startswith("This template cannot be opened:") and "mlp.json" in error
    assert not dlg.ok_button.isEnabled() and dlg.selected_path() is None
    assert dlg.preview.scene() is None and not dlg.facts.isVisible()
    dlg.accept()  # even called directly, a broken template is not accepted
    assert dlg.result() != QDialog.Accepted and dlg.isVisible()

    click_item(dlg, "Not a graph")
    assert "cannot be opened" in dlg.error_label.text() and "wrong.json" in dlg.error_label.text()
    assert not dlg.ok_button.isEnabled()

    click_item(dlg, "LeNet-5")  # the valid copy in the same folder still works
    assert not dlg.error_label.isVisible()
    assert dlg.stats_label.text() == "14 nodes · 61,706 parameters"
    assert dlg.ok_button.isEnabled() and dlg.selected_path() == good


def test_an_empty_or_failing_library_says_so(qtbot, library_dir, monkeypatch):
    dlg = open_dialog(qtbot)
    assert dlg.items() == [] and dlg.count_label.text() == "No templates found."
    assert str(library_dir) in dlg.hint_label.text() and not dlg.ok_button.isEnabled()

    write_template(library_dir, "a", "Still listed", "Feedforward")

    def fails():
        raise RuntimeError("bug in the library")
    monkeypatch.setattr(templates, "list_templates", fails)
    dlg = open_dialog(qtbot)  # the files are listed all the same, as unreadable
    assert shown(dlg) == ["# Other", "a"]


# --- the pieces -------------------------------------------------------------------------
@pytest.mark.parametrize("n, text", [(0, "0"), (999, "999"), (8970, "8.97 k"),
                                     (61_706, "61.7 k"), (11_689_512, "11.7 M"),
                                     (132_863_336, "133 M"), (2_500_000_000, "2.5 G")])
def test_compact_count(n, text):
    assert compact_count(n) == text


def test_split_description_and_layer_summary():
    split = library.split_description
    assert split("Recurrent nets  do X. This one does Y. And Z.", "Recurrent") == (
        "Recurrent nets do X.", "This one does Y. And Z.")
    assert split("Radial-basis networks do X. 16 bumps.", "Radial basis") == (
        "Radial-basis networks do X.", "16 bumps.")
    assert split("GANs pit two nets. Here: digits.", "Generative") == (
        "GANs pit two nets.", "Here: digits.")
    # A first sentence that is not about the family is part of the template's own text.
    assert split("ResNet-18 (He et al.) at full size. Residual nets add.", "Convolutional") \
        == ("", "ResNet-18 (He et al.) at full size. Residual nets add.")
    assert split("Convolutional, in one sentence.", "Convolutional") == (
        "", "Convolutional, in one sentence.")
    from graph.loader import load_file
    doc = load_file(find_template("mlp"))
    assert library.layers_text(doc.graph) == "Flatten, Linear ×3, ReLU ×2"
    assert library.layers_text(doc.graph, most=2) == "Flatten, Linear ×3, and 1 more"
    assert library.inputs_text(doc.graph) == "x: 1×8×8"
