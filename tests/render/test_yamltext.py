"""render.yamltext: the one YAML dumper reads back exactly what it was given."""

from __future__ import annotations

import sys

import pytest
import yaml

from render.yamltext import dump_yaml


def test_layout_key_order_indented_lists_and_literal_blocks():
    text = dump_yaml(
        {"on": {"push": None}, "b": [1, "x"], "a": "line one\nline two\n"}, header="# head\n"
    )
    assert text == ("# head\n'on':\n  push: null\nb:\n  - 1\n  - x\na: |\n  line one\n  line two\n")


def test_repeated_values_are_written_out_not_anchored():
    shared = {"k": "v"}
    assert "&" not in dump_yaml({"a": shared, "b": shared}, header="")


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("a\x85b\nc", 'k: "a\\Nb\\nc"\n'),  # NEL: a YAML 1.1 line break, escaped
        ("a\u2028b", 'k: "a\\Lb"\n'),
        ("a\tb\nc", 'k: "a\\tb\\nc"\n'),
        ("trailing \nspace", 'k: "trailing \\nspace"\n'),
        ("\ufeffbom", 'k: "\\uFEFFbom"\n'),
        ("naïve\nü", "k: |-\n  naïve\n  ü\n"),
    ],
)
def test_strings_a_block_cannot_hold_are_escaped(value: str, written: str):
    assert dump_yaml({"k": value}, header="") == written
    assert yaml.safe_load(written) == {"k": value}


def test_hostile_text_round_trips_as_key_and_value_alone_and_inside_lines():
    # Every code point that is not printable (controls, line and paragraph separators, format
    # characters, unassigned ones; the BMP without surrogates, which no str from a YAML or JSON
    # source holds) and every 61st printable one: no value or key can change the document's
    # structure or come back different.
    codes = [*range(0xD800), *range(0xE000, 0x10000), sys.maxunicode]
    chars = [chr(c) for i, c in enumerate(codes) if not chr(c).isprintable() or i % 61 == 0]
    broken = []
    for char in chars:
        for value in (char, f"a{char}b", f"a{char}\nb\n", f"{char}\n{char}"):
            data = {"k": value, value: [value]}
            if yaml.safe_load(dump_yaml(data, header="")) != data:
                broken.append(value)
    assert broken == []
