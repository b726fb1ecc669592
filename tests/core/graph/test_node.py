"""Nodes: their type as a code (files, fingerprints), as text (people), as a label (drawn graphs) and
in bracket notation (run messages); the code reads back; the JSON keys that make a type."""

from __future__ import annotations

import pytest

from core.graph import GraphError, Node

NODES = [
    Node("B"),
    Node("Z", "continuous"),
    Node("C", "categorical", levels=3),
    Node("I", "image", shape=(3, 16, 16)),
    Node("G", "image", shape=(1, 28, 28)),
]


@pytest.mark.parametrize(
    "node, code, text, label, notation",
    zip(
        NODES,
        ["binary", "continuous", "categorical:3", "image:3x16x16", "image:1x28x28"],
        ["binary", "continuous", "categorical (3 levels)", "image 3x16x16", "image 1x28x28"],
        ["bina", "cont", "cat:3", "img 3x16x16", "img 1x28x28"],
        ["binary", "continuous", "categorical[3]", "image[3, 16, 16]", "image[1, 28, 28]"],
        strict=True,
    ),
)
def test_type_as_code_text_label_and_notation(node, code, text, label, notation):
    assert node.type_code() == code
    assert node.type_text() == text
    assert node.type_label() == label
    assert node.type_notation() == notation


@pytest.mark.parametrize("node", NODES)
def test_type_code_reads_back(node):
    extra = (("pos", (1, 2)), ("role", "outcome"))
    assert Node.from_type_code(node.name, node.type_code()) == node
    assert Node.from_type_code(node.name, node.type_code(), extra=extra) == Node(
        node.name, node.type, node.levels, node.shape, extra
    )


@pytest.mark.parametrize(
    "code, message",
    [
        ("categorical:many", "node A: bad type attribute 'categorical:many'"),
        ("image:3x4", "an image node needs shape"),
        ("image:3xax4", "node A: bad type attribute"),
        ("ordinal", "node A: bad type 'ordinal'"),
        ("categorical", "node A: bad type attribute 'categorical'"),
    ],
)
def test_bad_type_codes_are_named(code, message):
    with pytest.raises(GraphError, match=message):
        Node.from_type_code("A", code)


def test_type_fields_drop_free_form_extras():
    node = Node("C", "categorical", levels=3, extra=(("notes", "from the survey"), ("pos", (0, 1))))
    assert Node.type_fields(node.to_json()) == {"name": "C", "type": "categorical", "levels": 3}
    image = Node("I", "image", shape=(1, 4, 4)).with_extra(role="outcome")
    assert Node.type_fields(image.to_json()) == {"name": "I", "type": "image", "shape": [1, 4, 4]}
