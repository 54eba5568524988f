"""Random edit sequences through the editor's own undo commands (gui/commands.py, which
call only model methods), applied without a window.

After every edit: validation and the shape check never raise, and a graph without errors
compiles and its real forward pass gives exactly the inferred shapes. At the end, undoing
every edit in reverse restores the starting file byte for byte (graph.fileformat.dumps).
NODETORCH_FUZZ=slow runs at least 1,000 sequences.
"""
from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from fuzz_harness import assert_forward_matches
from fuzz_settings import SLOW, fuzz_settings
from graph.catalog import SPECS
from graph.fileformat import dumps
from graph.loader import loads
from graph.model import Edge, Node
from graph.validate import validate
from graph_strategies import LAYER_TYPES, as_text, json_values, odd_text, param_value, valid_documents
from gui.commands import AddItems, Connect, MoveNodes, RemoveItems, SetLabel, SetParams
from runtime.check import check_document
from runtime.compile import compile_document

ADDABLE = ["Input", "Output", *LAYER_TYPES]


class EditSequence(RuleBasedStateMachine):
    """One document, edited by random commands kept on an undo stack."""

    @initialize(start=valid_documents(max_layers=3))
    def open_document(self, start):
        self.doc = loads(as_text(start))
        self.graph = self.doc.graph
        self.start_text = dumps(self.doc)
        self.stack = []
        self.compiled = 0

    def _do(self, command) -> None:
        command.redo()
        self.stack.append(command)

    # --- edits ------------------------------------------------------------------------
    @rule(type_id=st.sampled_from(ADDABLE), data=st.data())
    def add_node(self, type_id, data):
        spec = SPECS[type_id]
        params = {p.name: data.draw(param_value(p)) for p in spec.params
                  if data.draw(st.booleans())}
        if type_id in ("Input", "Output"):
            params["name"] = data.draw(st.sampled_from(["x0", "x1", "y0", "y9", "q"]))
        node = Node(self.graph.new_id(), type_id, {**spec.defaults(), **params})
        self._do(AddItems(self.graph, [node], [], f"Add {type_id}"))

    @precondition(lambda self: len(self.graph.nodes) >= 2)
    @rule(data=st.data())
    def connect(self, data):
        src = data.draw(st.sampled_from(sorted(self.graph.nodes)))
        dst = data.draw(st.sampled_from(sorted(self.graph.nodes)))
        outs, ins = self.graph.output_ports(src), self.graph.input_ports(dst)
        if not outs or not ins:
            return
        edge = Edge(src, data.draw(st.sampled_from(outs)), dst, data.draw(st.sampled_from(ins)))
        if self.graph.connect_problem(edge) is None:
            self._do(Connect(self.graph, edge))

    @precondition(lambda self: self.graph.edges)
    @rule(data=st.data())
    def disconnect(self, data):
        edge = data.draw(st.sampled_from(list(self.graph.edges)))
        self._do(RemoveItems(self.graph, [], [edge], "Disconnect"))

    @precondition(lambda self: self.graph.nodes)
    @rule(data=st.data(), wild=st.booleans())
    def set_params(self, data, wild):
        node_id = data.draw(st.sampled_from(sorted(self.graph.nodes)))
        spec = SPECS.get(self.graph.nodes[node_id].type)
        if spec is None or not spec.params:
            return
        p = data.draw(st.sampled_from(spec.params))
        # Mostly values of the right kind; sometimes anything (a hand-edited value).
        value = data.draw(json_values(4) if wild else param_value(p))
        self._do(SetParams(self.graph, node_id, {p.name: value}))

    @precondition(lambda self: self.graph.nodes)
    @rule(data=st.data(), label=odd_text(20))
    def set_label(self, data, label):
        node_id = data.draw(st.sampled_from(sorted(self.graph.nodes)))
        self._do(SetLabel(self.graph, node_id, label))

    @precondition(lambda self: self.graph.nodes)
    @rule(data=st.data(), x=st.floats(-1e4, 1e4), y=st.floats(-1e4, 1e4))
    def move_node(self, data, x, y):
        node_id = data.draw(st.sampled_from(sorted(self.graph.nodes)))
        old = self.graph.nodes[node_id].position
        self._do(MoveNodes(self.graph, {node_id: (old, (x, y))}))

    @precondition(lambda self: self.graph.nodes)
    @rule(data=st.data())
    def remove_node(self, data):
        node_id = data.draw(st.sampled_from(sorted(self.graph.nodes)))
        self._do(RemoveItems(self.graph, [node_id], []))

    @precondition(lambda self: self.stack)
    @rule()
    def undo_one(self):
        self.stack.pop().undo()

    # --- what must hold after every step ----------------------------------------------
    @invariant()
    def validator_and_compiler_agree(self):
        validate(self.doc)
        result = check_document(self.doc)
        if result.ok:
            assert_forward_matches(self.doc, compile_document(self.doc, check=result))
            self.compiled += 1

    def teardown(self):
        if not hasattr(self, "stack"):
            return
        while self.stack:
            self.stack.pop().undo()
        assert dumps(self.doc) == self.start_text


EditSequence.TestCase.settings = fuzz_settings(
    fast=25, slow=1000, stateful_step_count=30 if SLOW else 12)
test_edit_sequences = EditSequence.TestCase
