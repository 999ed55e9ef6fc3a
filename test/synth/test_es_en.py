"""Tests for the Spanish-English parallel grammar (espnet_csst.synth.pairs.es_en)."""

import random
import re

import pytest

from espnet_csst.synth import grammar
from espnet_csst.synth.grammar import code_mixing_index, code_switch, render, switch_candidates
from espnet_csst.synth.pairs import english
from espnet_csst.synth.pairs.es_en import (
    ADJECTIVES,
    ES_ADJ_FEATURES,
    ES_DET_FEATURES,
    ES_NOUN_FEATURES,
    NOUNS,
    PERSONS,
    VERBS,
    SpanishEnglish,
    en_finite,
    es_adjective,
    es_conjugate,
    es_feminine,
    es_number,
    es_plural,
    nouns_with,
)

N_SENTENCES = 2000


@pytest.fixture(scope="module")
def pair():
    return SpanishEnglish()


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
    pair = grammar.get_pair("es-en")
    assert isinstance(pair, SpanishEnglish)
    assert pair.name == "es-en"
    assert (pair.src_lang, pair.tgt_lang) == ("es", "en")
    assert pair.voices == {"es": "es", "en": "en-us"}


def _digest(seed, n=200):
    pair = SpanishEnglish()
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        root = pair.sentence(rng)
        mixed = code_switch(root, "es", "en", rng)
        lines.append(" ".join(words(root, "es")) + " | " + " ".join(words(root, "en")) + " | "
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
    assert set(lemmas) == {"es", "en"}
    for lang in ("es", "en"):
        assert len(lemmas[lang]) >= 400, (lang, len(lemmas[lang]))
        assert len(set(lemmas[lang])) == len(lemmas[lang])
        assert all(isinstance(w, str) and w and w == w.strip() for w in lemmas[lang])
    assert len({n.es for n in NOUNS}) >= 200
    assert len({v.es for v in VERBS}) >= 100
    assert len({a.es for a in ADJECTIVES}) >= 80


def test_lexicon_spelling():
    for n in NOUNS:
        assert re.fullmatch(r"[a-záéíóúüñ]+", n.es), n.es
        assert n.gender in ("m", "f")
        assert re.fullmatch(r"[a-z][a-z -]*", n.en), n.en
    for a in ADJECTIVES:
        assert re.fullmatch(r"[a-záéíóúüñ]+", a.es), a.es


def test_every_selection_is_satisfiable():
    for verb in VERBS:
        if verb.obj and ("tr" in verb.frames or "give" in verb.frames or "put" in verb.frames):
            assert nouns_with(verb.obj), verb
        assert nouns_with(verb.subj) or verb.subj == ("hum",), verb


# --------------------------------------------------------------------------
# Morphology
# --------------------------------------------------------------------------
@pytest.mark.parametrize("singular, plural", [
    ("casa", "casas"), ("café", "cafés"), ("papel", "papeles"), ("ciudad", "ciudades"),
    ("lápiz", "lápices"), ("pez", "peces"), ("canción", "canciones"),
    ("autobús", "autobuses"), ("jardín", "jardines"), ("joven", "jóvenes"),
    ("examen", "exámenes"), ("lunes", "lunes"), ("cumpleaños", "cumpleaños"),
    ("mes", "meses"), ("árbol", "árboles"), ("rey", "reyes"), ("inglés", "ingleses"),
    ("marrón", "marrones"), ("feliz", "felices"), ("sofá", "sofás"),
])
def test_spanish_plural(singular, plural):
    assert es_plural(singular) == plural


def test_spanish_plural_exceptions_in_lexicon():
    by_es = {n.es: n for n in NOUNS}
    assert by_es["país"].es_pl == "países"
    assert by_es["ratón"].es_pl == "ratones"


@pytest.mark.parametrize("singular, plural", [
    ("dog", "dogs"), ("bus", "buses"), ("box", "boxes"), ("watch", "watches"),
    ("city", "cities"), ("key", "keys"), ("police officer", "police officers"),
])
def test_english_regular_plural(singular, plural):
    assert english.plural(singular) == plural


def test_english_irregular_plurals_in_lexicon():
    by_en = {n.en: n.en_pl for n in NOUNS}
    expected = {"child": "children", "man": "men", "woman": "women", "person": "people",
                "foot": "feet", "mouse": "mice", "tooth": "teeth", "goose": "geese",
                "knife": "knives", "sheep": "sheep", "wolf": "wolves", "potato": "potatoes"}
    for sg, pl in expected.items():
        assert by_en[sg] == pl


def test_spanish_adjective_agreement_forms():
    adj = {a.es: a for a in ADJECTIVES}
    assert es_adjective(adj["rojo"], "f", "pl") == "rojas"
    assert es_adjective(adj["grande"], "f", "sg") == "grande"
    assert es_adjective(adj["verde"], "m", "pl") == "verdes"
    assert es_adjective(adj["azul"], "f", "pl") == "azules"
    assert es_adjective(adj["joven"], "m", "pl") == "jóvenes"
    assert es_adjective(adj["feliz"], "f", "pl") == "felices"
    assert es_adjective(adj["trabajador"], "f", "sg") == "trabajadora"
    assert es_adjective(adj["bueno"], "m", "sg", prenominal=True) == "buen"
    assert es_adjective(adj["bueno"], "f", "sg", prenominal=True) == "buena"
    assert es_adjective(adj["gran"], "f", "sg", prenominal=True) == "gran"
    assert es_adjective(adj["gran"], "f", "pl", prenominal=True) == "grandes"
    assert es_feminine("inglés") == "inglesa"
    assert es_feminine("marrón") == "marrón"


@pytest.mark.parametrize("n, gender, expected", [
    (1, "m", "un"), (1, "f", "una"), (1, None, "uno"), (16, None, "dieciséis"),
    (21, "m", "veintiún"), (21, "f", "veintiuna"), (22, None, "veintidós"),
    (30, None, "treinta"), (31, "m", "treinta y un"), (31, "f", "treinta y una"),
    (32, "f", "treinta y dos"), (99, None, "noventa y nueve"), (100, None, "cien"),
])
def test_spanish_numbers(n, gender, expected):
    assert es_number(n, gender) == expected


@pytest.mark.parametrize("n, expected", [
    (1, "one"), (12, "twelve"), (15, "fifteen"), (20, "twenty"), (22, "twenty-two"),
    (40, "forty"), (81, "eighty-one"), (99, "ninety-nine"),
])
def test_english_numbers(n, expected):
    assert english.number(n) == expected


# Hard-coded conjugations: (infinitive, tense, person, form)
SPANISH_FORMS = [
    ("hablar", "pres", "1sg", "hablo"), ("hablar", "pret", "3sg", "habló"),
    ("hablar", "fut", "1pl", "hablaremos"), ("hablar", "impf", "1pl", "hablábamos"),
    ("comer", "pres", "2sg", "comes"), ("comer", "pret", "3pl", "comieron"),
    ("vivir", "pres", "1pl", "vivimos"), ("vivir", "fut", "3pl", "vivirán"),
    ("ser", "pres", "1sg", "soy"), ("ser", "pret", "3pl", "fueron"),
    ("ser", "impf", "1pl", "éramos"),
    ("estar", "pres", "2sg", "estás"), ("estar", "pret", "3sg", "estuvo"),
    ("tener", "pres", "1sg", "tengo"), ("tener", "pres", "3sg", "tiene"),
    ("tener", "pret", "3pl", "tuvieron"), ("tener", "fut", "1sg", "tendré"),
    ("ir", "pres", "1sg", "voy"), ("ir", "pret", "3sg", "fue"), ("ir", "fut", "1pl", "iremos"),
    ("hacer", "pret", "3sg", "hizo"), ("hacer", "fut", "2sg", "harás"),
    ("poder", "pres", "3pl", "pueden"), ("poder", "pret", "1sg", "pude"),
    ("querer", "pres", "1sg", "quiero"), ("querer", "fut", "3sg", "querrá"),
    ("decir", "pres", "1sg", "digo"), ("decir", "pret", "3pl", "dijeron"),
    ("decir", "fut", "1pl", "diremos"),
    ("ver", "pret", "3sg", "vio"), ("dar", "pres", "1sg", "doy"), ("dar", "pret", "1sg", "di"),
    ("saber", "pres", "1sg", "sé"), ("saber", "pret", "3sg", "supo"),
    ("venir", "pres", "3sg", "viene"), ("venir", "fut", "3pl", "vendrán"),
    ("poner", "pres", "1sg", "pongo"), ("poner", "pret", "1pl", "pusimos"),
    ("salir", "pres", "1sg", "salgo"), ("salir", "fut", "3sg", "saldrá"),
    ("traer", "pret", "3pl", "trajeron"), ("conocer", "pres", "1sg", "conozco"),
    ("leer", "pret", "3sg", "leyó"), ("oír", "pres", "1sg", "oigo"),
    ("oír", "pres", "3pl", "oyen"),
    ("oír", "fut", "1sg", "oiré"),
    ("pedir", "pres", "3sg", "pide"), ("pedir", "pret", "3pl", "pidieron"),
    ("pedir", "pres", "1pl", "pedimos"),
    ("dormir", "pres", "1sg", "duermo"), ("dormir", "pret", "3sg", "durmió"),
    ("jugar", "pres", "3sg", "juega"), ("jugar", "pret", "1sg", "jugué"),
    ("empezar", "pres", "3pl", "empiezan"), ("empezar", "pret", "1sg", "empecé"),
    ("volver", "pres", "2sg", "vuelves"), ("encontrar", "pres", "1sg", "encuentro"),
    ("pensar", "pres", "3sg", "piensa"), ("pensar", "pres", "1pl", "pensamos"),
    ("buscar", "pret", "1sg", "busqué"), ("llegar", "pret", "1sg", "llegué"),
    ("almorzar", "pres", "3sg", "almuerza"), ("almorzar", "pret", "1sg", "almorcé"),
    ("preferir", "pret", "3sg", "prefirió"), ("construir", "pres", "3sg", "construye"),
    ("seguir", "pres", "1sg", "sigo"), ("recoger", "pres", "1sg", "recojo"),
    ("conducir", "pret", "3sg", "condujo"), ("traducir", "pres", "1sg", "traduzco"),
]


@pytest.mark.parametrize("inf, tense, person, form", SPANISH_FORMS)
def test_spanish_conjugation(inf, tense, person, form):
    assert es_conjugate(inf, tense, person) == form


def test_every_verb_conjugates_in_every_tense_and_person():
    for verb in VERBS:
        for tense in ("pres", "pret", "impf", "fut"):
            for person in PERSONS:
                form = es_conjugate(verb.base, tense, person)
                assert re.fullmatch(r"[a-záéíóúüñ]+", form), (verb.es, tense, person, form)


@pytest.mark.parametrize("base, third, past", [
    ("go", "goes", "went"), ("eat", "eats", "ate"), ("see", "sees", "saw"),
    ("buy", "buys", "bought"), ("watch", "watches", "watched"), ("study", "studies", "studied"),
    ("play", "plays", "played"), ("have", "has", "had"), ("fix", "fixes", "fixed"),
    ("dance", "dances", "danced"), ("stop", "stops", "stopped"),
    ("look for", "looks for", "looked for"), ("take care of", "takes care of", "took care of"),
])
def test_english_verb_forms(base, third, past):
    assert english.third_singular(base) == third
    assert english.past(base) == past


def test_english_verb_groups():
    assert en_finite("eat", "pres", "3sg", neg=True) == ("does not", "eat")
    assert en_finite("eat", "pret", "1pl", neg=True) == ("did not", "eat")
    assert en_finite("eat", "fut", "1sg") == ("will", "eat")
    assert en_finite("eat", "goingto", "1sg") == ("am going to", "eat")
    assert en_finite("be", "pres", "2sg", neg=True) == ("", "are not")
    assert en_finite("be", "impf", "3sg") == ("", "was")
    assert en_finite("know", "pret", "3sg", pret_verb="meet") == ("", "met")


def test_english_indefinite_article():
    assert english.indefinite_article("apple") == "an"
    assert english.indefinite_article("dog") == "a"
    assert english.indefinite_article("university") == "a"
    assert english.indefinite_article("useful") == "a"
    assert english.indefinite_article("euro") == "a"
    assert english.indefinite_article("hour") == "an"
    assert english.indefinite_article("honest") == "an"
    assert english.indefinite_article("umbrella") == "an"


# --------------------------------------------------------------------------
# Generated sentences: form
# --------------------------------------------------------------------------
def test_sentence_shape(trees):
    for root in trees:
        assert root.label == "S"
        for lang in ("es", "en"):
            toks = words(root, lang)
            assert 3 <= len(toks) <= 20, toks
            pattern = r"[a-záéíóúüñ]+" if lang == "es" else r"[a-zA-Z]+(-[a-z]+)?"
            for tok in toks:
                assert tok and " " not in tok, toks
                assert tok == tok.lower() or tok == "I", toks
                assert re.fullmatch(pattern, tok), (lang, tok)


def test_average_length(trees):
    lengths = [len(words(t, lang)) for t in trees for lang in ("es", "en")]
    assert 7 <= sum(lengths) / len(lengths) <= 12


def test_sentence_variety(trees):
    es_text = [" ".join(words(t, "es")) for t in trees]
    en_text = [" ".join(words(t, "en")) for t in trees]

    def share(pattern, texts):
        return sum(bool(re.search(pattern, t)) for t in texts) / len(texts)

    for conj in (r"\bporque\b", r"\bcuando\b", r"\by\b", r"\bpero\b", r"\bque\b"):
        assert share(conj, es_text) > 0.01, conj
    assert share(r"\b(es|son|está|están|era|estaba|fue)\b", es_text) > 0.03  # copular
    assert share(r"\bwill\b", en_text) > 0.1
    assert share(r"\bgoing to\b", en_text) > 0.02
    assert share(r"\b(did not|does not|do not)\b", en_text) > 0.03
    clauses = sum(any(n.label == "CLAUSE" for n in t.iter_nodes()) for t in trees) / len(trees)
    assert 0.2 < clauses < 0.7


def test_pro_drop_is_random(trees):
    dropped = overt = 0
    for root in trees:
        for node in leaves(root):
            if node.label == "PRON" and node.words["en"] != ("it",):
                assert node.words["en"], "English subjects are always overt"
                if node.words["es"]:
                    overt += 1
                else:
                    dropped += 1
    assert dropped > 100 and overt > 100


def test_spanish_y_becomes_e_before_i(trees):
    for root in trees:
        toks = words(root, "es")
        for a, b in zip(toks, toks[1:]):
            if a == "y":
                assert not re.match(r"h?[ií](?!e|a)", b), toks


def test_english_a_an(trees):
    for root in trees:
        toks = words(root, "en")
        for a, b in zip(toks, toks[1:]):
            if a == "a" and b[0] in "aeiou":
                assert b.startswith(("uni", "use", "eu", "one")), toks
            if a == "an":
                assert b[0] in "aeiou" or b.startswith(("hour", "honest")), toks


# --------------------------------------------------------------------------
# Generated sentences: agreement and order
# --------------------------------------------------------------------------
def _compatible(form, table, features):
    return bool(set(table.get(form, [])) & set(features))


def _noun_of(np):
    heads = [c for c in np.children if c.label == "N"]
    assert len(heads) == 1
    return heads[0].words["es"][0]


def test_noun_phrase_agreement(trees):
    tonic_a = {n.es for n in NOUNS if n.has("tonic")}
    checked = {"DET": 0, "ADJ": 0, "NUM": 0}
    for root in trees:
        for np in root.iter_nodes():
            if np.label not in ("NP", "NPx") or not any(c.label == "N" for c in np.children):
                continue
            noun = _noun_of(np)
            features = ES_NOUN_FEATURES[noun]
            for child in np.children:
                es = child.words["es"] if child.words is not None else ()
                if not es:
                    continue
                if child.label == "DET":
                    det = " ".join(es)
                    if noun in tonic_a and det in ("el", "un"):
                        continue  # "el agua"
                    assert _compatible(det, ES_DET_FEATURES, features), (det, noun)
                    checked["DET"] += 1
                elif child.label == "ADJ":
                    assert _compatible(es[0], ES_ADJ_FEATURES, features), (es, noun)
                    checked["ADJ"] += 1
                elif child.label == "NUM":
                    assert all(num == "pl" for _, num in features), (es, noun)
                    if es[-1] in ("un", "veintiún"):
                        assert ("m", "pl") in features, (es, noun)
                    if es[-1] in ("una", "veintiuna"):
                        assert ("f", "pl") in features, (es, noun)
                    checked["NUM"] += 1
    assert min(checked.values()) > 50, checked


def test_contracted_article_agrees(trees):
    n = 0
    for root in trees:
        for node in root.iter_nodes():
            if node.label in ("PP", "OBJ", "PPx") and node.children[0].label == "P":
                p = node.children[0].words["es"]
                if p and p[-1] in ("al", "del") and node.children[1].label == "NPx":
                    assert ("m", "sg") in ES_NOUN_FEATURES[_noun_of(node.children[1])]
                    n += 1
    assert n > 50


_SUBJECT_FEATURES = {"he": ("m", "sg"), "she": ("f", "sg")}


def test_predicative_adjective_agrees_with_subject(trees):
    n = 0
    for root in trees:
        for node in root.iter_nodes():
            for subj, vp in zip(node.children, node.children[1:]):
                if vp.label not in ("VP", "VPx"):
                    continue
                aps = [c for c in vp.children if c.label == "AP"]
                if not aps:
                    continue
                adj = [c for c in aps[0].children if c.label == "ADJ"][0].words["es"][0]
                if subj.label == "NP":
                    features = ES_NOUN_FEATURES[_noun_of(subj)]
                elif subj.label == "PRON":
                    en = subj.words["en"][0]
                    if en in _SUBJECT_FEATURES:
                        features = [_SUBJECT_FEATURES[en]]
                    else:
                        num = "pl" if en in ("we", "they") else "sg"
                        features = [("m", num), ("f", num)]
                else:
                    continue
                assert _compatible(adj, ES_ADJ_FEATURES, features), (adj, words(node, "es"))
                n += 1
    assert n > 50


def test_noun_adjective_order(trees):
    post = 0
    for root in trees:
        for np in root.iter_nodes():
            if np.label not in ("NP", "NPx"):
                continue
            labels = [c.label for c in np.children]
            if "ADJ" not in labels:
                continue
            adj = np.children[labels.index("ADJ")]
            noun = np.children[labels.index("N")]
            es = words(np, "es")
            en = words(np, "en")
            assert en.index(adj.words["en"][-1]) < en.index(noun.words["en"][0]), en
            adj_es = adj.words["es"][0]
            if adj_es in ("buen", "mal", "gran", "buena", "mala", "buenos", "malos", "buenas",
                          "malas", "grandes") and es.index(adj_es) < es.index(noun.words["es"][0]):
                continue  # pre-nominal adjective, same order as English
            assert es.index(noun.words["es"][0]) < es.index(adj_es), es
            post += 1
    assert post > 100


def test_verbs_select_their_objects(trees):
    """"come una manzana", never "come una ciudad"."""
    by_form = {}
    for n in NOUNS:
        by_form[n.es] = by_form[n.es_pl] = n
    eat = {es_conjugate("comer", t, p) for t in ("pres", "pret", "fut") for p in PERSONS}
    drink = {es_conjugate("beber", t, p) for t in ("pres", "pret", "fut") for p in PERSONS}
    checked = 0
    for root in trees:
        for vp in root.iter_nodes():
            kids = vp.children
            for v, obj in zip(kids, kids[1:]):
                if v.label != "V" or obj.label != "NP" or not v.words["es"]:
                    continue
                noun = by_form[_noun_of(obj)]
                if v.words["es"][0] in eat:
                    assert noun.cls == "food", (v.words, noun.es)
                    checked += 1
                elif v.words["es"][0] in drink:
                    assert noun.cls == "drink", (v.words, noun.es)
                    checked += 1
            for child in kids:  # personal "a" only before people and animals
                if child.label == "OBJ" and child.children[1].label in ("NP", "NPx"):
                    assert by_form[_noun_of(child.children[1])].cls in ("hum", "ani")
    assert checked > 10


# --------------------------------------------------------------------------
# Contractions, tense and time
# --------------------------------------------------------------------------
def _no_uncontracted_article(toks):
    return not any(a in ("a", "de") and b == "el" for a, b in zip(toks, toks[1:]))


def test_no_uncontracted_articles(trees):
    rng = random.Random(99)
    for root in trees:
        assert _no_uncontracted_article(words(root, "es")), words(root, "es")
        for matrix, other in (("es", "en"), ("en", "es")):
            mixed = code_switch(root, matrix, other, rng)
            if mixed:
                toks = [w.text for w in mixed]
                assert _no_uncontracted_article(toks), toks
    joined = " ".join(" ".join(words(t, "es")) for t in trees)
    assert " al " in joined and " del " in joined


def _future_forms():
    forms = set()
    for inf in [v.base for v in VERBS] + ["ser", "estar", "tener", "hacer", "poder"]:
        for person in PERSONS:
            forms.add(es_conjugate(inf, "fut", person))
    return forms


def _english_past_forms():
    forms = {"was", "were", "did", "had", "could"}
    for v in VERBS:
        head = v.en.split()[0]
        past = english.past(head).split()[0]
        if past != head:
            forms.add(past)
    return forms


def test_time_words_agree_with_tense(trees):
    future_es = _future_forms()
    past_en = _english_past_forms()
    seen = {"ayer": 0, "tomorrow": 0}
    for root in trees:
        es, en = words(root, "es"), words(root, "en")
        if "ayer" in es or "anoche" in es:
            seen["ayer"] += 1
            assert not future_es & set(es), es
            assert "will" not in en and "going" not in en, en
        if "tomorrow" in en:
            seen["tomorrow"] += 1
            assert not past_en & set(en), en
    assert min(seen.values()) > 30, seen


# --------------------------------------------------------------------------
# Code-switching
# --------------------------------------------------------------------------
def test_switch_candidates_and_success(trees):
    rng = random.Random(1)
    ok = {"es": 0, "en": 0}
    for root in trees:
        for matrix, other in (("es", "en"), ("en", "es")):
            assert switch_candidates(root, matrix, other), words(root, matrix)
            if code_switch(root, matrix, other, rng) is not None:
                ok[matrix] += 1
    assert ok["es"] >= 0.9 * len(trees) and ok["en"] >= 0.9 * len(trees), ok


def test_switchable_constituents_are_self_contained(trees):
    """A switched VP carries its English auxiliaries; an NP carries its article."""
    for root in trees[:500]:
        for node in root.iter_nodes():
            if node.label == "VP":
                en = words(node, "en")
                assert en and words(node, "es"), words(root, "en")
            if node.label == "NP" and any(c.label == "DET" for c in node.children):
                det = node.children[0]
                # an English article never goes missing from a switchable NP
                if det.words["es"] and det.words["es"][0] in ("el", "la", "los", "las"):
                    assert det.words["en"], words(root, "es")


def test_code_mixing_index_range(trees):
    rng = random.Random(5)
    cmis = []
    for root in trees:
        mixed = code_switch(root, "es", "en", rng)
        if mixed is not None:
            cmis.append(code_mixing_index(mixed))
        if len(cmis) == 1000:
            break
    assert len(cmis) == 1000
    assert 15 <= sum(cmis) / len(cmis) <= 50
