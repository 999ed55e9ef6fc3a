"""Language-independent tree rendering, code-switching and statistics."""

import random

import pytest

from espnet_csst.synth.grammar import (
    Node, Word, can_switch, code_mixing_index, code_switch, get_pair, language_segments, leaf,
    lengths_within, render, switch_points, unique_in_order,
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


def short_tree() -> Node:
    """"comí una manzana" / "I ate an apple": the object NP is the only
    switchable constituent and is too big a share of either sentence."""
    obj = Node("NP", children=[leaf("DET", es="una", en="an"),
                               leaf("N", es="manzana", en="apple")])
    return Node("S", children=[leaf("V", es="comí", en="I ate"), obj])


def no_candidate_tree() -> Node:
    return Node("S", children=[leaf("V", es="llueve", en="it rains"),
                               leaf("ADV", es="mucho", en="a lot")])


@pytest.mark.parametrize("tree, matrix, other, expected", [
    (toy_tree(), "es", "en", True),
    (toy_tree(), "en", "es", True),
    # "comí an apple": 2 of 3 words English, no longer a Spanish matrix
    (short_tree(), "es", "en", False),
    # "I ate una manzana": exactly half Spanish, and half is not a minority
    (short_tree(), "en", "es", False),
    (no_candidate_tree(), "es", "en", False),
])
def test_can_switch_agrees_with_code_switch(tree, matrix, other, expected):
    assert can_switch(tree, matrix, other) is expected
    for seed in range(20):  # whatever the draw, code_switch succeeds iff can_switch
        words = code_switch(tree, matrix, other, random.Random(seed))
        assert (words is not None) is expected


def test_lengths_within():
    t = toy_tree()  # 7 words in both languages
    assert lengths_within(t, ("es", "en"))
    assert lengths_within(t, ("es", "en"), low=7, high=7)
    assert not lengths_within(t, ("es", "en"), high=6)
    assert not lengths_within(t, ("en",), low=8)


def test_unique_in_order_keeps_first_occurrence_and_drops_empty():
    assert unique_in_order(["the", "dog", "", "the", "a", "dog"]) == ["the", "dog", "a"]
    assert unique_in_order(iter(())) == []
