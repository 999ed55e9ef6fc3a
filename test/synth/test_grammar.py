"""Language-independent tree rendering, code-switching and statistics."""

import random

import pytest

from espnet_csst.synth.grammar import (
    Node, Word, code_mixing_index, code_switch, get_pair, language_segments, leaf, render,
    switch_points,
)


def toy_tree() -> Node:
    subj = Node("NP", children=[leaf("DET", es="el", en="the"), leaf("N", es="perro", en="dog"),
                                leaf("ADJ", es="grande", en="big")], order={"en": (0, 2, 1)})
    obj = Node("NP", children=[leaf("DET", es="una", en="a"), leaf("N", es="casa", en="house"),
                               leaf("ADJ", es="roja", en="red")], order={"en": (0, 2, 1)})
    return Node("S", children=[subj, Node("VP", children=[leaf("V", es="ve", en="sees"), obj])])


def test_render_uses_per_language_order():
    t = toy_tree()
    assert [w.text for w in render(t, "es")] == "el perro grande ve una casa roja".split()
    assert [w.text for w in render(t, "en")] == "the big dog sees a red house".split()


def test_code_switch_swaps_whole_constituents_in_matrix_position():
    t = toy_tree()
    seen = set()
    for s in range(50):
        words = code_switch(t, "es", "en", random.Random(s))
        assert words is not None
        text = " ".join(w.text for w in words)
        seen.add(text)
        assert switch_points(words) >= 1
        assert sum(w.lang == "es" for w in words) > len(words) / 2
    assert "el perro grande ve a red house" in seen  # object NP switched, English-internal order
    assert "the big dog ve una casa roja" in seen


def test_cmi_and_switch_points():
    words = [Word("el", "es"), Word("dog", "en"), Word("come", "es"), Word("mucho", "es")]
    assert code_mixing_index(words) == pytest.approx(25.0)
    assert switch_points(words) == 2
    assert code_mixing_index([Word("a", "en"), Word("b", "en")]) == 0.0
    assert language_segments(words) == [("es", [0]), ("en", [1]), ("es", [2, 3])]


def test_unknown_pair_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown language pair 'xx-yy'; available: es-en, zh-en"):
        get_pair("xx-yy")


def test_node_must_be_leaf_or_inner():
    with pytest.raises(ValueError):
        Node("NP")
