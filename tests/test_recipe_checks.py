"""What the recipe trains is what is checked: a GAN's two blocks (not its empty main
graph), and what the loss would apply twice (a Sigmoid before the GAN loss, a Softmax
before cross_entropy) is a warning on that node, with the fix."""
from __future__ import annotations

import contextlib
import io

import pytest

import main as entry
from graph.document import Document
from graph.fileformat import dumps
from graph.model import Graph
from graph.recipe_checks import recipe_warnings
from runtime.recipe_check import check_for_recipe
from tests.graph_builders import chain, sequential
from tests.test_training import gan


def cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = entry.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def write(doc: Document, tmp_path, name="net.json"):
    path = tmp_path / name
    path.write_text(dumps(doc), encoding="utf-8")
    return path


def insert_before_output(graph: Graph, type_id: str, label: str = "") -> str:
    """type_id goes between the Output and what fed it; returns its id."""
    output = next(n for n in graph if n.type == "Output")
    edge = graph.edges_into(output.id)[0]
    graph.disconnect(edge)
    node = graph.add_node(type_id, {}, label=label)
    graph.connect(edge.src, edge.src_port, node.id, "x")
    graph.connect(node.id, "out", output.id, "x")
    return node.id


def classifier(*tail, recipe="classification", loss=None) -> Document:
    doc = sequential("Flatten", ("Linear", {"out_features": 10}), *tail)
    doc.training = {"recipe": recipe, "dataset": "digits", **({"loss": loss} if loss else {})}
    return doc


# --- a GAN is checked as its two blocks ------------------------------------------------------
def test_a_gan_of_blocks_only_validates_and_names_both_models(tmp_path):
    code, out, _ = cli("validate", write(gan(), tmp_path))
    assert code == 0, out
    assert "no Input node" not in out
    assert out.strip().endswith("generator Generator: 7 nodes, 1,282 parameters; "
                                "discriminator Discriminator: 7 nodes, 1,185 parameters")


def test_a_shape_problem_inside_the_generator_is_reported_in_its_block(tmp_path):
    doc = gan()
    # The generator's 2 values per sample cannot be unflattened into 3×3.
    unflatten = insert_before_output(doc.blocks["Generator"], "Unflatten")
    doc.blocks["Generator"].set_params(unflatten, dim=1, unflattened_size=[3, 3])
    errors = check_for_recipe(doc).errors
    assert [(d.block, d.node_id, d.code) for d in errors] == [("Generator", unflatten, "shape")], \
        [d.line() for d in errors]
    code, out, _ = cli("validate", write(doc, tmp_path))
    assert code == 1
    assert out.startswith(f"error: block Generator, node {unflatten} (Unflatten): ")
    assert out.strip().endswith(": 1 problem")


def test_an_unused_block_gets_its_shapes_checked_as_the_model_it_becomes():
    doc = gan()
    disc = doc.blocks["Discriminator"]
    linear = next(n for n in disc if n.type == "Linear")
    # A Conv2d on N×2 data: only shape inference can tell, and only when the block is
    # checked as a model (no Block node uses it, so the document's check never shapes it).
    conv = disc.add_node("Conv2d", {"out_channels": 4})
    edge = disc.edges_into(linear.id)[0]
    disc.disconnect(edge)
    disc.connect(edge.src, edge.src_port, conv.id, "x")
    disc.connect(conv.id, "out", linear.id, "x")
    from runtime.check import check_document
    assert not [d for d in check_document(doc).errors if d.node_id == conv.id]
    errors = check_for_recipe(doc).errors
    assert [(d.block, d.node_id) for d in errors] == [("Discriminator", conv.id)], \
        [d.line() for d in errors]


def test_a_gan_naming_a_block_the_file_lacks_says_which_setting(tmp_path):
    doc = gan()
    doc.training["gan"]["discriminator"] = "Critic"
    code, out, _ = cli("validate", write(doc, tmp_path))
    assert code == 1
    assert ("error: graph: the GAN recipe trains block 'Critic' as its discriminator, but the "
            "file has no block by that name (blocks: 'Discriminator', 'Generator') — set "
            "training.gan.discriminator to the block that is the discriminator, or add it") in out


def test_summary_and_export_code_of_a_gan_file_take_a_part(tmp_path):
    path = write(gan(), tmp_path)
    code, out, err = cli("summary", path, "--part", "discriminator")
    assert code == 0 and "Total parameters: 1,185" in out
    assert "the GAN's discriminator: block Discriminator" in err
    target = tmp_path / "g.py"
    code, out, _ = cli("export-code", path, "--out", target)
    assert code == 0 and "class Generator" in out and "1,282 parameters" in out
    assert "class Generator(nn.Module):" in target.read_text()
    code, _, err = cli("export-code", "lenet5", "--out", tmp_path / "l.py", "--part", "generator")
    assert code == 2 and "--part picks the generator or discriminator of a GAN file" in err
    assert not (tmp_path / "l.py").exists()


def test_the_editor_shows_no_missing_input_for_a_gan_of_blocks(qtbot):
    from gui.session import EditorSession

    doc = gan()
    insert_before_output(doc.blocks["Discriminator"], "Sigmoid")
    session = EditorSession(doc)
    codes = [(d.code, d.block) for d in session.result.diagnostics]
    assert codes == [("sigmoid_before_gan_loss", "Discriminator")]


# --- what the loss would apply twice ----------------------------------------------------------
def test_a_discriminator_ending_in_sigmoid_is_warned_on_that_node_with_the_fix(tmp_path):
    doc = gan()
    sigmoid = insert_before_output(doc.blocks["Discriminator"], "Sigmoid", label="prob")
    [warning] = recipe_warnings(doc)
    assert (warning.code, warning.node_id, warning.block, warning.severity) == (
        "sigmoid_before_gan_loss", sigmoid, "Discriminator", "warning")
    assert "sigmoid(sigmoid(x)), stuck between 0.5 and 0.73" in warning.message
    assert warning.message.startswith("Sigmoid 'prob' ends the discriminator 'Discriminator'")
    assert warning.hint.startswith("remove it: the GAN loss applies the sigmoid itself")
    code, out, _ = cli("validate", write(doc, tmp_path))
    assert code == 0   # a warning: it trains, badly
    assert out.startswith(f"warning: block Discriminator, node {sigmoid} (Sigmoid): Sigmoid 'prob'")


def test_the_sigmoid_is_found_through_reshapes_and_inside_a_block():
    doc = gan()
    disc = doc.blocks["Discriminator"]
    insert_before_output(disc, "Flatten")
    head = doc.add_block("Head", Graph())
    ids = chain(head, ("Input", {"shape": [1], "name": "x"}), "Sigmoid", ("Output", {"name": "p"}))
    block = disc.add_node("Block", {"block": "Head"})
    output = next(n for n in disc if n.type == "Output")
    edge = disc.edges_into(output.id)[0]
    disc.disconnect(edge)
    disc.connect(edge.src, edge.src_port, block.id, "x")
    disc.connect(block.id, "p", output.id, "x")
    [warning] = recipe_warnings(doc)
    assert (warning.block, warning.node_id) == ("Head", ids[1])


def test_a_sigmoid_elsewhere_or_a_generator_ending_in_sigmoid_is_fine():
    doc = gan()
    insert_before_output(doc.blocks["Generator"], "Sigmoid")   # pixels in 0..1: fine
    disc = doc.blocks["Discriminator"]
    insert_before_output(disc, "Identity")
    sigmoid = disc.add_node("Sigmoid", {})   # a Sigmoid on a side branch: not the score
    disc.connect(next(n.id for n in disc if n.type == "Input"), "out", sigmoid.id, "x")
    assert recipe_warnings(doc) == []
    # The side branch leads nowhere (validation says so), but no loss reads it.
    assert [(d.code, d.node_id) for d in check_for_recipe(doc).diagnostics] == [
        ("dead_end", sigmoid.id)]


@pytest.mark.parametrize("recipe", ["classification", "sequence"])
def test_softmax_before_cross_entropy_is_warned(recipe, tmp_path):
    doc = classifier(("Softmax", {}), "Flatten", recipe=recipe)
    softmax = next(n.id for n in doc.graph if n.type == "Softmax")
    [warning] = check_for_recipe(doc).diagnostics
    assert (warning.code, warning.node_id, warning.block) == (
        "softmax_before_cross_entropy", softmax, None)
    assert "sees softmax(softmax(x))" in warning.message
    assert warning.hint.startswith("remove it: cross_entropy takes the raw scores (logits)")


def test_softmax_before_nll_says_use_logsoftmax_and_logsoftmax_is_fine():
    [warning] = recipe_warnings(classifier(("Softmax", {}), loss="nll"))
    assert warning.code == "softmax_before_nll" and "LogSoftmax" in warning.hint
    assert recipe_warnings(classifier(("LogSoftmax", {}), loss="nll")) == []
    assert recipe_warnings(classifier(("LogSoftmax", {}))) == []


def test_no_warning_without_training_settings_or_for_other_recipes():
    doc = classifier(("Softmax", {}))
    doc.training = {}
    assert recipe_warnings(doc) == []   # a plain Softmax model, nothing trains it yet
    assert recipe_warnings(classifier(("Softmax", {}), recipe="regression", loss="mse")) == []
    assert recipe_warnings(classifier(("Softmax", {}), recipe="autoencoder", loss="mse")) == []
    assert recipe_warnings(classifier()) == []


def test_a_softmax_not_last_is_fine_and_a_loss_term_output_is_not_the_loss():
    doc = classifier(("Softmax", {}), ("Linear", {"out_features": 10}))
    assert recipe_warnings(doc) == []
    # An extra Output marked as a loss term is added to the loss, not fed to cross_entropy.
    doc = classifier()
    linear = next(n.id for n in doc.graph if n.type == "Linear")
    softmax = doc.graph.add_node("Softmax", {})
    term = doc.graph.add_node("Output", {"name": "term", "loss_term": True})
    doc.graph.connect(linear, "out", softmax.id, "x")
    doc.graph.connect(softmax.id, "out", term.id, "x")
    assert recipe_warnings(doc) == []
