"""Tests for the Mandarin-English parallel grammar (espnet_csst.synth.pairs.zh_en)."""

import random
import re

import pytest

from espnet_csst.synth import grammar
from espnet_csst.synth.grammar import (
    code_mixing_index, code_switch, language_segments, render, switch_points,
)
from espnet_csst.synth.pairs import english
from espnet_csst.synth.pairs.zh_en import (
    ADJECTIVES,
    FUTURE_TIME_WORDS,
    MEASURE_WORDS,
    NOUNS,
    PAST_TIME_WORDS,
    VERBS,
    MandarinEnglish,
    Predicate,
    en_experiential,
    make_vp,
    nouns_with,
    verb_group,
    zh_number,
)

N_SENTENCES = 2000

CJK_WORD = re.compile(r"[\u4e00-\u9fff]+")
EN_WORD = re.compile(r"[a-zA-Z'-]+")
ZH_NUMERAL = re.compile(r"[一二三四五六七八九十两]+")


@pytest.fixture(scope="module")
def pair():
    return MandarinEnglish()


@pytest.fixture(scope="module")
def trees(pair):
    rng = random.Random(20240611)
    return [pair.sentence(rng) for _ in range(N_SENTENCES)]


def words(node, lang):
    return [w.text for w in render(node, lang)]


def leaves(node):
    return [n for n in node.iter_nodes() if n.words is not None]


# --------------------------------------------------------------------------
# Interface and determinism
# --------------------------------------------------------------------------
def test_registered_pair_attributes():
    pair = grammar.get_pair("zh-en")
    assert isinstance(pair, MandarinEnglish)
    assert pair.name == "zh-en"
    assert (pair.src_lang, pair.tgt_lang) == ("zh", "en")
    assert pair.voices == {"zh": "cmn", "en": "en-us"}
    assert pair.languages == ("zh", "en")


def _digest(seed, n=200):
    pair = MandarinEnglish()
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        root = pair.sentence(rng)
        mixed = code_switch(root, "zh", "en", rng)
        lines.append(" ".join(words(root, "zh")) + " | " + " ".join(words(root, "en")) + " | "
                     + (" ".join(f"{w.text}/{w.lang}" for w in mixed) if mixed else "-"))
    return lines


def test_same_seed_same_sentences():
    assert _digest(7) == _digest(7)
    assert _digest(7) != _digest(8)




# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------
def test_lemma_counts(pair):
    lemmas = pair.lemmas()
    assert set(lemmas) == {"zh", "en"}
    for lang in ("zh", "en"):
        assert len(lemmas[lang]) >= 400, (lang, len(lemmas[lang]))
        assert len(set(lemmas[lang])) == len(lemmas[lang])
        assert all(isinstance(w, str) and w and " " not in w for w in lemmas[lang])
    assert all(CJK_WORD.fullmatch(w) for w in lemmas["zh"])
    assert all(EN_WORD.fullmatch(w) for w in lemmas["en"])
    assert len({n.zh for n in NOUNS}) >= 200
    assert len({v.zh for v in VERBS}) >= 80
    assert len({a.zh for a in ADJECTIVES}) >= 50


def test_lexicon_spelling_and_measure_words():
    for n in NOUNS:
        assert CJK_WORD.fullmatch(n.zh), n.zh
        assert re.fullmatch(r"[a-z][a-z' -]*", n.en), n.en
        assert n.cl == "" or n.cl in MEASURE_WORDS
        # counted things have a measure word; names, sports, languages do not
        if n.cls in ("hum", "ani", "obj", "wear", "veh", "furn") and n.zh not in ("地铁",):
            assert n.cl, n.zh
        if n.cls in ("city", "sport", "lang"):
            assert n.cl == "", n.zh
    by_zh = {n.zh: n for n in NOUNS}
    assert by_zh["书"].cl == "本" and by_zh["猫"].cl == "只" and by_zh["车"].cl == "辆"
    assert by_zh["咖啡"].cl == "杯" and by_zh["衬衫"].cl == "件" and by_zh["桌子"].cl == "张"


def test_every_selection_is_satisfiable():
    for verb in VERBS:
        if verb.frame in ("tr", "goal", "stat", "give", "put"):
            assert nouns_with(verb.obj), verb
        assert any(n.has(*verb.subj) for n in NOUNS), verb


# --------------------------------------------------------------------------
# Morphology
# --------------------------------------------------------------------------
@pytest.mark.parametrize("singular, plural", [
    ("dog", "dogs"), ("bus", "buses"), ("box", "boxes"), ("watch", "watches"),
    ("strawberry", "strawberries"), ("key", "keys"), ("child", "children"),
    ("person", "people"), ("mouse", "mice"), ("sheep", "sheep"), ("knife", "knives"),
    ("potato", "potatoes"), ("police officer", "police officers"), ("ice cream", "ice creams"),
])
def test_english_plural(singular, plural):
    assert english.plural(singular) == plural


@pytest.mark.parametrize("verb, third, past, ing, participle", [
    ("eat", "eats", "ate", "eating", "eaten"),
    ("watch", "watches", "watched", "watching", "watched"),
    ("go to", "goes to", "went to", "going to", "been to"),
    ("study", "studies", "studied", "studying", "studied"),
    ("play", "plays", "played", "playing", "played"),
    ("run", "runs", "ran", "running", "run"),
    ("swim", "swims", "swam", "swimming", "swum"),
    ("make", "makes", "made", "making", "made"),
    ("listen to", "listens to", "listened to", "listening to", "listened to"),
    ("take care of", "takes care of", "took care of", "taking care of", "taken care of"),
    ("have", "has", "had", "having", "had"),
    ("fix", "fixes", "fixed", "fixing", "fixed"),
    ("feed", "feeds", "fed", "feeding", "fed"),
    ("chat", "chats", "chatted", "chatting", "chatted"),
])
def test_english_verb_forms(verb, third, past, ing, participle):
    assert english.third_singular(verb) == third
    assert english.past(verb) == past
    assert english.ing_form(verb) == ing
    # the experiential 过 participle: "have been to", not "have gone to"
    assert en_experiential(verb) == participle


def test_english_copula_agreement():
    assert [english.be("present", p) for p in ("1sg", "2sg", "3sg", "1pl", "2pl", "3pl")] == \
        ["am", "are", "is", "are", "are", "are"]
    assert [english.be("past", p) for p in ("1sg", "2sg", "3sg", "1pl", "3pl")] == \
        ["was", "were", "was", "were", "were"]


@pytest.mark.parametrize("word, article", [
    ("apple", "an"), ("umbrella", "an"), ("egg", "an"), ("hour", "an"), ("university", "a"),
    ("book", "a"), ("one", "a"), ("old", "an"), ("useful", "a"),
])
def test_indefinite_article(word, article):
    assert english.indefinite_article(word) == article


@pytest.mark.parametrize("n, before_measure, zh", [
    (1, True, "一"), (2, True, "两"), (2, False, "二"), (10, True, "十"), (12, True, "十二"),
    (20, True, "二十"), (22, True, "二十二"), (35, False, "三十五"), (99, True, "九十九"),
])
def test_mandarin_numbers(n, before_measure, zh):
    assert zh_number(n, before_measure) == zh


@pytest.mark.parametrize("n, en", [(1, "one"), (13, "thirteen"), (20, "twenty"),
                                   (42, "forty-two"), (99, "ninety-nine")])
def test_english_numbers(n, en):
    assert english.number(n) == en


# --------------------------------------------------------------------------
# Generated sentences: surface form
# --------------------------------------------------------------------------
def test_lengths(trees):
    lengths = {"zh": [], "en": []}
    for t in trees:
        for lang in ("zh", "en"):
            n = len(words(t, lang))
            assert 3 <= n <= 20, (lang, words(t, lang))
            lengths[lang].append(n)
    for lang, ns in lengths.items():
        mean = sum(ns) / len(ns)
        assert 6 <= mean <= 12, (lang, mean)


def test_scripts_and_tokens(trees):
    for t in trees:
        for w in words(t, "zh"):
            assert CJK_WORD.fullmatch(w), (w, words(t, "zh"))
        for w in words(t, "en"):
            assert EN_WORD.fullmatch(w), (w, words(t, "en"))
            assert w == "I" or w == w.lower(), (w, words(t, "en"))


def test_indefinite_articles_in_sentences(trees):
    """a/an by the following word's first sound (independent of english.indefinite_article)."""
    vowel_sound_exceptions = {"hour", "honest"}
    consonant_sound_exceptions = ("uni", "use", "one", "eu")
    n_checked = 0
    for t in trees:
        en = words(t, "en")
        for art, nxt in zip(en, en[1:]):
            if art not in ("a", "an") or nxt == "lot":
                continue
            n_checked += 1
            vowel = (nxt[0] in "aeiou" and not nxt.startswith(consonant_sound_exceptions)) \
                or nxt in vowel_sound_exceptions
            assert art == ("an" if vowel else "a"), en
    assert n_checked > 200


def test_measure_word_between_numeral_and_noun(trees):
    n_counted = 0
    for t in trees:
        for node in t.iter_nodes():
            kids = node.children
            for i, kid in enumerate(kids):
                if kid.label != "NUM":
                    continue
                n_counted += 1
                zh_num = " ".join(kid.words["zh"])
                assert ZH_NUMERAL.fullmatch(zh_num)
                assert zh_num != "二", "two things are 两, not 二"
                cl = kids[i + 1]
                assert cl.label == "CL" and cl.words["zh"] and cl.words["zh"][0] in MEASURE_WORDS
                assert any(n.label == "N" for n in kids[i + 2].iter_nodes())
    assert n_counted > 300
    zh_texts = [" ".join(words(t, "zh")) for t in trees]
    assert any(" 两 " in f" {s} " for s in zh_texts)
    assert not any(re.search(r"(^| )二 (个|本|只|杯|张|件)", s) for s in zh_texts)


def test_copula_agreement_in_sentences(trees):
    bad = {("I", "is"), ("I", "are"), ("I", "were"), ("he", "am"), ("he", "are"),
           ("she", "are"), ("they", "is"), ("they", "was"), ("we", "is"), ("you", "is"),
           ("he", "were"), ("we", "was"), ("they", "am")}
    for t in trees:
        en = words(t, "en")
        # "my friend and I were": a coordinated subject is plural
        pairs = [(w, nxt) for prev, w, nxt in zip([""] + en, en, en[1:]) if prev != "and"]
        assert not any(pair in bad for pair in pairs), en


def test_english_subject_pronoun_is_overt(trees):
    """Mandarin may drop a repeated subject; the English clause never does
    (except after "and then", which shares the subject)."""
    for t in trees:
        for node in t.iter_nodes():
            if node.label != "CLAUSE" or node.words is not None:
                continue
            labels = [k.label for k in node.children]
            if "VP" in labels or "VPx" in labels:
                conj = node.children[0]
                if conj.label == "CONJ" and conj.words["en"] == ("and", "then"):
                    continue
                assert any(lbl.startswith("NP") for lbl in labels), words(node, "en")


def test_aspect_marker_placement(trees):
    """过 splits a verb-object compound (游 过 泳, never 游泳 过); 正在 never
    doubles 在 (正 在 图书馆 看 书); 有 is negated with 没."""
    compounds = [v for v in VERBS if v.flag("vo")]
    assert "游泳" in [v.zh for v in compounds]
    for verb in compounds:
        pred = Predicate(verb.zh, verb.en, [], verb)
        vp = make_vp(verb_group(pred, "present", "3sg", "exp", False))
        assert words(vp, "zh") == [verb.zh[0], "过", verb.zh[1:]]
        assert words(vp, "en")[0] == "has"
    for t in trees:
        zh = " " + " ".join(words(t, "zh")) + " "
        assert not any(f" {v.zh} 过 " in zh for v in compounds), zh
        assert " 正在 在 " not in zh and " 不 有 " not in zh, zh


# --------------------------------------------------------------------------
# Tense consistency
# --------------------------------------------------------------------------
def _time_tokens(t, table):
    return [w for w in words(t, "zh") if w in table]


def test_past_time_words_agree(trees):
    n_past = 0
    for t in trees:
        if not _time_tokens(t, PAST_TIME_WORDS):
            continue
        n_past += 1
        zh, en = words(t, "zh"), words(t, "en")
        assert "will" not in en, (zh, en)
        assert not {"会", "要"} & set(zh), zh
        copular = any(lf.label == "COP" for lf in leaves(t))
        assert {"了", "过", "没"} & set(zh) or copular, zh
    assert n_past > 300


def test_future_time_words_agree(trees):
    n_future = 0
    for t in trees:
        if not _time_tokens(t, FUTURE_TIME_WORDS):
            continue
        n_future += 1
        zh, en = words(t, "zh"), words(t, "en")
        assert "will" in en, (zh, en)
        assert "了" not in zh or "太" in zh, zh
        assert not {"was", "were", "did"} & set(en), en
    assert n_future > 200


# --------------------------------------------------------------------------
# Variety and semantics
# --------------------------------------------------------------------------
def test_constructions_occur(trees):
    zh_texts = [" " + " ".join(words(t, "zh")) + " " for t in trees]
    for marker in ("了", "过", "会", "要", "正在", "在", "的", "很", "是", "把", "给", "有",
                   "因为", "所以", "但是", "如果", "而且", "然后", "和", "跟", "里", "上"):
        count = sum(f" {marker} " in s for s in zh_texts)
        assert count >= 10, (marker, count)
    labels = [{n.label for n in t.iter_nodes()} for t in trees]
    two_clause = sum("CLAUSE" in ls for ls in labels)
    assert 0.15 * len(trees) <= two_clause <= 0.5 * len(trees)
    en_texts = [" " + " ".join(words(t, "en")) + " " for t in trees]
    for marker in (" the ", " a ", " an ", " will ", " did not ", " is ", " are ", " was ",
                   " were ", " am ", " have ", " there "):
        assert sum(marker in s for s in en_texts) >= 10, marker


def _object_nouns(vp, verb_zh):
    """Nouns of the object phrases of a VP headed by ``verb_zh``."""
    kids = vp.children
    if not any(k.label == "V" and k.words["zh"] == (verb_zh,) for k in kids):
        return []
    return [n.words["zh"][0] for k in kids if k.label.startswith("NP")
            for n in k.iter_nodes() if n.label == "N"]


def test_semantic_selection(trees):
    edible = {n.zh for n in NOUNS if n.cls in ("food", "meal")}
    drinkable = {n.zh for n in NOUNS if n.cls == "drink"}
    n_checked = 0
    for t in trees:
        for node in t.iter_nodes():
            if node.label not in ("VP", "VPx"):
                continue
            for noun in _object_nouns(node, "吃"):
                assert noun in edible, words(t, "zh")
                n_checked += 1
            for noun in _object_nouns(node, "喝"):
                assert noun in drinkable, words(t, "zh")
                n_checked += 1
    assert n_checked > 50


# --------------------------------------------------------------------------
# Code-switching
# --------------------------------------------------------------------------
_EN_FUNCTION_WORDS = {"the", "a", "an", "will", "did", "not", "is", "are", "am", "was", "were",
                      "be", "have", "has", "do", "does", "there"}


def test_code_switch_mostly_succeeds(trees):
    rng = random.Random(0)
    ok = 0
    for t in trees:
        mixed = code_switch(t, "zh", "en", rng)
        if mixed is not None and switch_points(mixed) >= 1:
            ok += 1
            n_zh = sum(w.lang == "zh" for w in mixed)
            assert n_zh * 2 > len(mixed)
    assert ok >= 0.9 * len(trees), ok


def test_english_matrix_code_switch_mostly_succeeds(trees):
    rng = random.Random(1)
    ok = sum(1 for t in trees if code_switch(t, "en", "zh", rng) is not None)
    assert ok >= 0.9 * len(trees), ok


def test_code_mixing_index(trees):
    rng = random.Random(2)
    cmis = []
    for t in trees:
        mixed = code_switch(t, "zh", "en", rng)
        if mixed is not None:
            cmis.append(code_mixing_index(mixed))
        if len(cmis) == 1000:
            break
    assert len(cmis) == 1000
    mean = sum(cmis) / len(cmis)
    assert 15 <= mean <= 50, mean


def test_switched_segments_are_self_contained(trees):
    """An inserted English stretch is never just an article or auxiliary
    (those live inside the constituent that owns them)."""
    rng = random.Random(3)
    for t in trees[:1000]:
        mixed = code_switch(t, "zh", "en", rng)
        if mixed is None:
            continue
        for lang, idx in language_segments(mixed):
            if lang == "en":
                seg = [mixed[i].text for i in idx]
                assert not set(seg) <= _EN_FUNCTION_WORDS, (seg, [w.text for w in mixed])


def test_noun_insertions_are_common(trees):
    """English noun phrases inside Mandarin (一 个 apple, 我 的 boss) dominate,
    as in SEAME."""
    n_np, n_total = 0, 0
    for t in trees[:1000]:
        cands = grammar.switch_candidates(t, "zh", "en")
        n_total += len(cands)
        n_np += sum(c.label == "NP" for c in cands)
    assert n_np / n_total > 0.4
