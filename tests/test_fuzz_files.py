"""Generated graph files, valid and hostile, through the same path every tool takes.

In process: loads → validate → check_document → compile → a real forward pass, with the
contract in tests/fuzz_harness.py (only LoadError escapes; valid means it compiles and the
forward pass gives exactly the inferred shapes). A few cases also go through the real CLI
in a subprocess. NODETORCH_FUZZ=slow runs the campaign-sized profile.
"""
from __future__ import annotations

from hypothesis import given, strategies as st

from fuzz_harness import (assert_cli_contract, check_text, nodes_in_text, run_cli,
                          run_cli_in_process, write_case)
from fuzz_settings import fuzz_settings
from graph_strategies import any_document_texts, as_text, hostile_texts, valid_documents


@fuzz_settings(fast=80, slow=6000)
@given(valid_documents(max_layers=6))
def test_random_catalog_graphs_agree_with_their_forward_pass(doc):
    check_text(as_text(doc))


@fuzz_settings(fast=40, slow=1000)
@given(valid_documents(max_layers=4, odd_ids=True))
def test_odd_ids_and_labels_never_break_validation_or_compile(doc):
    check_text(as_text(doc, ascii_only=False))


@fuzz_settings(fast=200, slow=4000)
@given(hostile_texts())
def test_hostile_files_give_a_load_error_or_diagnostics(text):
    check_text(text)


@fuzz_settings(fast=60, slow=1000)
@given(any_document_texts())
def test_the_cli_entry_in_process_exits_0_1_or_2(tmp_path_factory, text):
    path = write_case(tmp_path_factory.mktemp("case") / "case.json", text)
    code, output = run_cli_in_process(path)
    assert_cli_contract(code, output, nodes_in_text(text))


@fuzz_settings(fast=2, slow=100)
@given(st.one_of(hostile_texts(), valid_documents().map(as_text)))
def test_the_real_cli_in_a_subprocess_exits_0_1_or_2(tmp_path_factory, text):
    path = write_case(tmp_path_factory.mktemp("cli") / "case.json", text)
    code, output = run_cli(path)
    assert_cli_contract(code, output, nodes_in_text(text))
