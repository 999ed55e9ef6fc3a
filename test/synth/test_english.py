"""Tests for the shared English morphology (espnet_csst.synth.pairs.english)."""

import re

import pytest

from espnet_csst.synth.pairs import english, es_en, zh_en


# --------------------------------------------------------------------------
# Nouns
# --------------------------------------------------------------------------
@pytest.mark.parametrize("singular, plural", [
    # regular: -s, also after a vowel + y and for most -o nouns
    ("dog", "dogs"), ("key", "keys"), ("toy", "toys"), ("photo", "photos"),
    ("piano", "pianos"), ("cafe", "cafes"),
    # -es after a sibilant
    ("bus", "buses"), ("glass", "glasses"), ("box", "boxes"), ("watch", "watches"),
    ("brush", "brushes"),
    # consonant + y -> -ies
    ("city", "cities"), ("strawberry", "strawberries"), ("butterfly", "butterflies"),
    # multi-word nouns inflect their last word
    ("police officer", "police officers"), ("ice cream", "ice creams"),
    ("living room", "living rooms"),
])
def test_regular_plural(singular, plural):
    assert english.plural(singular) == plural


@pytest.mark.parametrize("singular, plural", [
    ("man", "men"), ("woman", "women"), ("child", "children"), ("person", "people"),
    ("foot", "feet"), ("tooth", "teeth"), ("mouse", "mice"), ("goose", "geese"),
    ("sheep", "sheep"), ("fish", "fish"), ("knife", "knives"), ("wife", "wives"),
    ("wolf", "wolves"), ("shelf", "shelves"), ("scarf", "scarves"),
    ("potato", "potatoes"), ("tomato", "tomatoes"), ("mango", "mangoes"),
    # a compound listed as a whole: its last word is no separate noun
    ("bookshelf", "bookshelves"),
])
def test_irregular_plural(singular, plural):
    assert english.plural(singular) == plural


def test_irregular_plural_of_the_last_word_of_a_compound():
    assert english.plural("police woman") == "police women"


# --------------------------------------------------------------------------
# Verbs
# --------------------------------------------------------------------------
@pytest.mark.parametrize("verb, third", [
    ("eat", "eats"), ("play", "plays"), ("study", "studies"), ("fly", "flies"),
    ("watch", "watches"), ("fix", "fixes"), ("wash", "washes"), ("kiss", "kisses"),
    ("go", "goes"), ("do", "does"), ("have", "has"), ("be", "is"),
    ("look for", "looks for"), ("get dressed", "gets dressed"),
    ("take care of", "takes care of"),
])
def test_third_singular(verb, third):
    assert english.third_singular(verb) == third


@pytest.mark.parametrize("verb, past", [
    # irregular
    ("eat", "ate"), ("go", "went"), ("buy", "bought"), ("hang", "hung"), ("cost", "cost"),
    ("put", "put"), ("sit", "sat"), ("win", "won"), ("forget", "forgot"), ("be", "was"),
    # doubled final consonant
    ("stop", "stopped"), ("plan", "planned"), ("chat", "chatted"), ("hug", "hugged"),
    ("prefer", "preferred"),
    # regular: -d after -e, -ied after consonant + y, -ed otherwise
    ("dance", "danced"), ("study", "studied"), ("play", "played"), ("visit", "visited"),
    ("travel", "traveled"), ("open", "opened"),
    # multi-word verbs inflect their first word
    ("look for", "looked for"), ("get dressed", "got dressed"), ("wake up", "woke up"),
    ("fall asleep", "fell asleep"), ("take care of", "took care of"),
])
def test_past(verb, past):
    assert english.past(verb) == past


@pytest.mark.parametrize("verb, ing", [
    ("eat", "eating"), ("play", "playing"), ("study", "studying"), ("visit", "visiting"),
    # doubled final consonant
    ("run", "running"), ("swim", "swimming"), ("stop", "stopping"), ("sit", "sitting"),
    ("get", "getting"),
    # a silent -e drops, a pronounced one stays; -ie -> -ying
    ("make", "making"), ("dance", "dancing"), ("see", "seeing"), ("agree", "agreeing"),
    ("be", "being"), ("lie", "lying"), ("tie", "tying"),
    ("listen to", "listening to"), ("take a shower", "taking a shower"),
])
def test_ing_form(verb, ing):
    assert english.ing_form(verb) == ing


@pytest.mark.parametrize("verb, participle", [
    ("eat", "eaten"), ("go", "gone"), ("swim", "swum"), ("run", "run"), ("write", "written"),
    ("forget", "forgotten"), ("do", "done"), ("be", "been"), ("get", "gotten"),
    ("wake up", "woken up"), ("take care of", "taken care of"),
    # the same as the past
    ("buy", "bought"), ("make", "made"), ("stop", "stopped"), ("play", "played"),
    ("listen to", "listened to"),
])
def test_past_participle(verb, participle):
    assert english.past_participle(verb) == participle


@pytest.mark.parametrize("verb, person, form", [
    ("eat", "1sg", "eat"), ("eat", "3sg", "eats"), ("eat", "3pl", "eat"),
    ("look for", "3sg", "looks for"), ("look for", "2pl", "look for"),
    ("be", "1sg", "am"), ("be", "3sg", "is"), ("be", "1pl", "are"),
    ("be windy", "3sg", "is windy"),
])
def test_present_agrees_with_person(verb, person, form):
    assert english.present(verb, person) == form


@pytest.mark.parametrize("verb, tense, forms", [
    (english.be, "present", "am are is are are are"),
    (english.be, "past", "was were was were were were"),
    (english.have, "present", "have have has have have have"),
    (english.have, "past", "had had had had had had"),
    (english.do, "present", "do do does do do do"),
    (english.do, "past", "did did did did did did"),
])
def test_be_have_do_by_tense_and_person(verb, tense, forms):
    assert english.PERSONS == ("1sg", "2sg", "3sg", "1pl", "2pl", "3pl")
    assert [verb(tense, person) for person in english.PERSONS] == forms.split()


@pytest.mark.parametrize("call", [
    lambda: english.be("future", "1sg"),
    lambda: english.be("pres", "1sg"),
    lambda: english.have("present", "4sg"),
    lambda: english.do("past", ""),
    lambda: english.present("eat", "third"),
])
def test_unknown_tense_or_person_is_an_error(call):
    with pytest.raises(ValueError):
        call()


def test_doubling_verbs_end_in_consonant_vowel_consonant():
    for verb in english.DOUBLING_VERBS:
        assert re.fullmatch(r"[a-z]*[^aeiou][aeiou][^aeiouwxy]", verb), verb


def test_every_lexicon_verb_inflects_to_plain_words():
    """Every verb of both pairs gets one-token-per-word forms from each function."""
    verbs = [v.en for v in es_en.VERBS] + [v.en for v in zh_en.VERBS]
    for verb in verbs:
        n_words = len(verb.split())
        for inflect in (english.third_singular, english.past, english.ing_form,
                        english.past_participle):
            form = inflect(verb)
            assert re.fullmatch(r"[a-z]+( [a-z]+)*", form), (verb, form)
            assert len(form.split()) == n_words, (verb, form)
            assert form.split()[1:] == verb.split()[1:], (verb, form)


# --------------------------------------------------------------------------
# Articles and numbers
# --------------------------------------------------------------------------
@pytest.mark.parametrize("word, article", [
    ("apple", "an"), ("egg", "an"), ("old", "an"), ("umbrella", "an"), ("Elephant", "an"),
    ("dog", "a"), ("big", "a"),
    # the sound, not the letter, decides
    ("hour", "an"), ("honest", "an"), ("university", "a"), ("useful", "a"), ("euro", "a"),
    ("one", "a"),
])
def test_indefinite_article(word, article):
    assert english.indefinite_article(word) == article


@pytest.mark.parametrize("n, words", [
    (0, "zero"), (1, "one"), (7, "seven"), (12, "twelve"), (13, "thirteen"),
    (19, "nineteen"), (20, "twenty"), (21, "twenty-one"), (40, "forty"),
    (58, "fifty-eight"), (99, "ninety-nine"), (100, "one hundred"),
])
def test_number(n, words):
    assert english.number(n) == words


def test_numbers_below_100_are_one_token():
    assert all(" " not in english.number(n) for n in range(100))


@pytest.mark.parametrize("n", [-1, 101])
def test_number_out_of_range(n):
    with pytest.raises(ValueError):
        english.number(n)
