"""English morphology shared by every language pair of the synthetic corpus.

All shipped pairs translate into English, so the English side of each
parallel tree needs the same inflections: noun plurals, the verb forms
(3rd person singular present, simple past, -ing form, past participle), the
auxiliaries "be", "have" and "do" by tense and person, the article "a"/"an"
and cardinal numbers written as words. They live here once; a pair module
keeps only what depends on its source language (which tense a Spanish
preterite maps to, which participle a Mandarin aspect marker needs, ...).

Conventions:

* Inputs are lower-case lemmas as the lexicons spell them (American
  spelling: "traveled", "gotten"). A multi-word noun inflects its last word
  ("police officer" -> "police officers"); a multi-word verb its first word
  ("look for" -> "looked for", "take care of" -> "took care of", "get dressed"
  -> "gets dressed").
* ``person`` is one of :data:`PERSONS`; ``tense`` is "present" or "past".
* Irregular forms come from one table per kind; the regular rules cover
  everything else, so a new lexicon entry only needs a table row when English
  itself is irregular.

Everything is plain table lookups and string rules: deterministic, no sets
are iterated and nothing random is used.
"""

from __future__ import annotations

from typing import Callable, Dict, Tuple

#: Grammatical persons for agreement (a pair may use a subset).
PERSONS: Tuple[str, ...] = ("1sg", "2sg", "3sg", "1pl", "2pl", "3pl")
#: Tenses of :func:`be`, :func:`have` and :func:`do`.
TENSES: Tuple[str, ...] = ("present", "past")

# ==========================================================================
# Irregular tables
# ==========================================================================
#: Plurals the regular rules get wrong (looked up for the whole noun first,
#: then for its last word: "police officer" is regular, "bookshelf" is not).
IRREGULAR_PLURALS: Dict[str, str] = {
    "man": "men", "woman": "women", "child": "children", "person": "people",
    "foot": "feet", "tooth": "teeth", "mouse": "mice", "goose": "geese",
    "fish": "fish", "sheep": "sheep",
    # -f / -fe -> -ves
    "knife": "knives", "wife": "wives", "leaf": "leaves", "wolf": "wolves",
    "shelf": "shelves", "bookshelf": "bookshelves", "scarf": "scarves",
    "thief": "thieves",
    # -o -> -oes (most -o nouns just add -s: photos, pianos, radios)
    "potato": "potatoes", "tomato": "tomatoes", "mango": "mangoes",
}

#: Simple past forms the regular rules get wrong.
IRREGULAR_PASTS: Dict[str, str] = {
    "be": "was", "begin": "began", "break": "broke", "bring": "brought",
    "build": "built", "buy": "bought", "catch": "caught", "come": "came",
    "cost": "cost", "cut": "cut", "do": "did", "draw": "drew", "drink": "drank",
    "drive": "drove", "eat": "ate", "fall": "fell", "feed": "fed", "feel": "felt",
    "find": "found", "fly": "flew", "forget": "forgot", "get": "got", "give": "gave",
    "go": "went", "grow": "grew", "hang": "hung", "have": "had", "hear": "heard",
    "hit": "hit", "keep": "kept", "know": "knew", "leave": "left", "lend": "lent",
    "lose": "lost", "make": "made", "meet": "met", "put": "put", "read": "read",
    "ride": "rode", "run": "ran", "say": "said", "see": "saw", "sell": "sold",
    "send": "sent", "sing": "sang", "sit": "sat", "sleep": "slept", "speak": "spoke",
    "swim": "swam", "take": "took", "teach": "taught", "tell": "told",
    "think": "thought", "throw": "threw", "understand": "understood", "wake": "woke",
    "wear": "wore", "win": "won", "write": "wrote",
}

#: Past participles that differ from the simple past (for every other verb
#: the participle is the past form: bought, made, played).
IRREGULAR_PARTICIPLES: Dict[str, str] = {
    "be": "been", "begin": "begun", "break": "broken", "come": "come", "do": "done",
    "draw": "drawn", "drink": "drunk", "drive": "driven", "eat": "eaten",
    "fall": "fallen", "fly": "flown", "forget": "forgotten", "get": "gotten",
    "give": "given", "go": "gone", "grow": "grown", "know": "known", "ride": "ridden",
    "run": "run", "see": "seen", "show": "shown", "sing": "sung", "speak": "spoken",
    "swim": "swum", "take": "taken", "throw": "thrown", "wake": "woken", "wear": "worn",
    "write": "written",
}

#: Third person singular presents the regular rules get wrong ("do" and "go"
#: would also come out right by the -o rule; listed with the other auxiliaries).
IRREGULAR_THIRD_SINGULARS: Dict[str, str] = {
    "be": "is", "have": "has", "do": "does", "go": "goes",
}

#: Verbs that double their final consonant before -ed / -ing (a stressed
#: final consonant-vowel-consonant syllable: stopped, running, preferred).
#: A list rather than a rule, since stress is not visible in the spelling
#: (visited, traveled and opened do not double).
DOUBLING_VERBS: Tuple[str, ...] = (
    "begin", "chat", "cut", "drop", "forget", "get", "hit", "hug", "jog", "plan",
    "prefer", "put", "run", "shop", "sit", "stop", "swim", "win",
)

#: Endings after which -s is spelled -es (buses, boxes, watches, wishes).
_SIBILANT_ENDINGS = ("s", "x", "z", "ch", "sh")

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
    "seventeen", "eighteen", "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
         "ninety")


# ==========================================================================
# Spelling helpers
# ==========================================================================
def _consonant_y(word: str) -> bool:
    """Ends in consonant + y, which becomes -ies / -ied (city, study; not key, play)."""
    return word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou"


def _double_final(word: str) -> str:
    """The stem with its last consonant doubled for -ed / -ing (stop -> stopp)."""
    return word + word[-1]


def inflect_head(verb: str, inflect: Callable[[str], str]) -> str:
    """Apply ``inflect`` to the first word of a (possibly multi-word) verb.

    Phrasal and light-verb expressions inflect their verb, which comes first:
    "look for" -> "looked for", "get dressed" -> "gets dressed".
    """
    head, _, rest = verb.partition(" ")
    return f"{inflect(head)} {rest}".strip()


def _check_tense(tense: str) -> None:
    if tense not in TENSES:
        raise ValueError(f"unknown English tense {tense!r}; expected one of {TENSES}")


def _check_person(person: str) -> None:
    if person not in PERSONS:
        raise ValueError(f"unknown person {person!r}; expected one of {PERSONS}")


# ==========================================================================
# Nouns
# ==========================================================================
def _plural_word(word: str) -> str:
    if word in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[word]
    if word.endswith(_SIBILANT_ENDINGS):
        return word + "es"
    if _consonant_y(word):
        return word[:-1] + "ies"
    return word + "s"


def plural(noun: str) -> str:
    """Plural of a noun: irregular table, then -es / -ies / -s on the last word.

    dog -> dogs, bus -> buses, city -> cities, key -> keys, child -> children,
    police officer -> police officers, ice cream -> ice creams.
    """
    if noun in IRREGULAR_PLURALS:  # a whole compound listed as such
        return IRREGULAR_PLURALS[noun]
    *head, last = noun.split(" ")
    return " ".join(head + [_plural_word(last)])


# ==========================================================================
# Verbs
# ==========================================================================
def _third_singular_word(verb: str) -> str:
    if verb in IRREGULAR_THIRD_SINGULARS:
        return IRREGULAR_THIRD_SINGULARS[verb]
    if verb.endswith(_SIBILANT_ENDINGS) or verb.endswith("o"):
        return verb + "es"
    if _consonant_y(verb):
        return verb[:-1] + "ies"
    return verb + "s"


def _past_word(verb: str) -> str:
    if verb in IRREGULAR_PASTS:
        return IRREGULAR_PASTS[verb]
    if verb in DOUBLING_VERBS:
        return _double_final(verb) + "ed"
    if verb.endswith("e"):
        return verb + "d"
    if _consonant_y(verb):
        return verb[:-1] + "ied"
    return verb + "ed"


def _ing_word(verb: str) -> str:
    if verb.endswith("ie"):  # lie -> lying, tie -> tying
        return verb[:-2] + "ying"
    if verb in DOUBLING_VERBS:
        return _double_final(verb) + "ing"
    # a silent final -e drops (make -> making); a pronounced one stays
    # (see -> seeing, agree -> agreeing, be -> being)
    if verb.endswith("e") and not verb.endswith("ee") and verb != "be":
        return verb[:-1] + "ing"
    return verb + "ing"


def _participle_word(verb: str) -> str:
    return IRREGULAR_PARTICIPLES.get(verb) or _past_word(verb)


def third_singular(verb: str) -> str:
    """Third person singular present: eats, watches, goes, studies, has."""
    return inflect_head(verb, _third_singular_word)


def past(verb: str) -> str:
    """Simple past: irregular table, consonant doubling, then -d / -ied / -ed.

    ate, stopped, danced, studied, played; "be" gives "was" (use :func:`be`
    for agreement with a plural subject).
    """
    return inflect_head(verb, _past_word)


def ing_form(verb: str) -> str:
    """Present participle / gerund: eating, running, making, seeing, lying."""
    return inflect_head(verb, _ing_word)


def past_participle(verb: str) -> str:
    """Past participle: eaten, gone, swum, forgotten; the past form otherwise."""
    return inflect_head(verb, _participle_word)


def present(verb: str, person: str) -> str:
    """Simple present agreeing with the subject: I eat / she eats, I am / she is."""
    _check_person(person)

    def agree(head: str) -> str:
        if head == "be":  # the only verb with more than two present forms
            return be("present", person)
        return _third_singular_word(head) if person == "3sg" else head

    return inflect_head(verb, agree)


def be(tense: str, person: str) -> str:
    """"be" agreeing with the subject: am / is / are, was / were."""
    _check_tense(tense)
    _check_person(person)
    if tense == "past":
        return "was" if person in ("1sg", "3sg") else "were"
    return {"1sg": "am", "3sg": "is"}.get(person, "are")


def have(tense: str, person: str) -> str:
    """"have" as an auxiliary or main verb: has / have, had."""
    _check_tense(tense)
    _check_person(person)
    if tense == "past":
        return "had"
    return "has" if person == "3sg" else "have"


def do(tense: str, person: str) -> str:
    """Supporting "do" (negation, questions): does / do, did."""
    _check_tense(tense)
    _check_person(person)
    if tense == "past":
        return "did"
    return "does" if person == "3sg" else "do"


# ==========================================================================
# Articles and numbers
# ==========================================================================
#: Spellings that start with a vowel letter but a consonant sound (a
#: university, a useful map, a euro, a one-way ticket) and vice versa
#: (an hour, an honest man).
_CONSONANT_SOUND_PREFIXES = ("uni", "use", "usu", "eu", "one", "uk")
_VOWEL_SOUND_PREFIXES = ("hour", "honest", "heir")


def indefinite_article(next_word: str) -> str:
    """"a" or "an" by the sound of the next word (an apple, an hour, a university)."""
    w = next_word.lower()
    if w.startswith(_VOWEL_SOUND_PREFIXES):
        return "an"
    if w.startswith(_CONSONANT_SOUND_PREFIXES):
        return "a"
    return "an" if w[:1] in ("a", "e", "i", "o", "u") else "a"


def number(n: int) -> str:
    """Cardinal 0..100 in words; 21..99 hyphenated into one token ("twenty-one")."""
    if not 0 <= n <= 100:
        raise ValueError(f"number out of range: {n}")
    if n == 100:
        return "one hundred"
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + ("-" + _ONES[ones] if ones else "")
