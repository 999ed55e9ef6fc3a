"""Spanish-English parallel grammar for the synthetic code-switching corpus.

Every generated sentence is a *parallel* constituent tree (see
:mod:`espnet_csst.synth.grammar`): each leaf carries its Spanish and its English
words, with agreement and conjugation already resolved here, and inner nodes
give a per-language child order where the languages differ (noun-adjective
order). Code-switching itself is generic; this module only has to label the
constituents at whose boundaries a switch is plausible (NP, VP, PP, CLAUSE,
TIME) and keep every such constituent self-contained in both languages:

* English auxiliaries ("do not", "will", "am going to") live inside the VP;
* a preposition that contracts with the article ("a el" -> "al", "de el" ->
  "del") takes the article into its own leaf, and the noun phrase it governs is
  then labelled ``NPx`` (not switchable), so no realisation can ever produce
  "a el" or leave a dangling article;
* Spanish-only material (pro-drop subjects, reflexive clitics, the personal
  "a") sits in leaves that are empty in English, and vice versa.

The module is organised as: lexicon tables (compact rows, one per lemma) ->
morphology (Spanish plurals, agreement, numbers and conjugation; the English
verb group, built on the shared :mod:`espnet_csst.synth.pairs.english`) ->
phrase builders (NP, PP, TIME, verb groups) -> clause and sentence builders ->
the :class:`SpanishEnglish` language pair.

Determinism: the output depends only on the ``random.Random`` passed to
:meth:`SpanishEnglish.sentence`. All lexicon data are tuples/lists/dicts built
once at import time, nothing iterates over a set, and ``hash()`` is never used.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from espnet_csst.synth.grammar import (
    LanguagePair, Node, can_switch, leaf, lengths_within, render, unique_in_order,
)
from espnet_csst.synth.pairs import english

#: Grammatical persons the grammar conjugates for (vosotros/ustedes are not used).
PERSONS = ("1sg", "2sg", "3sg", "1pl", "3pl")
#: Tenses: present, preterite, imperfect (stative predicates in past contexts
#: only), synthetic future and the periphrastic "ir a + inf" / "going to".
TENSES = ("pres", "pret", "impf", "fut", "goingto")
#: A sentence (or clause) has one time frame; tenses and time phrases follow it.
TIME_FRAMES = ("past", "present", "future")


# ==========================================================================
# Lexicon: nouns
# ==========================================================================
@dataclass(frozen=True)
class Noun:
    """A noun lemma in both languages.

    ``tags`` drive semantic selection: the first tag is the broad class (hum,
    ani, food, drink, obj, wear, furn, veh, place, plant, abs, event, body,
    game, lang, tunit, unit), the others are finer features verbs,
    prepositions and adjectives select for (e.g. "cut", "cont", "surf").
    """

    es: str
    gender: str
    en: str
    tags: Tuple[str, ...]
    es_pl: str
    en_pl: str

    @property
    def cls(self) -> str:
        return self.tags[0]

    def has(self, *tags: str) -> bool:
        return any(t in self.tags for t in tags)


# (es, gender, en, tags[, es plural override]). English plurals, irregular
# ones included (men, feet, knives), come from english.plural.
# Feature tags: kin=kinship, pet, flyer=can fly, fruit, mass=uncountable,
# cut/cook/make=what can be cut/cooked/made, mach=machine, frag=fragile,
# cont=container, open=can be opened, surf=has a top surface, under=one can be
# under it, seat/sleep=one sits/sleeps on it, read/write/mail=readable/
# writable/sendable, instr=instrument, dish, toy, throw, paint, fix, drive,
# pub=public transport, rent, book=can be booked, out=outdoors, water=one can
# swim there, room, shop=opens and closes, at/on=English locative preposition,
# bare=English drops the article after a preposition ("to school"), home=casa
# ("a casa" / "home"), region=arrive *in*, build=can be built, starts=event
# with a start time, info/question/expl/tell/solve/win/celeb/org (abstract);
# one/spouse/noposs/wild restrict number and possessives ("mis padres" means "my
# parents", "nuestra esposa" and "mi hombre" are odd).
_NOUN_ROWS: Tuple[tuple, ...] = (
    # --- people ---------------------------------------------------------
    ("hombre", "m", "man", "hum noposs"),
    ("mujer", "f", "woman", "hum"),
    ("niño", "m", "child", "hum"),
    ("niña", "f", "girl", "hum"),
    ("chico", "m", "boy", "hum"),
    ("bebé", "m", "baby", "hum"),
    ("persona", "f", "person", "hum noposs"),
    ("amigo", "m", "friend", "hum"),
    ("amiga", "f", "friend", "hum"),
    ("hermano", "m", "brother", "hum kin"),
    ("hermana", "f", "sister", "hum kin"),
    ("padre", "m", "father", "hum kin one"),
    ("madre", "f", "mother", "hum kin one"),
    ("hijo", "m", "son", "hum kin"),
    ("hija", "f", "daughter", "hum kin"),
    ("abuelo", "m", "grandfather", "hum kin"),
    ("abuela", "f", "grandmother", "hum kin"),
    ("tío", "m", "uncle", "hum kin"),
    ("tía", "f", "aunt", "hum kin"),
    ("primo", "m", "cousin", "hum kin"),
    ("prima", "f", "cousin", "hum kin"),
    ("esposa", "f", "wife", "hum kin one spouse"),
    ("marido", "m", "husband", "hum kin one spouse"),
    ("novio", "m", "boyfriend", "hum one spouse"),
    ("novia", "f", "girlfriend", "hum one spouse"),
    ("vecino", "m", "neighbor", "hum"),
    ("vecina", "f", "neighbor", "hum"),
    ("profesor", "m", "teacher", "hum"),
    ("profesora", "f", "teacher", "hum"),
    ("médico", "m", "doctor", "hum"),
    ("estudiante", "m", "student", "hum"),
    ("policía", "m", "police officer", "hum noposs"),
    ("camarero", "m", "waiter", "hum"),
    ("camarera", "f", "waitress", "hum"),
    ("cocinero", "m", "cook", "hum"),
    ("enfermera", "f", "nurse", "hum"),
    ("jefe", "m", "boss", "hum"),
    ("cliente", "m", "customer", "hum"),
    ("conductor", "m", "driver", "hum"),
    ("artista", "m", "artist", "hum"),
    ("cantante", "f", "singer", "hum"),
    ("escritor", "m", "writer", "hum"),
    ("escritora", "f", "writer", "hum"),
    ("pintor", "m", "painter", "hum"),
    ("abogado", "m", "lawyer", "hum"),
    ("ingeniero", "m", "engineer", "hum"),
    ("rey", "m", "king", "hum one noposs"),
    ("reina", "f", "queen", "hum one noposs"),
    # --- animals --------------------------------------------------------
    ("perro", "m", "dog", "ani pet"),
    ("gato", "m", "cat", "ani pet"),
    ("caballo", "m", "horse", "ani"),
    ("vaca", "f", "cow", "ani"),
    ("cerdo", "m", "pig", "ani"),
    ("oveja", "f", "sheep", "ani"),
    ("pájaro", "m", "bird", "ani pet flyer"),
    ("pez", "m", "fish", "ani pet"),
    ("ratón", "m", "mouse", "ani"),
    ("conejo", "m", "rabbit", "ani pet"),
    ("pato", "m", "duck", "ani flyer"),
    ("gallina", "f", "hen", "ani"),
    ("ganso", "m", "goose", "ani flyer"),
    ("león", "m", "lion", "ani wild"),
    ("tigre", "m", "tiger", "ani wild"),
    ("elefante", "m", "elephant", "ani wild"),
    ("mono", "m", "monkey", "ani wild"),
    ("oso", "m", "bear", "ani wild"),
    ("lobo", "m", "wolf", "ani wild"),
    ("zorro", "m", "fox", "ani wild"),
    ("serpiente", "f", "snake", "ani wild"),
    ("tortuga", "f", "turtle", "ani pet"),
    ("mariposa", "f", "butterfly", "ani flyer wild"),
    ("abeja", "f", "bee", "ani flyer wild"),
    ("araña", "f", "spider", "ani wild"),
    ("burro", "m", "donkey", "ani"),
    ("jirafa", "f", "giraffe", "ani wild"),
    ("ballena", "f", "whale", "ani wild"),
    # --- food -----------------------------------------------------------
    ("manzana", "f", "apple", "food fruit cut"),
    ("naranja", "f", "orange", "food fruit cut"),
    ("plátano", "m", "banana", "food fruit"),
    ("pera", "f", "pear", "food fruit cut"),
    ("fresa", "f", "strawberry", "food fruit"),
    ("uva", "f", "grape", "food fruit"),
    ("limón", "m", "lemon", "food fruit cut"),
    ("sandía", "f", "watermelon", "food fruit cut"),
    ("cereza", "f", "cherry", "food fruit"),
    ("melón", "m", "melon", "food fruit cut"),
    ("pan", "m", "bread", "food mass cut"),
    ("queso", "m", "cheese", "food mass cut"),
    ("arroz", "m", "rice", "food mass cook"),
    ("pollo", "m", "chicken", "food mass cook cut"),
    ("carne", "f", "meat", "food mass cook cut"),
    ("pescado", "m", "fish", "food mass cook"),
    ("sopa", "f", "soup", "food cook make"),
    ("pasta", "f", "pasta", "food mass cook"),
    ("ensalada", "f", "salad", "food make"),
    ("huevo", "m", "egg", "food cook"),
    ("tortilla", "f", "omelet", "food cook make cut"),
    ("pastel", "m", "cake", "food make cut"),
    ("tarta", "f", "pie", "food make cut"),
    ("galleta", "f", "cookie", "food make"),
    ("chocolate", "m", "chocolate", "food mass"),
    ("helado", "m", "ice cream", "food"),
    ("sándwich", "m", "sandwich", "food make cut"),
    ("pizza", "f", "pizza", "food make cut cook"),
    ("hamburguesa", "f", "hamburger", "food cook"),
    ("patata", "f", "potato", "food cook cut"),
    ("tomate", "m", "tomato", "food cut"),
    ("zanahoria", "f", "carrot", "food cut cook"),
    ("cebolla", "f", "onion", "food cut cook"),
    ("verdura", "f", "vegetable", "food cook cut"),
    ("mantequilla", "f", "butter", "food mass"),
    ("azúcar", "m", "sugar", "food mass"),
    ("sal", "f", "salt", "food mass"),
    ("mermelada", "f", "jam", "food mass"),
    ("yogur", "m", "yogurt", "food"),
    ("caramelo", "m", "candy", "food"),
    # --- drinks ("tonic": feminine noun with stressed a-, takes el/un) ---
    ("agua", "f", "water", "drink mass tonic"),
    ("café", "m", "coffee", "drink make"),
    ("té", "m", "tea", "drink make"),
    ("leche", "f", "milk", "drink mass"),
    ("zumo", "m", "juice", "drink mass make"),
    ("vino", "m", "wine", "drink mass"),
    ("cerveza", "f", "beer", "drink"),
    ("refresco", "m", "soda", "drink"),
    ("limonada", "f", "lemonade", "drink mass make"),
    # --- objects --------------------------------------------------------
    ("libro", "m", "book", "obj read open task"),
    ("revista", "f", "magazine", "obj read"),
    ("periódico", "m", "newspaper", "obj read"),
    ("carta", "f", "letter", "obj read write mail open"),
    ("mensaje", "m", "message", "obj read write mail question"),
    ("correo", "m", "email", "obj read write mail question"),
    ("postal", "f", "postcard", "obj write mail"),
    ("cuaderno", "m", "notebook", "obj"),
    ("lápiz", "m", "pencil", "obj"),
    ("bolígrafo", "m", "pen", "obj"),
    ("papel", "m", "paper", "obj cut"),
    ("llave", "f", "key", "obj"),
    ("teléfono", "m", "phone", "obj mach frag fix"),
    ("ordenador", "m", "computer", "obj mach fix"),
    ("reloj", "m", "watch", "obj mach frag fix"),
    ("paraguas", "m", "umbrella", "obj open"),
    ("mochila", "f", "backpack", "obj cont open"),
    ("bolso", "m", "bag", "obj cont open"),
    ("caja", "f", "box", "obj cont open"),
    ("botella", "f", "bottle", "obj cont open frag"),
    ("vaso", "m", "glass", "obj cont frag dish"),
    ("taza", "f", "cup", "obj cont frag dish"),
    ("plato", "m", "plate", "obj frag dish"),
    ("cuchara", "f", "spoon", "obj dish"),
    ("cuchillo", "m", "knife", "obj dish"),
    ("tenedor", "m", "fork", "obj dish"),
    ("juguete", "m", "toy", "obj toy"),
    ("pelota", "f", "ball", "obj toy throw"),
    ("muñeca", "f", "doll", "obj toy"),
    ("regalo", "m", "gift", "obj mail open"),
    ("paquete", "m", "package", "obj mail open"),
    ("foto", "f", "photo", "obj"),
    ("cuadro", "m", "painting", "obj"),
    ("lámpara", "f", "lamp", "obj mach frag fix"),
    ("luz", "f", "light", "obj mach"),
    ("radio", "f", "radio", "obj mach fix"),
    ("televisión", "f", "television", "obj mach fix"),
    ("espejo", "m", "mirror", "obj frag"),
    ("moneda", "f", "coin", "obj"),
    ("dinero", "m", "money", "obj mass"),
    ("billete", "m", "ticket", "obj book"),
    ("maleta", "f", "suitcase", "obj cont open"),
    ("piedra", "f", "stone", "obj throw"),
    ("guitarra", "f", "guitar", "obj instr"),
    ("piano", "m", "piano", "obj instr"),
    ("violín", "m", "violin", "obj instr"),
    ("tambor", "m", "drum", "obj instr"),
    ("flauta", "f", "flute", "obj instr"),
    ("cámara", "f", "camera", "obj mach frag fix"),
    ("mapa", "m", "map", "obj read"),
    ("jabón", "m", "soap", "obj mass"),
    ("toalla", "f", "towel", "obj"),
    ("cepillo", "m", "brush", "obj"),
    ("vela", "f", "candle", "obj"),
    # --- clothes --------------------------------------------------------
    ("camisa", "f", "shirt", "wear"),
    ("camiseta", "f", "t-shirt", "wear"),
    ("falda", "f", "skirt", "wear"),
    ("vestido", "m", "dress", "wear"),
    ("abrigo", "m", "coat", "wear"),
    ("chaqueta", "f", "jacket", "wear"),
    ("zapato", "m", "shoe", "wear"),
    ("bota", "f", "boot", "wear"),
    ("calcetín", "m", "sock", "wear"),
    ("bufanda", "f", "scarf", "wear"),
    ("gorra", "f", "cap", "wear"),
    ("sombrero", "m", "hat", "wear"),
    ("guante", "m", "glove", "wear"),
    ("corbata", "f", "tie", "wear"),
    # --- furniture and fittings -----------------------------------------
    ("mesa", "f", "table", "furn surf under book"),
    ("silla", "f", "chair", "furn under paint seat"),
    ("cama", "f", "bed", "furn surf under seat sleep"),
    ("sofá", "m", "couch", "furn surf under seat sleep"),
    ("armario", "m", "closet", "furn cont open"),
    ("estantería", "f", "shelf", "furn surf"),
    ("escritorio", "m", "desk", "furn surf under"),
    ("puerta", "f", "door", "furn open paint"),
    ("ventana", "f", "window", "furn open frag"),
    ("sillón", "m", "armchair", "furn under seat sleep"),
    ("alfombra", "f", "rug", "furn sleep"),
    ("nevera", "f", "fridge", "furn mach cont open"),
    ("horno", "m", "oven", "furn mach open"),
    ("pared", "f", "wall", "furn paint"),
    # --- vehicles -------------------------------------------------------
    ("coche", "m", "car", "veh drive rent fix"),
    ("autobús", "m", "bus", "veh pub drive"),
    ("tren", "m", "train", "veh pub"),
    ("avión", "m", "plane", "veh pub flyer"),
    ("barco", "m", "boat", "veh rent"),
    ("bicicleta", "f", "bicycle", "veh rent fix"),
    ("moto", "f", "motorcycle", "veh drive rent fix"),
    ("taxi", "m", "taxi", "veh pub"),
    ("camión", "m", "truck", "veh drive"),
    ("metro", "m", "subway", "veh pub"),
    # --- places ---------------------------------------------------------
    ("casa", "f", "house", "place bldg paint home build"),
    ("ciudad", "f", "city", "place region"),
    ("pueblo", "m", "village", "place region"),
    ("país", "m", "country", "place region", "países"),
    ("parque", "m", "park", "place out"),
    ("playa", "f", "beach", "place out water on"),
    ("escuela", "f", "school", "place bldg bare"),
    ("universidad", "f", "university", "place bldg at"),
    ("oficina", "f", "office", "place bldg at"),
    ("tienda", "f", "store", "place bldg shop"),
    ("mercado", "m", "market", "place at"),
    ("supermercado", "m", "supermarket", "place bldg shop at"),
    ("restaurante", "m", "restaurant", "place bldg shop at"),
    ("cafetería", "f", "cafe", "place bldg shop at"),
    ("biblioteca", "f", "library", "place bldg shop at"),
    ("hospital", "m", "hospital", "place bldg at"),
    ("banco", "m", "bank", "place bldg shop at"),
    ("museo", "m", "museum", "place bldg shop"),
    ("farmacia", "f", "pharmacy", "place bldg shop at"),
    ("panadería", "f", "bakery", "place bldg shop at"),
    ("cine", "m", "movie theater", "place bldg at"),
    ("teatro", "m", "theater", "place bldg at"),
    ("estación", "f", "station", "place bldg at"),
    ("aeropuerto", "m", "airport", "place bldg at"),
    ("iglesia", "f", "church", "place bldg bare"),
    ("hotel", "m", "hotel", "place bldg at book"),
    ("gimnasio", "m", "gym", "place bldg at"),
    ("trabajo", "m", "work", "place bare"),
    ("calle", "f", "street", "place out on"),
    ("plaza", "f", "square", "place out"),
    ("jardín", "m", "garden", "place out"),
    ("bosque", "m", "forest", "place out"),
    ("río", "m", "river", "place out water"),
    ("lago", "m", "lake", "place out water"),
    ("mar", "m", "sea", "place out water"),
    ("montaña", "f", "mountain", "place out"),
    ("campo", "m", "field", "place out"),
    ("granja", "f", "farm", "place at"),
    ("isla", "f", "island", "place on"),
    ("puerto", "m", "port", "place at"),
    ("zoo", "m", "zoo", "place at"),
    ("piscina", "f", "pool", "place water"),
    ("cocina", "f", "kitchen", "place room"),
    ("baño", "m", "bathroom", "place room"),
    ("habitación", "f", "room", "place room book"),
    ("salón", "m", "living room", "place room"),
    ("apartamento", "m", "apartment", "place rent"),
    ("puente", "m", "bridge", "place build on"),
    ("torre", "f", "tower", "place build"),
    ("edificio", "m", "building", "place bldg build"),
    # --- plants ---------------------------------------------------------
    ("árbol", "m", "tree", "plant"),
    ("flor", "f", "flower", "plant"),
    ("planta", "f", "plant", "plant"),
    ("rosa", "f", "rose", "plant"),
    ("césped", "m", "lawn", "plant mass"),
    # --- body parts (used with reflexive grooming verbs) ----------------
    ("mano", "f", "hand", "body"),
    ("pie", "m", "foot", "body"),
    ("diente", "m", "tooth", "body"),
    ("cara", "f", "face", "body"),
    ("pelo", "m", "hair", "body mass"),
    # --- abstract things ------------------------------------------------
    ("idea", "f", "idea", "abs expl"),
    ("problema", "m", "problem", "abs info solve expl"),
    ("pregunta", "f", "question", "abs question expl"),
    ("respuesta", "f", "answer", "abs info expl"),
    ("verdad", "f", "truth", "abs info tell"),
    ("historia", "f", "story", "abs read tell"),
    ("chiste", "m", "joke", "abs tell"),
    ("nombre", "m", "name", "abs info"),
    ("dirección", "f", "address", "abs info"),
    ("número", "m", "number", "abs info"),
    ("plan", "m", "plan", "abs expl"),
    ("secreto", "m", "secret", "abs info tell"),
    ("canción", "f", "song", "abs song music"),
    ("música", "f", "music", "abs music mass"),
    ("poema", "m", "poem", "abs read write"),
    ("examen", "m", "exam", "abs task"),
    ("tarea", "f", "homework", "abs task mass"),
    ("proyecto", "m", "project", "abs task"),
    ("lección", "f", "lesson", "abs task expl"),
    ("curso", "m", "course", "abs task"),
    ("cuenta", "f", "bill", "abs bill"),
    ("alquiler", "m", "rent", "abs bill mass"),
    ("premio", "m", "prize", "abs win"),
    # --- events ---------------------------------------------------------
    ("viaje", "m", "trip", "event org"),
    ("fiesta", "f", "party", "event org celeb starts"),
    ("reunión", "f", "meeting", "event org starts"),
    ("concierto", "m", "concert", "event org starts"),
    ("partido", "m", "match", "event win starts"),
    ("boda", "f", "wedding", "event org celeb starts"),
    ("cumpleaños", "m", "birthday", "event celeb"),
    ("clase", "f", "class", "event starts"),
    ("película", "f", "movie", "event starts"),
    ("carrera", "f", "race", "event win org starts"),
    ("concurso", "m", "contest", "event win org starts"),
    # --- games: "jugar al fútbol" / "play soccer" -----------------------
    ("fútbol", "m", "soccer", "game"),
    ("tenis", "m", "tennis", "game"),
    ("baloncesto", "m", "basketball", "game"),
    ("ajedrez", "m", "chess", "game"),
    ("voleibol", "m", "volleyball", "game"),
    ("golf", "m", "golf", "game"),
    # --- languages and school subjects (bare in both languages) ---------
    ("inglés", "m", "english", "lang speak"),
    ("español", "m", "spanish", "lang speak"),
    ("francés", "m", "french", "lang speak"),
    ("alemán", "m", "german", "lang speak"),
    ("chino", "m", "chinese", "lang speak"),
    ("italiano", "m", "italian", "lang speak"),
    ("química", "f", "chemistry", "lang"),
    ("física", "f", "physics", "lang"),
    ("geografía", "f", "geography", "lang"),
    ("biología", "f", "biology", "lang"),
    ("arte", "m", "art", "lang"),
    ("economía", "f", "economics", "lang"),
    # --- units used in time phrases, ages and prices --------------------
    ("día", "m", "day", "tunit"),
    ("semana", "f", "week", "tunit"),
    ("mes", "m", "month", "tunit"),
    ("año", "m", "year", "tunit"),
    ("hora", "f", "hour", "tunit"),
    ("minuto", "m", "minute", "tunit"),
    ("euro", "m", "euro", "unit"),
    ("dólar", "m", "dollar", "unit"),
)


# ==========================================================================
# Lexicon: adjectives
# ==========================================================================
@dataclass(frozen=True)
class Adjective:
    """An adjective lemma (Spanish masculine singular) with its selection.

    ``targets``: noun tags it can modify; ``copula``: "ser", "estar" or "both"
    for predicative use; ``attr``: usable attributively (English "asleep" is
    not); ``pre``: Spanish pre-nominal (apocopated) form for the masculine
    singular ("buen", "mal", "gran"), None when it always follows the noun.
    """

    es: str
    en: str
    targets: Tuple[str, ...]
    copula: str
    attr: bool = True
    pre: Optional[str] = None
    fem: Optional[str] = None


# (es masc sg, en, target tags, copula[, flags]) flags: "pred" = predicative
# only, "pre:<form>" = pre-nominal with apocope, "fem:<form>" = explicit
# feminine (otherwise by rule: -o -> -a, -or/-és/-án -> +a, else invariable).
_ADJ_ROWS: Tuple[tuple, ...] = (
    ("alto", "tall", "hum plant build", "ser"),
    ("bajo", "short", "hum", "ser"),
    ("joven", "young", "hum ani", "ser"),
    ("viejo", "old", "hum ani obj veh wear furn place", "ser"),
    ("guapo", "good-looking", "hum", "ser"),
    ("feo", "ugly", "hum ani obj wear place", "ser"),
    ("simpático", "nice", "hum", "ser"),
    ("amable", "kind", "hum", "ser"),
    ("inteligente", "intelligent", "hum ani", "ser"),
    ("tímido", "shy", "hum ani", "ser"),
    ("perezoso", "lazy", "hum ani", "ser"),
    ("trabajador", "hardworking", "hum", "ser"),
    ("generoso", "generous", "hum", "ser"),
    ("honesto", "honest", "hum", "ser"),
    ("gracioso", "funny", "hum ani", "ser"),
    ("serio", "serious", "hum", "ser"),
    ("fuerte", "strong", "hum ani", "ser"),
    ("débil", "weak", "hum ani", "ser"),
    ("famoso", "famous", "hum place", "ser"),
    ("rico", "rich", "hum", "ser"),
    ("pobre", "poor", "hum", "ser"),
    ("delgado", "thin", "hum ani", "ser"),
    ("rubio", "blond", "hum", "ser"),
    ("valiente", "brave", "hum", "ser"),
    ("tonto", "silly", "hum ani", "ser"),
    ("tranquilo", "quiet", "hum ani place", "both"),
    ("nervioso", "nervous", "hum ani", "estar"),
    ("cansado", "tired", "hum ani", "estar"),
    ("contento", "happy", "hum", "estar"),
    ("feliz", "happy", "hum", "both"),
    ("triste", "sad", "hum ani", "estar"),
    ("enfermo", "sick", "hum ani", "estar"),
    ("ocupado", "busy", "hum", "estar"),
    ("enfadado", "angry", "hum", "estar"),
    ("aburrido", "bored", "hum", "estar"),
    ("preocupado", "worried", "hum", "estar"),
    ("sorprendido", "surprised", "hum", "estar"),
    ("dormido", "asleep", "hum ani", "estar", "pred"),
    ("despierto", "awake", "hum ani", "estar", "pred"),
    ("listo", "ready", "hum food", "estar", "pred"),
    ("grande", "big", "ani obj furn veh place wear", "ser"),
    ("pequeño", "small", "ani obj furn veh place wear plant", "ser"),
    ("nuevo", "new", "obj furn veh wear place", "ser"),
    ("caro", "expensive", "obj veh wear furn shop", "ser"),
    ("barato", "cheap", "obj veh wear furn shop", "ser"),
    ("bonito", "pretty", "ani obj wear furn place plant", "ser"),
    ("hermoso", "beautiful", "hum ani place plant", "ser"),
    ("precioso", "lovely", "ani obj wear place plant", "ser"),
    ("rojo", "red", "obj wear veh furn fruit plant", "ser"),
    ("azul", "blue", "obj wear veh furn", "ser"),
    ("verde", "green", "obj wear veh furn fruit plant", "ser"),
    ("blanco", "white", "ani obj wear veh furn bldg plant", "ser"),
    ("negro", "black", "ani obj wear veh furn", "ser"),
    ("amarillo", "yellow", "obj wear veh furn fruit plant", "ser"),
    ("gris", "gray", "ani obj wear veh furn", "ser"),
    ("marrón", "brown", "ani obj wear furn", "ser"),
    ("morado", "purple", "obj wear plant", "ser"),
    ("oscuro", "dark", "place wear", "ser"),
    ("moderno", "modern", "obj veh furn bldg", "ser"),
    ("antiguo", "ancient", "obj furn place", "ser"),
    ("pesado", "heavy", "obj furn", "ser"),
    ("ligero", "light", "obj wear", "ser"),
    ("cómodo", "comfortable", "wear furn veh", "ser"),
    ("útil", "useful", "obj", "ser"),
    ("largo", "long", "wear read event", "ser"),
    ("corto", "short", "wear read event", "ser"),
    ("redondo", "round", "obj furn", "ser"),
    ("rápido", "fast", "veh ani", "ser"),
    ("lento", "slow", "veh ani", "ser"),
    ("limpio", "clean", "obj wear furn veh place", "estar"),
    ("sucio", "dirty", "obj wear furn veh place ani", "estar"),
    ("roto", "broken", "obj furn veh wear", "estar"),
    ("abierto", "open", "open shop", "estar"),
    ("cerrado", "closed", "open shop", "estar"),
    ("lleno", "full", "cont place", "estar"),
    ("vacío", "empty", "cont place", "estar"),
    ("caliente", "hot", "food drink", "estar"),
    ("frío", "cold", "food drink", "estar"),
    ("mojado", "wet", "wear obj ani hum", "estar"),
    ("seco", "dry", "wear obj", "estar"),
    ("delicioso", "delicious", "food drink", "ser"),
    ("dulce", "sweet", "fruit make drink", "ser"),
    ("salado", "salty", "cook", "ser"),
    ("picante", "spicy", "cook", "ser"),
    ("fresco", "fresh", "food", "estar"),
    ("sano", "healthy", "food hum ani", "ser"),
    ("ruidoso", "noisy", "place veh", "ser"),
    ("enorme", "huge", "ani place obj furn veh", "ser"),
    ("peligroso", "dangerous", "ani place", "ser"),
    ("seguro", "safe", "place veh", "ser"),
    ("fácil", "easy", "abs", "ser"),
    ("difícil", "difficult", "abs", "ser"),
    ("importante", "important", "abs event hum", "ser"),
    ("interesante", "interesting", "abs event read hum place", "ser"),
    ("aburrido", "boring", "abs event read", "ser"),
    ("divertido", "fun", "event", "ser"),
    ("extraño", "strange", "abs hum ani obj", "ser"),
    ("sencillo", "simple", "abs", "ser"),
    ("complicado", "complicated", "abs", "ser"),
    ("excelente", "excellent", "abs event food", "ser"),
    ("terrible", "terrible", "abs event food", "ser"),
    ("perfecto", "perfect", "abs event", "ser"),
    ("especial", "special", "abs event obj", "ser"),
    ("bueno", "good", "hum abs event food read", "ser", "pre:buen"),
    ("malo", "bad", "hum abs event food read", "ser", "pre:mal"),
    ("gran", "great", "hum place event", "ser", "pre:gran"),
)


# ==========================================================================
# Lexicon: verbs
# ==========================================================================
@dataclass(frozen=True)
class Verb:
    """A verb lemma with its argument frames and selectional restrictions.

    ``frames``: tr (direct object), intr, mot (motion: goal/source PP), give
    (object + recipient), put (object + location), que (that-clause), refl
    (reflexive intransitive), body (reflexive + body part), game, lang, inan
    (inanimate subject), weather, cost. ``obj``/``subj``: noun tags. ``pp``:
    PP kinds (loc, goal, src, with, for, to, through, about, instr, seat).
    ``loc``: noun tags for its locative PPs. ``pers_a``: personal "a" before
    specific animate objects. ``adv``: manner adverbs it combines with.
    ``en_pret``: English verb used in the preterite (conocer: "meet").
    """

    es: str
    en: str
    frames: Tuple[str, ...]
    obj: Tuple[str, ...] = ()
    subj: Tuple[str, ...] = ("hum",)
    pp: Tuple[str, ...] = ()
    loc: Tuple[str, ...] = ("place",)
    pers_a: bool = True
    adv: Tuple[str, ...] = ()
    en_pret: str = ""

    @property
    def reflexive(self) -> bool:
        return self.es.endswith("se")

    @property
    def base(self) -> str:
        """The infinitive without the reflexive clitic (levantarse -> levantar)."""
        return self.es[:-2] if self.reflexive else self.es


def _v(es, en, frames, obj="", subj="hum", pp="", loc="place", adv="", **kw) -> Verb:
    """Compact verb row: tag lists are space-separated strings."""
    return Verb(
        es, en, tuple(frames.split()), tuple(obj.split()), tuple(subj.split()),
        tuple(pp.split()), tuple(loc.split()), adv=tuple(adv.split()), **kw
    )


_VERBS: Tuple[Verb, ...] = (
    # --- transitive: eating, buying, handling things --------------------
    _v("comer", "eat", "tr intr", "food", "hum ani", "loc with", adv="fast alot"),
    _v("beber", "drink", "tr", "drink", "hum ani", "loc"),
    _v("comprar", "buy", "tr", "food drink obj wear furn veh pet", pp="loc for", pers_a=False),
    _v("vender", "sell", "tr", "food obj wear furn veh ani", pp="loc", pers_a=False),
    _v("leer", "read", "tr intr", "read", pp="loc", adv="alot fast"),
    _v("escribir", "write", "tr give", "write", pp="loc for"),
    _v("ver", "see", "tr", "hum ani veh event bldg plant", "hum ani", "loc"),
    _v("mirar", "look at", "tr", "hum ani obj veh plant wear", "hum ani"),
    _v("buscar", "look for", "tr", "hum ani obj wear read", pp="loc"),
    _v("encontrar", "find", "tr", "hum ani obj wear read", pp="loc"),
    _v("perder", "lose", "tr", "obj wear read win"),
    _v("traer", "bring", "tr", "food drink obj", pp="for"),
    _v("llevar", "carry", "tr", "obj food drink", pp="loc"),
    _v("usar", "use", "tr", "mach instr dish"),
    _v("abrir", "open", "tr", "open"),
    _v("cerrar", "close", "tr", "open"),
    _v("lavar", "wash", "tr", "wear veh dish fruit ani"),
    _v("limpiar", "clean", "tr", "room furn veh dish bldg"),
    _v("cocinar", "cook", "tr intr", "cook", pp="for loc", loc="room home", adv="well"),
    _v("preparar", "prepare", "tr", "cook make", pp="for"),
    _v("cortar", "cut", "tr", "cut"),
    _v("pedir", "order", "tr", "food drink", pp="loc", loc="shop"),
    _v("tener", "have", "tr", "pet kin obj veh wear furn", pers_a=False),
    _v("querer", "want", "tr", "food drink obj veh pet wear", pers_a=False),
    _v("necesitar", "need", "tr", "food drink obj veh wear furn", pers_a=False),
    _v("hacer", "make", "tr", "make", pp="for"),
    _v("preferir", "prefer", "tr", "food drink", pers_a=False),
    _v("probar", "try", "tr", "food drink"),
    _v("calentar", "heat", "tr", "cook drink"),
    _v("servir", "serve", "tr", "food drink", pp="loc"),
    _v("construir", "build", "tr", "build"),
    _v("mover", "move", "tr", "furn"),
    _v("recibir", "receive", "tr", "mail"),
    _v("llenar", "fill", "tr", "cont"),
    _v("romper", "break", "tr", "frag"),
    _v("arreglar", "fix", "tr", "fix", pp="for"),
    _v("pintar", "paint", "tr intr", "paint", pp="loc", adv="well"),
    _v("dibujar", "draw", "tr intr", "ani veh plant bldg", pers_a=False, adv="well"),
    _v("plantar", "plant", "tr", "plant"),
    _v("regar", "water", "tr", "plant"),
    _v("atrapar", "catch", "tr", "ani throw"),
    _v("lanzar", "throw", "tr", "throw"),
    _v("recoger", "pick up", "tr", "hum obj wear toy"),
    _v("alquilar", "rent", "tr", "rent", pers_a=False),
    _v("reservar", "book", "tr", "book"),
    _v("traducir", "translate", "tr", "read"),
    _v("revisar", "check", "tr", "read mail veh mach"),
    _v("apagar", "turn off", "tr", "mach"),
    _v("encender", "turn on", "tr", "mach"),
    _v("tocar", "play", "tr", "instr", pp="loc", adv="well"),
    _v("cantar", "sing", "tr intr", "song", pp="loc for", adv="well"),
    _v("escuchar", "listen to", "tr", "music hum"),
    _v("oír", "hear", "tr", "music hum ani"),
    _v("olvidar", "forget", "tr", "obj info read"),
    _v("recordar", "remember", "tr", "info hum"),
    _v("entender", "understand", "tr", "question info read"),
    _v("explicar", "explain", "tr give", "expl"),
    _v("resolver", "solve", "tr", "solve"),
    _v("contestar", "answer", "tr", "question"),
    _v("empezar", "start", "tr", "task"),
    _v("terminar", "finish", "tr", "task"),
    _v("pagar", "pay", "tr", "bill"),
    _v("ganar", "win", "tr", "win"),
    _v("celebrar", "celebrate", "tr", "celeb", pp="loc with"),
    _v("organizar", "organize", "tr", "org", pp="for"),
    _v("contar", "tell", "tr give", "tell"),
    _v("tomar", "take", "tr", "pub", pp="loc", loc="at"),
    _v("conducir", "drive", "tr intr", "drive", adv="fast well"),
    # --- transitive with (mostly human) animate objects: personal "a" -----
    _v("visitar", "visit", "tr", "hum bldg region", pp="with"),
    _v("llamar", "call", "tr", "hum"),
    _v("ayudar", "help", "tr", "hum ani"),
    _v("esperar", "wait for", "tr", "hum pub", pp="loc", loc="at out"),
    _v("conocer", "know", "tr", "hum", en_pret="meet"),
    _v("cuidar", "take care of", "tr", "hum ani plant"),
    _v("abrazar", "hug", "tr", "hum pet"),
    _v("besar", "kiss", "tr", "hum"),
    _v("invitar", "invite", "tr", "hum"),
    _v("saludar", "greet", "tr", "hum"),
    _v("seguir", "follow", "tr", "hum ani veh"),
    # --- giving: object + recipient "a" / "to" ----------------------------
    _v("dar", "give", "give", "obj food drink mail"),
    _v("regalar", "give", "give", "obj mail toy pet"),
    _v("mandar", "send", "give", "mail"),
    _v("prestar", "lend", "give", "obj veh read"),
    _v("mostrar", "show", "give", "obj read"),
    # --- putting things somewhere ---------------------------------------
    _v("poner", "put", "put", "obj food drink"),
    _v("dejar", "leave", "put", "obj food drink wear"),
    _v("guardar", "keep", "put", "obj food wear"),
    # --- verbs taking a "que" / "that" clause ---------------------------
    _v("decir", "say", "que"),
    _v("pensar", "think", "que"),
    _v("creer", "believe", "que"),
    _v("saber", "know", "que tr", "info"),
    # --- languages and school subjects ----------------------------------
    _v("hablar", "speak", "lang", "speak", adv="well"),
    _v("hablar", "talk", "intr", pp="with about", adv="alot"),
    _v("aprender", "learn", "lang", "lang", adv="fast"),
    _v("aprender", "learn", "tr", "song"),
    _v("estudiar", "study", "lang intr", "lang", pp="loc with", adv="alot"),
    _v("enseñar", "teach", "lang", "lang", adv="well"),
    # --- games ----------------------------------------------------------
    _v("jugar", "play", "game intr", "game", "hum ani", "loc with", loc="out",
       adv="well"),
    # --- intransitive ---------------------------------------------------
    _v("dormir", "sleep", "intr", subj="hum ani", pp="loc", loc="room out sleep", adv="alot well"),
    _v("trabajar", "work", "intr", pp="loc with", loc="bldg bare", adv="alot well"),
    _v("bailar", "dance", "intr", pp="loc with", adv="well alot together"),
    _v("nadar", "swim", "intr", subj="hum ani", pp="loc", loc="water", adv="fast well"),
    _v("correr", "run", "intr", subj="hum ani", pp="loc", loc="out", adv="fast"),
    _v("caminar", "walk", "intr mot", subj="hum ani", pp="loc goal", loc="out bldg",
       adv="slowly together"),
    _v("pasear", "stroll", "intr", pp="through with", adv="together"),
    _v("llorar", "cry", "intr", adv="alot"),
    _v("gritar", "shout", "intr", pp="loc", loc="out", adv="alot"),
    _v("descansar", "rest", "intr", subj="hum ani", pp="loc", loc="room home out seat", adv="alot"),
    _v("viajar", "travel", "intr mot", pp="goal instr with", loc="region", adv="alot together"),
    _v("vivir", "live", "intr", subj="hum ani", pp="loc", loc="region home bldg out",
       adv="together"),
    _v("cenar", "have dinner", "intr", pp="loc with", loc="shop home", adv="early late together"),
    _v("almorzar", "have lunch", "intr", pp="loc with", loc="shop home", adv="early late together"),
    _v("desayunar", "have breakfast", "intr", pp="loc with", loc="room shop home",
       adv="early late"),
    _v("esperar", "wait", "intr", pp="loc", loc="at out"),
    _v("llegar", "arrive", "mot", subj="hum pub", pp="goal", adv="early late"),
    _v("salir", "leave", "mot", subj="hum pub", pp="src", adv="early late"),
    _v("volver", "come back", "mot", pp="goal src", adv="early late"),
    _v("venir", "come", "mot", pp="src goal instr"),
    _v("ir", "go", "mot", pp="goal instr with"),
    # --- inanimate subjects ---------------------------------------------
    _v("funcionar", "work", "inan", subj="mach", adv="well"),
    _v("abrir", "open", "inan", subj="shop", adv="early late"),
    _v("cerrar", "close", "inan", subj="shop", adv="early late"),
    _v("empezar", "start", "inan", subj="starts", adv="early late"),
    _v("terminar", "end", "inan", subj="starts", adv="early late"),
    _v("crecer", "grow", "inan", subj="plant ani", adv="fast slowly"),
    _v("volar", "fly", "inan", subj="flyer", adv="fast slowly"),
    # --- reflexive ------------------------------------------------------
    _v("levantarse", "get up", "refl", adv="early late"),
    _v("despertarse", "wake up", "refl", adv="early late"),
    _v("acostarse", "go to bed", "refl", adv="early late"),
    _v("ducharse", "take a shower", "refl", adv="early"),
    _v("vestirse", "get dressed", "refl", adv="fast"),
    _v("sentarse", "sit down", "refl", pp="seat"),
    _v("quedarse", "stay", "refl", pp="loc", loc="home bldg region"),
    _v("irse", "leave", "refl", pp="src", loc="event bldg home", adv="early late"),
    _v("divertirse", "have fun", "refl", pp="loc with", loc="event out"),
    _v("dormirse", "fall asleep", "refl", pp="seat", adv="early late"),
    _v("perderse", "get lost", "refl", pp="loc", loc="region out"),
    _v("romperse", "break", "refl", subj="frag"),
    # --- reflexive with a body part: "se lava las manos" / "washes his hands"
    _v("lavarse", "wash", "body", "hand foot face hair"),
    _v("cepillarse", "brush", "body", "tooth hair"),
    _v("secarse", "dry", "body", "hand foot face hair"),
    # --- weather and prices ---------------------------------------------
    _v("llover", "rain", "weather", pp="loc", loc="region out"),
    _v("nevar", "snow", "weather", pp="loc", loc="region out"),
    _v("costar", "cost", "cost", subj="obj veh wear furn food drink"),
)

# Special-purpose verb entries (not drawn as ordinary predicates).
_SER = Verb("ser", "be", ("cop",))
_ESTAR = Verb("estar", "be", ("cop",))
_TENER_AGE = Verb("tener", "be", ("age",))  # "tiene diez años" / "is ten years old"
_HACER_WEATHER = Verb("hacer", "be", ("weather",))  # "hace frío" / "it is cold"

#: "hace frío" weather idioms: (noun after "hacer", English adjective after "be")
_WEATHER_IDIOMS = (("frío", "cold"), ("calor", "hot"), ("sol", "sunny"), ("viento", "windy"))

# Modal verbs taking an infinitive VP: (es, English per tense; None = not used).
# "{s}" in the English present is the 3sg agreement slot ("want{s} to").
_MODALS: Tuple[Tuple[str, Dict[str, Optional[Tuple[str, str]]]], ...] = (
    # each tense -> (Spanish tense to use, English affirmative | negative)
    ("poder", {"pres": ("pres", "can|cannot"), "past": ("pret", "could|could not"),
               "fut": ("fut", "will be able to|will not be able to")}),
    ("querer", {"pres": ("pres", "want{s} to|{do} not want to"),
                "past": ("impf", "wanted to|did not want to"), "fut": None}),
    ("necesitar", {"pres": ("pres", "need{s} to|{do} not need to"),
                   "past": ("pret", "needed to|did not need to"),
                   "fut": ("fut", "will need to|will not need to")}),
    ("tener que", {"pres": ("pres", "{have} to|{do} not have to"),
                   "past": ("pret", "had to|did not have to"),
                   "fut": ("fut", "will have to|will not have to")}),
)


# ==========================================================================
# Lexicon: closed classes
# ==========================================================================
# Determiner kinds: (masc sg, fem sg, masc pl, fem pl, en sg, en pl).
# None = this kind does not exist for that number.
_DETERMINERS: Dict[str, Tuple[Optional[str], ...]] = {
    "def": ("el", "la", "los", "las", "the", "the"),
    "indef": ("un", "una", "unos", "unas", "a", "some"),
    "this": ("este", "esta", "estos", "estas", "this", "these"),
    "that": ("ese", "esa", "esos", "esas", "that", "those"),
    "my": ("mi", "mi", "mis", "mis", "my", "my"),
    "your": ("tu", "tu", "tus", "tus", "your", "your"),
    "his": ("su", "su", "sus", "sus", "his", "his"),
    "her": ("su", "su", "sus", "sus", "her", "her"),
    "their": ("su", "su", "sus", "sus", "their", "their"),
    "our": ("nuestro", "nuestra", "nuestros", "nuestras", "our", "our"),
    "many": ("mucho", "mucha", "muchos", "muchas", "a lot of", "many"),
    "other": ("otro", "otra", "otros", "otras", "another", "other"),
    "some": (None, None, "algunos", "algunas", None, "some"),
    "bare": ("", "", "", "", "", ""),
}
_POSSESSIVE_KINDS = ("my", "your", "his", "her", "their", "our")
#: English possessive determiner agreeing with a subject (grooming verbs).
_EN_POSSESSIVE = {"1sg": "my", "2sg": "your", "1pl": "our", "3pl": "their"}

# Subject pronouns per (person, gender): (es, en).
_PRONOUNS = {
    ("1sg", "m"): ("yo", "I"), ("1sg", "f"): ("yo", "I"),
    ("2sg", "m"): ("tú", "you"), ("2sg", "f"): ("tú", "you"),
    ("3sg", "m"): ("él", "he"), ("3sg", "f"): ("ella", "she"),
    ("1pl", "m"): ("nosotros", "we"), ("1pl", "f"): ("nosotras", "we"),
    ("3pl", "m"): ("ellos", "they"), ("3pl", "f"): ("ellas", "they"),
}
_REFLEXIVE_CLITIC = {"1sg": "me", "2sg": "te", "3sg": "se", "1pl": "nos", "3pl": "se"}

# Manner adverbs verbs may select (key -> (es, en)). "together" agrees in
# Spanish ("juntos"/"juntas") and only goes with plural subjects.
_MANNER_ADVERBS = {
    "fast": ("rápido", "fast"),
    "slowly": ("despacio", "slowly"),
    "well": ("bien", "well"),
    "alot": ("mucho", "a lot"),
    "early": ("temprano", "early"),
    "late": ("tarde", "late"),
    "together": ("juntos", "together"),
}
# Frequency adverbs (present tense, before the verb in both languages).
_FREQUENCY_ADVERBS = (
    ("siempre", "always"), ("nunca", "never"), ("a menudo", "often"),
    ("a veces", "sometimes"), ("normalmente", "usually"), ("también", "also"),
)
# Degree adverbs before a predicative adjective.
_DEGREE_ADVERBS = (("muy", "very"), ("bastante", "quite"), ("un poco", "a little"),
                   ("demasiado", "too"))

# Spatial prepositions: (es, en, noun tags of the ground). "en" is handled
# separately because its English translation depends on the noun (in/at/on).
_SPATIAL_PREPS = (
    ("cerca de", "near", "place furn"),
    ("lejos de", "far from", "place"),
    ("delante de", "in front of", "bldg furn"),
    ("detrás de", "behind", "bldg furn"),
    ("al lado de", "next to", "bldg furn"),
)
_SURFACE_PREPS = (  # where things are put / are
    ("sobre", "on", "surf"),
    ("encima de", "on top of", "surf"),
    ("debajo de", "under", "under"),
    ("dentro de", "inside", "cont"),
    ("en", "in", "cont"),
    ("en", "on", "surf"),
)
# Complementizers and conjunctions.
_COORDINATORS = (("y", "and"), ("pero", "but"))

# Days of the week: (es sg, en); Spanish plural by rule (lunes invariable).
_DAYS = (("lunes", "monday"), ("martes", "tuesday"), ("miércoles", "wednesday"),
         ("jueves", "thursday"), ("viernes", "friday"), ("sábado", "saturday"),
         ("domingo", "sunday"))
_PARTS_OF_DAY = (("mañana", "morning"), ("tarde", "afternoon"), ("noche", "night"))


# ==========================================================================
# Spanish morphology
# ==========================================================================
_ES_VOWELS = "aeiouáéíóúü"
_ACCENT = {"a": "á", "e": "é", "i": "í", "o": "ó", "u": "ú"}
_UNACCENT = {v: k for k, v in _ACCENT.items()}


def _vowel_runs(word: str) -> List[Tuple[int, int]]:
    """(start, end) spans of maximal vowel sequences: a proxy for syllables."""
    runs, start = [], None
    for i, ch in enumerate(word + "#"):
        if ch in _ES_VOWELS and start is None:
            start = i
        elif ch not in _ES_VOWELS and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _has_accent(text: str) -> bool:
    return any(ch in _UNACCENT for ch in text)


def _accent_run(word: str, run: Tuple[int, int]) -> str:
    """Put a written accent on the nucleus of a vowel run (strong vowel first)."""
    start, end = run
    nucleus = next((i for i in range(start, end) if word[i] in "aeo"), end - 1)
    return word[:nucleus] + _ACCENT[word[nucleus]] + word[nucleus + 1:]


def es_plural(word: str) -> str:
    """Spanish plural of a noun or adjective (regular rules).

    casa -> casas, café -> cafés, papel -> papeles, lápiz -> lápices,
    canción -> canciones (the accent is no longer needed), joven -> jóvenes
    (it becomes necessary), lunes -> lunes (unstressed final -s: invariable).
    Exceptions such as país -> países are listed in the lexicon.
    """
    last = word[-1]
    if last in "aeiouáéó":
        return word + "s"
    if last in "íú":
        return word + "es"
    if last == "z":
        return word[:-1] + "ces"
    runs = _vowel_runs(word)
    final_syllable = word[runs[-1][0]:]
    if last in "sx" and len(runs) > 1 and not _has_accent(final_syllable):
        return word
    if _has_accent(final_syllable):  # stressed last syllable: drop the accent
        return "".join(_UNACCENT.get(ch, ch) for ch in word) + "es"
    if last == "n" and len(runs) > 1 and not _has_accent(word):
        return _accent_run(word, runs[-2]) + "es"
    return word + "es"


_ES_INVARIABLE_OR = ("mejor", "peor", "mayor", "menor", "superior", "inferior", "interior",
                     "exterior")


def es_feminine(adj: str) -> str:
    """Feminine singular of a Spanish adjective given in masculine singular."""
    if adj.endswith("o"):
        return adj[:-1] + "a"
    if adj.endswith("or") and adj not in _ES_INVARIABLE_OR:
        return adj + "a"
    if adj.endswith(("és", "án")):
        return "".join(_UNACCENT.get(ch, ch) for ch in adj) + "a"
    return adj  # grande, azul, feliz, joven, marrón: one form for both genders


def es_adjective(adj: "Adjective", gender: str, number: str, prenominal: bool = False) -> str:
    """Agreeing form of an adjective; apocope before a masculine singular noun
    ("buen libro") and "gran" before any singular noun."""
    if prenominal and adj.pre and number == "sg" and (gender == "m" or adj.pre == "gran"):
        return adj.pre
    base = "grande" if adj.es == "gran" else adj.es
    sg = (adj.fem or es_feminine(base)) if gender == "f" else base
    return sg if number == "sg" else es_plural(sg)


def es_determiner(kind: str, gender: str, number: str, tonic_a: bool = False) -> str:
    """Spanish determiner; feminine nouns with stressed a- take "el"/"un"
    in the singular ("el agua fría")."""
    row = _DETERMINERS[kind]
    if tonic_a and number == "sg" and kind in ("def", "indef"):
        gender = "m"
    index = (0 if gender == "m" else 1) + (0 if number == "sg" else 2)
    form = row[index]
    if form is None:
        raise ValueError(f"no {number} form for determiner {kind!r}")
    return form


def en_determiner(kind: str, number: str) -> str:
    """English determiner of the same kind (the caller turns "a" into "an"
    by the next word, see :func:`english.indefinite_article`)."""
    form = _DETERMINERS[kind][4 if number == "sg" else 5]
    if form is None:
        raise ValueError(f"no {number} form for determiner {kind!r}")
    return form


# --- numbers --------------------------------------------------------------
_ES_NUMBERS_1_29 = (
    "uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince "
    "dieciséis diecisiete dieciocho diecinueve veinte veintiuno veintidós veintitrés "
    "veinticuatro veinticinco veintiséis veintisiete veintiocho veintinueve"
).split()
_ES_TENS = {3: "treinta", 4: "cuarenta", 5: "cincuenta", 6: "sesenta", 7: "setenta",
            8: "ochenta", 9: "noventa"}


def es_number(n: int, gender: Optional[str] = None) -> str:
    """Spanish cardinal 1..100 in words. With a noun ``gender``, "uno" agrees:
    un/una libro(s), veintiún libros / veintiuna casas, treinta y un / una."""
    if not 1 <= n <= 100:
        raise ValueError(f"number out of range: {n}")
    if n == 100:
        return "cien"
    if n < 30:
        word = _ES_NUMBERS_1_29[n - 1]
    else:
        word = _ES_TENS[n // 10] + ("" if n % 10 == 0 else " y " + _ES_NUMBERS_1_29[n % 10 - 1])
    if gender is not None and word.endswith("uno"):
        if gender == "f":
            word = word[:-1] + "a"
        else:
            word = word[:-1] if n != 21 else "veintiún"
    return word


# --- verbs ----------------------------------------------------------------
_ES_ENDINGS = {
    ("pres", "ar"): ("o", "as", "a", "amos", "an"),
    ("pres", "er"): ("o", "es", "e", "emos", "en"),
    ("pres", "ir"): ("o", "es", "e", "imos", "en"),
    ("pret", "ar"): ("é", "aste", "ó", "amos", "aron"),
    ("pret", "er"): ("í", "iste", "ió", "imos", "ieron"),
    ("pret", "ir"): ("í", "iste", "ió", "imos", "ieron"),
    ("impf", "ar"): ("aba", "abas", "aba", "ábamos", "aban"),
    ("impf", "er"): ("ía", "ías", "ía", "íamos", "ían"),
    ("impf", "ir"): ("ía", "ías", "ía", "íamos", "ían"),
}
_ES_FUTURE_ENDINGS = ("é", "ás", "á", "emos", "án")

# Present-tense stem change in the stressed forms (1sg, 2sg, 3sg, 3pl). For
# -ir verbs it also shows in the preterite 3sg/3pl (pidió, durmió, prefirió).
_ES_STEM_CHANGE = {
    "pensar": "ie", "empezar": "ie", "cerrar": "ie", "entender": "ie", "perder": "ie",
    "preferir": "ie", "calentar": "ie", "regar": "ie", "despertar": "ie", "sentar": "ie",
    "nevar": "ie", "encender": "ie", "divertir": "ie", "querer": "ie",
    "volver": "ue", "encontrar": "ue", "dormir": "ue", "recordar": "ue", "mostrar": "ue",
    "probar": "ue", "mover": "ue", "resolver": "ue", "almorzar": "ue", "acostar": "ue",
    "contar": "ue", "llover": "ue", "volar": "ue", "costar": "ue", "poder": "ue",
    "jugar": "ue",
    "pedir": "i", "servir": "i", "vestir": "i", "repetir": "i",
}

# Irregular forms, one string of five persons (1sg 2sg 3sg 1pl 3pl) per
# tense; "fut" gives the future stem. Tenses not listed follow the rules.
_ES_IRREGULAR: Dict[str, Dict[str, str]] = {
    "ser": {"pres": "soy eres es somos son", "pret": "fui fuiste fue fuimos fueron",
            "impf": "era eras era éramos eran"},
    "estar": {"pres": "estoy estás está estamos están",
              "pret": "estuve estuviste estuvo estuvimos estuvieron"},
    "tener": {"pres": "tengo tienes tiene tenemos tienen",
              "pret": "tuve tuviste tuvo tuvimos tuvieron", "fut": "tendr"},
    "ir": {"pres": "voy vas va vamos van", "pret": "fui fuiste fue fuimos fueron",
           "impf": "iba ibas iba íbamos iban"},
    "hacer": {"pres": "hago haces hace hacemos hacen",
              "pret": "hice hiciste hizo hicimos hicieron", "fut": "har"},
    "poder": {"pret": "pude pudiste pudo pudimos pudieron", "fut": "podr"},
    "querer": {"pret": "quise quisiste quiso quisimos quisieron", "fut": "querr"},
    "decir": {"pres": "digo dices dice decimos dicen",
              "pret": "dije dijiste dijo dijimos dijeron", "fut": "dir"},
    "ver": {"pres": "veo ves ve vemos ven", "pret": "vi viste vio vimos vieron",
            "impf": "veía veías veía veíamos veían"},
    "dar": {"pres": "doy das da damos dan", "pret": "di diste dio dimos dieron"},
    "saber": {"pres": "sé sabes sabe sabemos saben",
              "pret": "supe supiste supo supimos supieron", "fut": "sabr"},
    "venir": {"pres": "vengo vienes viene venimos vienen",
              "pret": "vine viniste vino vinimos vinieron", "fut": "vendr"},
    "poner": {"pres": "pongo pones pone ponemos ponen",
              "pret": "puse pusiste puso pusimos pusieron", "fut": "pondr"},
    "salir": {"pres": "salgo sales sale salimos salen", "fut": "saldr"},
    "traer": {"pres": "traigo traes trae traemos traen",
              "pret": "traje trajiste trajo trajimos trajeron"},
    "conocer": {"pres": "conozco conoces conoce conocemos conocen"},
    "crecer": {"pres": "crezco creces crece crecemos crecen"},
    "leer": {"pret": "leí leíste leyó leímos leyeron"},
    "creer": {"pret": "creí creíste creyó creímos creyeron"},
    "oír": {"pres": "oigo oyes oye oímos oyen", "pret": "oí oíste oyó oímos oyeron",
            "fut": "oir"},
    "construir": {"pres": "construyo construyes construye construimos construyen",
                  "pret": "construí construiste construyó construimos construyeron"},
    "traducir": {"pres": "traduzco traduces traduce traducimos traducen",
                 "pret": "traduje tradujiste tradujo tradujimos tradujeron"},
    "conducir": {"pres": "conduzco conduces conduce conducimos conducen",
                 "pret": "conduje condujiste condujo condujimos condujeron"},
    "seguir": {"pres": "sigo sigues sigue seguimos siguen",
               "pret": "seguí seguiste siguió seguimos siguieron"},
    "recoger": {"pres": "recojo recoges recoge recogemos recogen"},
}


def _apply_stem_change(stem: str, change: str) -> str:
    """Change the last stem vowel: e->ie / e->i / o->ue (u->ue in jugar) / o->u."""
    targets = {"ie": "e", "i": "e", "ue": "ou", "u": "o"}[change]
    for i in range(len(stem) - 1, -1, -1):
        if stem[i] in targets:
            return stem[:i] + change + stem[i + 1:]
    raise ValueError(f"no vowel to change in {stem!r}")


def _pret_1sg_spelling(stem: str) -> str:
    """busqué, llegué, empecé: keep the consonant sound before -é."""
    for old, new in (("c", "qu"), ("g", "gu"), ("z", "c")):
        if stem.endswith(old):
            return stem[: -len(old)] + new
    return stem


def es_conjugate(infinitive: str, tense: str, person: str) -> str:
    """Finite form of a non-reflexive Spanish verb (pres, pret, impf, fut).

    Irregular verbs come from full tables; regular ones are built by rule,
    including stem changes (piensa, vuelve, pide, juega), -ir preterite stem
    changes (pidió, durmieron) and preterite 1sg spelling (busqué, empecé).
    """
    i = PERSONS.index(person)
    table = _ES_IRREGULAR.get(infinitive, {})
    if tense == "fut":
        return table.get("fut", infinitive) + _ES_FUTURE_ENDINGS[i]
    if tense in table:
        return table[tense].split()[i]
    if tense not in ("pres", "pret", "impf"):
        raise ValueError(f"unknown tense {tense!r}")
    stem, vclass = infinitive[:-2], infinitive[-2:].replace("í", "i")
    change = _ES_STEM_CHANGE.get(infinitive)
    if tense == "pres" and change and person != "1pl":
        stem = _apply_stem_change(stem, change)
    elif tense == "pret":
        if vclass == "ar" and person == "1sg":
            stem = _pret_1sg_spelling(stem)
        if vclass == "ir" and change and person in ("3sg", "3pl"):
            stem = _apply_stem_change(stem, "u" if change == "ue" else "i")
    return stem + _ES_ENDINGS[(tense, vclass)][i]


def es_infinitive(verb: Verb, person: str) -> str:
    """Infinitive, with the reflexive clitic attached ("levantarme")."""
    return verb.base + _REFLEXIVE_CLITIC[person] if verb.reflexive else verb.es


# --- English verb group ---------------------------------------------------
#: English tense of each Spanish tense in a finite verb group ("fut" and
#: "goingto" use auxiliaries instead: "will", "be going to").
_EN_TENSE = {"pres": "present", "pret": "past", "impf": "past"}


def en_finite(verb: str, tense: str, person: str, neg: bool = False,
              pret_verb: str = "") -> Tuple[str, str]:
    """English verb group as (auxiliary words, main verb words).

    Do-support for negation ("does not eat", "did not eat"), "will" for the
    future, "be going to" for the periphrastic future, and "be" inflected
    directly ("is not"). ``pret_verb`` replaces the verb in the past tenses
    (conocer: "knew" a person, but "met" them in the preterite).
    """
    if tense in ("pret", "impf") and pret_verb:
        verb = pret_verb
    if tense == "goingto":
        be = english.be("present", person)
        return (f"{be} not going to" if neg else f"{be} going to"), verb
    if tense == "fut":
        return ("will not" if neg else "will"), verb
    if tense not in _EN_TENSE:
        raise ValueError(f"unknown tense {tense!r}")
    en_tense = _EN_TENSE[tense]
    if verb == "be":
        form = english.be(en_tense, person)
        return "", (form + " not" if neg else form)
    if neg:
        return english.do(en_tense, person) + " not", verb
    if en_tense == "present":
        return "", english.present(verb, person)
    return "", english.past(verb)


# ==========================================================================
# Lexicon objects and indexes (built once, in table order)
# ==========================================================================
def _make_noun(row: tuple) -> Noun:
    es, gender, en, tags = row[:4]
    es_pl = row[4] if len(row) > 4 and row[4] else es_plural(es)
    return Noun(es, gender, en, tuple(tags.split()), es_pl, english.plural(en))


def _make_adjective(row: tuple) -> Adjective:
    es, en, targets, copula = row[:4]
    flags = row[4:]
    pre = next((f[4:] for f in flags if f.startswith("pre:")), None)
    fem = next((f[4:] for f in flags if f.startswith("fem:")), None)
    return Adjective(es, en, tuple(targets.split()), copula, "pred" not in flags, pre, fem)


NOUNS: Tuple[Noun, ...] = tuple(_make_noun(r) for r in _NOUN_ROWS)
ADJECTIVES: Tuple[Adjective, ...] = tuple(_make_adjective(r) for r in _ADJ_ROWS)
VERBS: Tuple[Verb, ...] = _VERBS
_NOUN_BY_ES = {n.es: n for n in NOUNS}
#: Nouns that are never drawn as ordinary arguments (used in fixed frames).
_SPECIAL_CLASSES = ("game", "lang", "tunit", "unit", "body")

_selection_cache: Dict[Tuple[str, ...], List[Noun]] = {}


def nouns_with(tags: Sequence[str]) -> List[Noun]:
    """Ordinary nouns carrying any of ``tags`` (in lexicon order, cached)."""
    key = tuple(tags)
    if key not in _selection_cache:
        special = [t for t in key if t in _SPECIAL_CLASSES]
        _selection_cache[key] = [
            n for n in NOUNS
            if n.has(*key) and (special or n.cls not in _SPECIAL_CLASSES)
        ]
    return _selection_cache[key]


def _verbs_with_frame(frame: str) -> List[Verb]:
    return [v for v in VERBS if frame in v.frames]


_VERBS_BY_FRAME = {
    f: _verbs_with_frame(f)
    for f in ("tr", "intr", "mot", "give", "put", "que", "refl", "body", "game", "lang",
              "inan", "weather", "cost")
}
_QUE_VERBS = _VERBS_BY_FRAME["que"]


def _adjectives_for(noun: Noun, attributive: bool = True, copula: Optional[str] = None
                    ) -> List[Adjective]:
    return [
        a for a in ADJECTIVES
        if noun.has(*a.targets)
        and (a.attr or not attributive)
        and (copula is None or a.copula in (copula, "both"))
    ]


# Features of Spanish forms, for checking agreement (used by the tests).
def _features_table() -> Tuple[Dict[str, List[Tuple[str, str]]], ...]:
    nouns: Dict[str, List[Tuple[str, str]]] = {}
    adjs: Dict[str, List[Tuple[str, str]]] = {}
    dets: Dict[str, List[Tuple[str, str]]] = {}
    cells = (("m", "sg"), ("f", "sg"), ("m", "pl"), ("f", "pl"))
    for n in NOUNS:
        nouns.setdefault(n.es, []).append((n.gender, "sg"))
        nouns.setdefault(n.es_pl, []).append((n.gender, "pl"))
    for a in ADJECTIVES:
        for g, num in cells:
            for pre in (False, True):
                adjs.setdefault(es_adjective(a, g, num, pre), []).append((g, num))
    for kind, row in _DETERMINERS.items():
        for (g, num), form in zip(cells, row[:4]):
            if form:
                dets.setdefault(form, []).append((g, num))
    return nouns, adjs, dets


#: Spanish form -> possible (gender, number), for nouns, adjectives, determiners.
ES_NOUN_FEATURES, ES_ADJ_FEATURES, ES_DET_FEATURES = _features_table()


# ==========================================================================
# Phrase builders
# ==========================================================================
def _weighted(rng: random.Random, options: Sequence[Tuple[object, float]]):
    """Draw one option from (value, weight) pairs (weights need not sum to 1)."""
    total = sum(w for _, w in options)
    r = rng.random() * total
    for value, weight in options:
        r -= weight
        if r < 0:
            return value
    return options[-1][0]


def _count(rng: random.Random) -> int:
    """A cardinal for counting things: mostly small, sometimes up to 99."""
    r = rng.random()
    if r < 0.7:
        return rng.randint(2, 10)
    if r < 0.9:
        return rng.randint(11, 31)
    return rng.randint(32, 99)


@dataclass
class Phrase:
    """A noun phrase node with what agreement needs to know about it."""

    node: Node
    noun: Noun
    gender: str
    number: str
    det: str


# Determiner preferences per syntactic role: (kind, weight).
_DET_WEIGHTS = {
    "subj": (("def", 45), ("my", 9), ("your", 3), ("his", 4), ("her", 4), ("their", 2),
             ("our", 4), ("this", 10), ("that", 5), ("indef", 8), ("num", 6)),
    "obj": (("def", 24), ("indef", 24), ("my", 6), ("your", 3), ("his", 3), ("her", 3),
            ("our", 3), ("this", 9), ("that", 5), ("num", 8), ("bare", 6), ("many", 3),
            ("other", 3), ("some", 3)),
    "ground": (("def", 66), ("indef", 12), ("my", 5), ("our", 3), ("his", 2), ("her", 2),
               ("this", 10)),
    "person": (("my", 25), ("your", 8), ("his", 8), ("her", 8), ("our", 8), ("def", 28),
               ("indef", 8), ("this", 5), ("num", 4)),
}
_PLURAL_ONLY = ("num", "bare", "some", "many")  # for count nouns
_NONSPECIFIC_KINDS = ("indef", "bare", "num", "some", "many", "other")
_MASS_KINDS = ("def", "this", "that", "my", "your", "his", "her", "our", "bare", "many")
_SPECIFIC_KINDS = ("def", "this", "that") + _POSSESSIVE_KINDS


def noun_phrase(rng: random.Random, noun: Noun, role: str = "obj",
                number: Optional[str] = None, det: Optional[str] = None,
                adj_prob: float = 0.25, exclude: Sequence[str] = ()) -> Phrase:
    """A noun phrase with agreeing determiner, optional numeral and adjective.

    Spanish: DET (NUM) (pre-ADJ) N (ADJ); English: DET (NUM) (ADJ) N.
    """
    if noun.has("mass", "one"):  # "one": mis padres would mean "my parents"
        number = "sg"
    elif number is None:
        number = "sg" if rng.random() < 0.7 else "pl"
    if det is None:
        options = [(k, w) for k, w in _DET_WEIGHTS[role]
                   if (k in _MASS_KINDS if noun.has("mass") else
                       number == "pl" or k not in _PLURAL_ONLY)
                   and k not in exclude
                   # no "mi hombre", "mi persona"; no "nuestra esposa"
                   and not (k in _POSSESSIVE_KINDS and noun.has("noposs", "wild"))
                   and not (k in ("our", "their") and noun.has("spouse"))
                   # "mi casa", "mi habitación", but not "mi río"
                   and not (role == "ground" and k in _POSSESSIVE_KINDS
                            and not noun.has("room", "home", "furn", "bldg"))]
        det = _weighted(rng, options)
    if det in _PLURAL_ONLY and not noun.has("mass"):
        number = "pl"
    gender = noun.gender

    # numeral: with "num", and sometimes after a definite/possessive ("los dos perros")
    count = None
    if det == "num" or (number == "pl" and det in ("def",) + _POSSESSIVE_KINDS
                        and role in ("subj", "obj") and rng.random() < 0.12):
        # one buys "treinta y una manzanas", but walks "con dos amigos"
        count = _count(rng) if role == "obj" else rng.randint(2, 5)
    det_kind = "bare" if det == "num" else det

    adj = None
    candidates = _adjectives_for(noun) if rng.random() < adj_prob else []
    if candidates:
        adj = rng.choice(candidates)
    prenominal = adj is not None and adj.pre is not None and (
        adj.pre == "gran" or rng.random() < 0.7)

    n_leaf = leaf("N", es=noun.es if number == "sg" else noun.es_pl,
                  en=noun.en if number == "sg" else noun.en_pl)
    adj_leaf = num_leaf = None
    if adj is not None:
        adj_leaf = leaf("ADJ", es=es_adjective(adj, gender, number, prenominal), en=adj.en)
    if count is not None:
        num_leaf = leaf("NUM", es=es_number(count, gender), en=english.number(count))

    es_det = es_determiner(det_kind, gender, number, noun.has("tonic"))
    en_det = en_determiner(det_kind, number)
    if en_det == "a":  # a/an by the next English word
        next_word = (adj.en if adj else noun.en).split()[0]
        en_det = english.indefinite_article(next_word)

    children = [leaf("DET", es=es_det, en=en_det)]
    if num_leaf:
        children.append(num_leaf)
    head = len(children)
    if adj_leaf is None:
        children.append(n_leaf)
        order = None
    elif prenominal:
        children += [adj_leaf, n_leaf]
        order = None
    else:
        children += [n_leaf, adj_leaf]
        en_order = tuple(range(head)) + (head + 1, head)
        order = {"es": tuple(range(head + 2)), "en": en_order}
    return Phrase(Node("NP", children=children, order=order), noun, gender, number, det)


def _contract(prep_es: str, phrase: Phrase) -> Tuple[str, Node]:
    """Spanish a+el -> al, de+el -> del (also "cerca del", "al lado del").

    The article moves into the preposition's leaf and the noun phrase is
    relabelled NPx (not switchable), so a switch can never strand "a" or "de"
    next to an English noun phrase that lost its article, nor produce "a el".
    """
    np = phrase.node
    det = np.children[0]
    words = prep_es.split()
    if words[-1] in ("a", "de") and det.label == "DET" and det.words["es"] == ("el",):
        words[-1] = "al" if words[-1] == "a" else "del"
        det.words = {"es": (), "en": det.words["en"]}
        np.label = "NPx"
    return " ".join(words), np


def prep_phrase(prep_es: str, prep_en: str, phrase: Phrase, label: str = "PP") -> Node:
    """P + NP with contraction; ``label`` "OBJ" is used for the personal "a"."""
    p_es, np = _contract(prep_es, phrase)
    return Node(label, children=[leaf("P", es=p_es, en=prep_en), np])


def _drop_en_article(phrase: Phrase) -> None:
    """English says "to school", "at work": no article after the preposition.

    The noun phrase becomes NPx: realised alone in English it would lack its
    article, so it is only switched as part of the whole PP.
    """
    det = phrase.node.children[0]
    det.words = {"es": det.words["es"], "en": ()}
    phrase.node.label = "NPx"


def _locative_en(noun: Noun) -> str:
    """English preposition for Spanish "en" + place ("en la silla" / "on the chair",
    "en la cama" / "in the bed", "en el armario" / "in the closet")."""
    if noun.has("cont") or noun.es == "cama":
        return "in"
    if noun.has("on", "furn"):
        return "on"
    if noun.has("at", "bare") or noun.cls == "event":
        return "at"
    return "in"


def _home(prep_es: str, en: str) -> Node:
    """Idiomatic "a casa" / "home", "en casa" / "at home", "de casa" / "from home"."""
    return Node("PP", children=[leaf("P", es=prep_es, en=en), leaf("N", es="casa", en="home")])


def _ground(rng: random.Random, noun: Noun, det: Optional[str] = None) -> Phrase:
    """The noun phrase of a place: mostly singular, rarely with an adjective."""
    number = "sg" if rng.random() < 0.9 else "pl"
    return noun_phrase(rng, noun, role="ground", number=number, det=det, adj_prob=0.1)


def _places(tags: Sequence[str], extra: Sequence[str] = ()) -> List[Noun]:
    """Places/furniture carrying one of ``tags`` (and one of ``extra`` if given)."""
    return [n for n in nouns_with(tags) if n.cls in ("place", "furn", "event")
            and (not extra or n.has(*extra))]


def locative_pp(rng: random.Random, tags: Sequence[str] = ("place",)) -> Node:
    """Where something happens: en/cerca de/delante de... + place."""
    if "home" in tags and rng.random() < 0.3:
        return _home("en", "at")
    spatial = [p for p in _SPATIAL_PREPS if _places(tags, p[2].split())]
    if spatial and rng.random() < 0.25:
        prep_es, prep_en, ground = rng.choice(spatial)
        nouns = [n for n in _places(tags, ground.split()) if not n.has("bare")]
        if nouns:
            return prep_phrase(prep_es, prep_en, _ground(rng, rng.choice(nouns)))
    ph = _ground(rng, rng.choice(_places(tags) or _places(("place",))))
    if ph.noun.has("bare") and ph.det == "def" and ph.number == "sg":
        _drop_en_article(ph)
    return prep_phrase("en", _locative_en(ph.noun), ph)


def surface_pp(rng: random.Random, containers: bool = True) -> Node:
    """Where things are put / lie: sobre la mesa, debajo de la cama, en la caja."""
    preps = [p for p in _SURFACE_PREPS if containers or p[2] != "cont"]
    prep_es, prep_en, ground = rng.choice(preps)
    # things go into boxes, bags and closets, not into glasses or bottles
    noun = rng.choice([n for n in nouns_with((ground,)) if n.cls in ("furn", "obj")
                       and not (ground == "cont" and n.has("frag"))])
    return prep_phrase(prep_es, prep_en, _ground(rng, noun))


def goal_pp(rng: random.Random, verb: Verb) -> Node:
    """Where one goes: "a" + place ("al parque" / "to the park", "a casa" / "home")."""
    arrive = verb.es == "llegar"
    if rng.random() < 0.2:
        return _home("a", "")
    noun = rng.choice(_places(verb.loc) or _places(("place",)))
    ph = _ground(rng, noun)
    if arrive:
        prep_en = "in" if noun.has("region") else "at"
    else:
        prep_en = "to"
    if noun.has("bare") and ph.det == "def" and ph.number == "sg":
        _drop_en_article(ph)
    return prep_phrase("a", prep_en, ph)


def source_pp(rng: random.Random, verb: Verb) -> Node:
    """Where one comes from: "de la escuela" / "from school"; "salir de la
    casa" / "leave the house" (English transitive, empty preposition)."""
    leave = verb.en == "leave"
    if rng.random() < 0.2:
        home = _home("de", "" if leave else "from")
        home.label = "PPx" if leave else "PP"
        return home
    tags = verb.loc if verb.reflexive else ("place",)
    noun = rng.choice(nouns_with(tags))
    ph = _ground(rng, noun)
    if noun.has("bare") and ph.det == "def" and ph.number == "sg" and not leave:
        _drop_en_article(ph)
    # "salir de la casa" / "leave the house": the English side has no
    # preposition, so switching the whole PP would drop Spanish "de"; only
    # the inner noun phrase may switch ("salió de THE HOUSE")
    return prep_phrase("de", "" if leave else "from", ph, label="PPx" if leave else "PP")


def person_pp(rng: random.Random, prep_es: str, prep_en: str) -> Node:
    """con/para/a + person: "con mi hermano" / "with my brother"."""
    noun = rng.choice(nouns_with(("hum",)))
    return prep_phrase(prep_es, prep_en, noun_phrase(rng, noun, role="person", adj_prob=0.1))


def _about_pp(rng: random.Random) -> Node:
    noun = rng.choice(nouns_with(("info", "event", "plan")))
    return prep_phrase("sobre", "about", _ground(rng, noun))


def _through_pp(rng: random.Random) -> Node:
    noun = rng.choice([n for n in nouns_with(("out",)) if not n.has("water")])
    return prep_phrase("por", "through", _ground(rng, noun, det="def"))


def _instrument_pp(rng: random.Random) -> Node:
    """"en tren" / "by train": bare singular vehicle in both languages."""
    noun = rng.choice([n for n in nouns_with(("pub", "drive", "rent")) if n.cls == "veh"])
    return Node("PP", children=[leaf("P", es="en", en="by"), leaf("N", es=noun.es, en=noun.en)])


def verb_pp(rng: random.Random, verb: Verb, kind: str) -> Node:
    """A PP of the given kind for this verb."""
    if kind == "loc":
        return locative_pp(rng, verb.loc)
    if kind == "goal":
        return goal_pp(rng, verb)
    if kind == "src":
        return source_pp(rng, verb)
    if kind == "with":
        return person_pp(rng, "con", "with")
    if kind == "for":
        return person_pp(rng, "para", "for")
    if kind == "to":
        return person_pp(rng, "a", "to")
    if kind == "seat":
        noun = rng.choice(nouns_with(("seat",)))
        return prep_phrase("en", _locative_en(noun), _ground(rng, noun))
    if kind == "through":
        return _through_pp(rng)
    if kind == "about":
        return _about_pp(rng)
    if kind == "instr":
        return _instrument_pp(rng)
    raise ValueError(f"unknown PP kind {kind!r}")


# ==========================================================================
# Time phrases
# ==========================================================================
def _clock(rng: random.Random) -> Tuple[str, str]:
    """"a las tres y media de la tarde" / "at half past three in the afternoon"."""
    hour = rng.randint(1, 12)
    es = "a la una" if hour == 1 else f"a las {es_number(hour)}"
    en_hour = english.number(hour)
    en = f"at {en_hour}"
    r = rng.random()
    if r < 0.2:
        es, en = es + " y media", f"at half past {en_hour}"
    elif r < 0.3:
        es, en = es + " y cuarto", f"at quarter past {en_hour}"
    r = rng.random()
    if r < 0.15 and 6 <= hour <= 11:
        es, en = es + " de la mañana", en + " in the morning"
    elif r < 0.3 and 2 <= hour <= 7:
        es, en = es + " de la tarde", en + " in the afternoon"
    return es, en


def _ago(rng: random.Random, future: bool) -> Tuple[str, str]:
    """"hace tres días" / "three days ago"; "dentro de dos semanas" / "in two weeks"."""
    unit = rng.choice([_NOUN_BY_ES[u] for u in ("día", "semana", "mes", "año", "hora")])
    n = rng.choice((1, 2, 2, 3, 3, 4, 5, 6, 10))
    if n == 1:
        es_np = es_number(1, unit.gender) + " " + unit.es
        en_np = english.indefinite_article(unit.en) + " " + unit.en
    else:
        es_np = es_number(n, unit.gender) + " " + unit.es_pl
        en_np = english.number(n) + " " + unit.en_pl
    if future:
        return "dentro de " + es_np, "in " + en_np
    return "hace " + es_np, en_np + " ago"


def time_phrase(rng: random.Random, frame: str, clock_ok: bool = True) -> Node:
    """A TIME constituent compatible with the clause's time frame.

    Past: ayer, anoche, la semana pasada, hace dos días, el lunes...; future:
    mañana, la semana que viene, dentro de dos días, el lunes...; present
    (habitual): todos los días, los lunes, por la mañana, hoy, ahora.
    Clock times go with any frame.
    """
    day_es, day_en = rng.choice(_DAYS)
    part_es, part_en = rng.choice(_PARTS_OF_DAY)
    if frame == "past":
        options = [
            ("ayer", "yesterday"), ("anoche", "last night"),
            ("anteayer", "the day before yesterday"),
            (f"ayer por la {part_es}", "last night" if part_es == "noche"
             else f"yesterday {part_en}"),
            ("la semana pasada", "last week"), ("el mes pasado", "last month"),
            ("el año pasado", "last year"), ("el fin de semana pasado", "last weekend"),
            (f"el {day_es}", f"on {day_en}"),
            (f"el {day_es} por la {part_es}", f"on {day_en} {part_en}"),
            (f"el {day_es} pasado", f"last {day_en}"),
            _ago(rng, future=False), _ago(rng, future=False),
            ("esta mañana", "this morning"), _clock(rng),
        ]
    elif frame == "future":
        options = [
            ("mañana", "tomorrow"),
            (f"mañana por la {part_es}", "tomorrow night" if part_es == "noche"
             else f"tomorrow {part_en}"),
            ("pasado mañana", "the day after tomorrow"),
            ("la semana que viene", "next week"), ("el mes que viene", "next month"),
            ("el año que viene", "next year"), ("el próximo verano", "next summer"),
            (f"el {day_es}", f"on {day_en}"), (f"el próximo {day_es}", f"next {day_en}"),
            (f"el {day_es} por la {part_es}", f"on {day_en} {part_en}"),
            _ago(rng, future=True), ("esta noche", "tonight"), _clock(rng),
        ]
    else:
        options = [
            ("hoy", "today"), ("ahora", "now"), ("todos los días", "every day"),
            ("cada semana", "every week"), ("todas las mañanas", "every morning"),
            (f"los {es_plural(day_es)}", f"on {day_en}s"),
            (f"por la {part_es}", "at night" if part_es == "noche" else f"in the {part_en}"),
            ("los fines de semana", "on weekends"), ("en verano", "in summer"),
            ("en invierno", "in winter"), _clock(rng),
        ]
    if not clock_ok:
        options = [o for o in options if not o[0].startswith("a l")]
    es, en = rng.choice(options)
    return Node("TIME", children=[leaf("T", es=es, en=en)])


# ==========================================================================
# Subjects and verb groups
# ==========================================================================
@dataclass
class Subject:
    node: Node
    person: str
    gender: str
    noun: Optional[Noun] = None  # None for a pronoun

    @property
    def number(self) -> str:
        return "pl" if self.person.endswith("pl") else "sg"


def pronoun_subject(rng: random.Random, person: Optional[str] = None,
                    drop_prob: float = 0.6) -> Subject:
    """Subject pronoun: always overt in English, dropped in Spanish with
    probability ``drop_prob`` (pro-drop; the verb ending carries the person)."""
    person = person or rng.choice(PERSONS)
    f_prob = 0.5 if person.endswith("sg") else 0.3
    gender = "f" if rng.random() < f_prob else "m"
    es, en = _PRONOUNS[(person, gender)]
    if rng.random() < drop_prob:
        es = ""
    return Subject(leaf("PRON", es=es, en=en), person, gender)


def noun_subject(rng: random.Random, tags: Sequence[str], adj_prob: float = 0.2) -> Subject:
    noun = rng.choice(nouns_with(tags))
    ph = noun_phrase(rng, noun, role="subj", adj_prob=adj_prob)
    return Subject(ph.node, "3sg" if ph.number == "sg" else "3pl", ph.gender, noun)


def choose_subject(rng: random.Random, tags: Sequence[str], light: bool = False) -> Subject:
    """Pronoun (when people are allowed) or a full noun phrase."""
    if "hum" in tags and rng.random() < 0.55:
        return pronoun_subject(rng)
    return noun_subject(rng, tags, adj_prob=0.1 if light else 0.22)


def _en_possessive(subject: Subject) -> str:
    if subject.person == "3sg":
        return "her" if subject.gender == "f" else "his"
    return _EN_POSSESSIVE[subject.person]


def verb_group(verb: Verb, tense: str, person: str, neg: bool) -> List[Node]:
    """Finite verb group: Spanish (no) (clitic) V; English (AUX) V.

    Spanish-only words sit in leaves that are empty in English and vice
    versa, so the group renders correctly in each language and, being inside
    the VP, a switched VP carries its own auxiliaries.
    """
    nodes = [leaf("NEG", es="no", en="")] if neg else []
    if tense == "goingto":
        aux_en, _ = en_finite(verb.en, tense, person, neg)
        nodes.append(leaf("AUX", es=es_conjugate("ir", "pres", person) + " a", en=aux_en))
        nodes.append(leaf("V", es=es_infinitive(verb, person), en=verb.en))
        return nodes
    if verb.reflexive:
        nodes.append(leaf("CL", es=_REFLEXIVE_CLITIC[person], en=""))
    aux_en, main_en = en_finite(verb.en, tense, person, neg, verb.en_pret)
    if aux_en:
        nodes.append(leaf("AUX", es="", en=aux_en))
    nodes.append(leaf("V", es=es_conjugate(verb.base, tense, person), en=main_en))
    return nodes


def modal_group(modal: str, frame: str, person: str, neg: bool) -> Optional[List[Node]]:
    """"(no) puedo / quiero / tengo que" + infinitive; None if the modal does
    not fit the time frame (e.g. no future of "querer")."""
    table = dict(_MODALS)[modal]
    key = {"past": "past", "present": "pres", "future": "fut"}[frame]
    if table[key] is None:
        return None
    es_tense, en_forms = table[key]
    en = en_forms.split("|")[1 if neg else 0]
    en = en.format(s="s" if person == "3sg" else "", do=english.do("present", person),
                   have=english.have("present", person))
    verb_es, _, particle = modal.partition(" ")
    es = es_conjugate(verb_es, es_tense, person) + (" " + particle if particle else "")
    nodes = [leaf("NEG", es="no", en="")] if neg else []
    nodes.append(leaf("MOD", es=es, en=en))
    return nodes


def infinitive_group(verb: Verb, person: str) -> List[Node]:
    return [leaf("V", es=es_infinitive(verb, person), en=verb.en)]


def tense_for(rng: random.Random, frame: str, past: str = "pret") -> str:
    """The tense a clause in this time frame uses (``past``: pret or impf)."""
    if frame == "past":
        return past
    if frame == "present":
        return "pres"
    return "fut" if rng.random() < 0.65 else "goingto"


# ==========================================================================
# Predicates
# ==========================================================================
@dataclass
class Predicate:
    """What a clause builder decided: verb, subject and complements.

    ``past``: Spanish past tense for this predicate (states use the
    imperfect: "estaba cansado", "tenía diez años"). ``modal_ok``: can be
    embedded under poder/querer/tener que. ``adverbs_ok``: frequency adverbs
    allowed (not with "be", whose English adverb position differs).
    ``complements`` follow the verb, then an optional manner adverb, then the
    ``adjuncts`` (PPs): "toca bien la guitarra" order is not needed, "toca la
    guitarra bien en el parque" / "plays the guitar well in the park" is.
    ``clock_ok``: the clause may take a clock time. ``frame``: time frame
    forced by the predicate (que-clauses), else the clause's.
    """

    verb: Verb
    subject: Subject
    complements: List[Node]
    adjuncts: List[Node]
    neg: bool = False
    past: str = "pret"
    modal_ok: bool = True
    adverbs_ok: bool = True
    manner: Tuple[str, ...] = ()
    needs_time: bool = False
    clock_ok: bool = True
    frame: Optional[str] = None


def _object(rng: random.Random, verb: Verb, neg: bool, light: bool) -> Node:
    """Direct object, with the personal "a" before specific animate objects.

    Negated objects avoid indefinites ("no come la manzana" rather than the
    odd "no come una manzana"); "tener" + relative takes a quantity ("tiene
    dos hermanos"), and people are never bare plurals.
    """
    noun = rng.choice(nouns_with(verb.obj))
    exclude: Tuple[str, ...] = ()
    det = None
    if neg:
        exclude = _NONSPECIFIC_KINDS
    elif noun.cls == "hum":
        exclude = ("bare",)
    if verb.es == "tener" and noun.has("kin"):
        det = "indef" if noun.has("one") else rng.choice(("indef", "num"))
    ph = noun_phrase(rng, noun, role="obj", det=det, exclude=exclude,
                     adj_prob=0.15 if light else 0.3)
    animate = noun.cls == "hum" or (noun.cls == "ani" and (
        ph.det in _SPECIFIC_KINDS or verb.es in _ANIMATE_A))
    if verb.pers_a and animate:
        return prep_phrase("a", "", ph, label="OBJ")
    return ph.node


def _maybe_pps(rng: random.Random, verb: Verb, prob: float, kinds=None) -> List[Node]:
    kinds = kinds if kinds is not None else verb.pp
    if kinds and rng.random() < prob:
        return [verb_pp(rng, verb, rng.choice(kinds))]
    return []


def _neg(rng: random.Random, prob: float = 0.15) -> bool:
    return rng.random() < prob


#: Intransitives that need a place ("vive en una casa", not just "vive").
_PP_REQUIRED = ("vivir",)
#: Verbs whose animal objects always take the personal "a" ("ayuda a una vaca");
#: with the others only specific animals do ("vio al perro" / "vio un zorro").
_ANIMATE_A = ("ayudar", "abrazar", "cuidar", "seguir")
#: States: their past is the imperfect ("quería un coche" / "wanted a car").
_STATIVE = ("querer", "preferir", "saber")


def _transitive(rng, frame, light):
    verb = rng.choice(_VERBS_BY_FRAME["tr"])
    subject = choose_subject(rng, verb.subj, light)
    neg = _neg(rng)
    obj = _object(rng, verb, neg, light)
    # "mucho" / "a lot" reads as a quantity after an object: intransitive only
    manner = tuple(a for a in verb.adv if a != "alot")
    return Predicate(verb, subject, [obj], _maybe_pps(rng, verb, 0.15 if light else 0.35),
                     neg, manner=manner, past="impf" if verb.es in _STATIVE else "pret")


def _intransitive(rng, frame, light):
    verb = rng.choice(_VERBS_BY_FRAME["intr"] + _VERBS_BY_FRAME["inan"])
    subject = choose_subject(rng, verb.subj, light)
    prob = 1.0 if verb.es in _PP_REQUIRED else 0.5 if light else 0.8
    adjuncts = _maybe_pps(rng, verb, prob)
    return Predicate(verb, subject, [], adjuncts, _neg(rng), manner=verb.adv,
                     needs_time=not adjuncts)


def _motion(rng, frame, light):
    verb = rng.choice(_VERBS_BY_FRAME["mot"])
    subject = choose_subject(rng, verb.subj, light)
    if subject.noun is not None and subject.noun.cls == "veh":
        return Predicate(verb, subject, [_terminal_pp(rng, verb)], [], _neg(rng, 0.1),
                         manner=verb.adv)
    kinds = [k for k in verb.pp if k in ("goal", "src")] or list(verb.pp)
    extra = [k for k in verb.pp if k not in ("goal", "src")]
    return Predicate(verb, subject, [verb_pp(rng, verb, rng.choice(kinds))],
                     _maybe_pps(rng, verb, 0.0 if light else 0.3, extra), _neg(rng, 0.1),
                     manner=verb.adv)


_TERMINALS = ("estación", "aeropuerto", "puerto")


def _terminal_pp(rng: random.Random, verb: Verb) -> Node:
    """Trains and planes arrive at / leave a station, airport or port."""
    noun = _NOUN_BY_ES[rng.choice(_TERMINALS)]
    ph = noun_phrase(rng, noun, role="ground", det="def", number="sg", adj_prob=0)
    if verb.es == "llegar":
        return prep_phrase("a", "at", ph)
    return prep_phrase("de", "", ph, label="PPx")


def _give(rng, frame, light):
    verb = rng.choice(_VERBS_BY_FRAME["give"])
    subject = choose_subject(rng, verb.subj, light)
    neg = _neg(rng, 0.1)
    obj = noun_phrase(rng, rng.choice(nouns_with(verb.obj)), role="obj",
                      exclude=_NONSPECIFIC_KINDS if neg else (),
                      adj_prob=0.1 if light else 0.2)
    return Predicate(verb, subject, [obj.node, person_pp(rng, "a", "to")], [], neg)


def _put(rng, frame, light):
    verb = rng.choice(_VERBS_BY_FRAME["put"])
    subject = choose_subject(rng, verb.subj, light)
    obj = noun_phrase(rng, rng.choice(nouns_with(verb.obj)), role="obj",
                      exclude=_NONSPECIFIC_KINDS, adj_prob=0.1 if light else 0.2)
    return Predicate(verb, subject, [obj.node, surface_pp(rng)], [], _neg(rng, 0.1))


def _reflexive(rng, frame, light):
    verb = rng.choice(_VERBS_BY_FRAME["refl"])
    subject = choose_subject(rng, verb.subj, light)
    adjuncts = _maybe_pps(rng, verb, 0.4 if light else 0.7)
    return Predicate(verb, subject, [], adjuncts, _neg(rng, 0.1), manner=verb.adv,
                     needs_time=not adjuncts)


def _body(rng, frame, light):
    """"se lava las manos" / "washes his hands": English possessive follows
    the subject, Spanish uses the definite article."""
    verb = rng.choice(_VERBS_BY_FRAME["body"])
    subject = choose_subject(rng, ("hum",), light)
    noun = rng.choice([n for n in NOUNS if n.cls == "body" and n.en in verb.obj])
    number = "sg" if noun.has("mass") or noun.es == "cara" else "pl"
    ph = noun_phrase(rng, noun, role="obj", number=number, det="def", adj_prob=0)
    det = ph.node.children[0]
    det.words = {"es": det.words["es"], "en": (_en_possessive(subject),)}
    return Predicate(verb, subject, [ph.node], [], _neg(rng, 0.05), manner=("early",))


def _game(rng, frame, light):
    """"juega al fútbol" / "plays soccer": contraction in a non-switchable OBJ."""
    verb = _VERBS_BY_FRAME["game"][0]
    subject = choose_subject(rng, ("hum",), light)
    game = rng.choice(nouns_with(("game",)))
    obj = Node("OBJ", children=[leaf("P", es="al", en=""),
                                leaf("N", es=game.es, en=game.en)])
    return Predicate(verb, subject, [obj], _maybe_pps(rng, verb, 0.1 if light else 0.3),
                     _neg(rng, 0.1), manner=verb.adv)


def _language(rng, frame, light):
    """"habla inglés" / "speaks english": bare noun in both languages."""
    verb = rng.choice(_VERBS_BY_FRAME["lang"])
    subject = choose_subject(rng, ("hum",), light)
    noun = rng.choice([n for n in NOUNS if n.cls == "lang" and n.has(*verb.obj)])
    obj = Node("NP", children=[leaf("N", es=noun.es, en=noun.en)])
    manner = tuple(a for a in verb.adv if a != "alot")
    return Predicate(verb, subject, [obj], [], _neg(rng, 0.1), manner=manner)


def _copular(rng, frame, light):
    """ser/estar + adjective agreeing with the subject (or estar + location)."""
    if rng.random() < 0.2:
        subject = choose_subject(rng, ("hum", "ani", "obj", "furn", "wear"), light)
        if subject.noun is not None and subject.noun.cls not in ("hum", "ani"):
            where = surface_pp(rng)
        else:
            where = locative_pp(rng, ("room", "bldg", "out", "home"))
        return Predicate(_ESTAR, subject, [where], [], _neg(rng, 0.1), past="impf",
                         modal_ok=False, adverbs_ok=False)
    subject = choose_subject(rng, ("hum", "ani", "obj", "food", "drink", "place", "veh",
                                   "wear", "furn", "abs", "event", "plant"), light)
    if subject.noun is None:
        targets = [a for a in ADJECTIVES if "hum" in a.targets]
    else:
        targets = _adjectives_for(subject.noun, attributive=False)
    adj = rng.choice(targets)
    copula = adj.copula if adj.copula != "both" else rng.choice(("ser", "estar"))
    verb = _SER if copula == "ser" else _ESTAR
    kids = []
    neg = _neg(rng, 0.12)
    if rng.random() < 0.3 and not neg:
        deg_es, deg_en = rng.choice(_DEGREE_ADVERBS)
        kids.append(leaf("ADV", es=deg_es, en=deg_en))
    kids.append(leaf("ADJ", es=es_adjective(adj, subject.gender, subject.number), en=adj.en))
    # past: states in the imperfect ("era alto", "estaba cansado"); events
    # are evaluated as a whole ("la fiesta fue divertida")
    past = "pret" if subject.noun is not None and subject.noun.cls == "event" else "impf"
    if copula == "estar" and rng.random() < 0.3:
        past = "pret"
    # a permanent property is not tied to a clock time ("era alto a las tres")
    return Predicate(verb, subject, [Node("AP", children=kids)], [], neg,
                     past=past, modal_ok=False, adverbs_ok=False, clock_ok=copula == "estar")


def _age(rng, frame, light):
    """"tiene veintiún años" / "is twenty-one years old"."""
    subject = choose_subject(rng, ("hum",), light)
    baby = subject.noun is not None and subject.noun.es == "bebé"
    n = rng.randint(1, 2) if baby else rng.randint(5, 90)
    year = _NOUN_BY_ES["año"]
    comps = [leaf("NUM", es=es_number(n, "m"), en=english.number(n)),
             leaf("N", es=year.es if n == 1 else year.es_pl,
                  en=("year" if n == 1 else "years") + " old")]
    return Predicate(_TENER_AGE, subject, comps, [], past="impf", modal_ok=False,
                     adverbs_ok=False, clock_ok=False)


def _cost(rng, frame, light):
    """"el coche cuesta veinte euros" / "the car costs twenty euros"."""
    verb = _VERBS_BY_FRAME["cost"][0]
    noun = rng.choice(nouns_with(verb.subj))
    ph = noun_phrase(rng, noun, role="subj", adj_prob=0.15, exclude=_NONSPECIFIC_KINDS)
    subject = Subject(ph.node, "3sg" if ph.number == "sg" else "3pl", ph.gender, noun)
    unit = rng.choice(nouns_with(("unit",)))
    n = _count(rng) if rng.random() < 0.9 else 1
    comps = [leaf("NUM", es=es_number(n, unit.gender), en=english.number(n)),
             leaf("N", es=unit.es if n == 1 else unit.es_pl, en=unit.en if n == 1 else unit.en_pl)]
    return Predicate(verb, subject, comps, [], modal_ok=False, adverbs_ok=False,
                     clock_ok=False)


def _weather(rng, frame, light):
    """"llueve" / "it rains", "hace frío" / "it is cold": English "it"."""
    subject = Subject(leaf("PRON", es="", en="it"), "3sg", "m")
    if rng.random() < 0.5:
        verb = rng.choice(_VERBS_BY_FRAME["weather"])
        return Predicate(verb, subject, [], _maybe_pps(rng, verb, 0.3), _neg(rng, 0.1),
                         modal_ok=False, needs_time=True)
    es, en = rng.choice(_WEATHER_IDIOMS)
    comps = [leaf("N", es=es, en=en)]
    return Predicate(_HACER_WEATHER, subject, comps, [], _neg(rng, 0.1), past="impf",
                     modal_ok=False, adverbs_ok=False, needs_time=True)


def _que(rng, frame, light):
    """decir/pensar/creer/saber + "que" clause.

    The main verb is present ("dice que...", any embedded time frame) or past
    with a past embedded clause ("dijo que estaba cansada"), so a sentence
    never mixes past time words with a future verb or vice versa.
    """
    verb = rng.choice(_QUE_VERBS)
    subject = choose_subject(rng, ("hum",), light=True)
    main_frame = rng.choice(("present", "present", "past"))
    inner_frame = "past" if main_frame == "past" else rng.choice(TIME_FRAMES)
    inner = clause(rng, inner_frame, light=True, allow_que=False, time_first_ok=False)
    comp = Node("CLAUSE", children=[leaf("C", es="que", en="that")] + inner)
    return Predicate(verb, subject, [comp], [], modal_ok=False, adverbs_ok=False,
                     frame=main_frame)


_PREDICATES = (
    (_transitive, 40), (_intransitive, 14), (_motion, 11), (_give, 4), (_put, 4),
    (_reflexive, 7), (_body, 2), (_game, 2), (_language, 3), (_copular, 13),
    (_age, 1.5), (_cost, 1.5), (_weather, 2),
)


# ==========================================================================
# Clauses and sentences
# ==========================================================================
def _manner_adverb(rng: random.Random, pred: Predicate) -> Optional[Node]:
    keys = [k for k in pred.manner if k != "together" or pred.subject.number == "pl"]
    if not keys:
        return None
    es, en = _MANNER_ADVERBS[rng.choice(keys)]
    if es == "juntos" and pred.subject.gender == "f":
        es = "juntas"
    return leaf("ADV", es=es, en=en)


def verb_phrase(rng: random.Random, pred: Predicate, frame: str) -> Node:
    """The VP: (frequency adverb) verb group, complements, (manner adverb),
    adjunct PPs. Under a modal the non-finite part is an inner VP."""
    person = pred.subject.person
    children: List[Node] = []
    tail: List[Node] = list(pred.complements)
    if pred.manner and rng.random() < 0.25:
        adv = _manner_adverb(rng, pred)
        if adv is not None:
            tail.append(adv)
    tail += pred.adjuncts
    modal = None
    # only people can/want/have to do things ("el espejo tuvo que romperse")
    person_subject = pred.subject.noun.cls == "hum" if pred.subject.noun else True
    if pred.modal_ok and person_subject and rng.random() < 0.12:
        modal = modal_group(rng.choice([m for m, _ in _MODALS]), frame, person, pred.neg)
    if modal is not None:
        inner = Node("VP", children=infinitive_group(pred.verb, person) + tail)
        return Node("VP", children=modal + [inner])
    tense = tense_for(rng, frame, pred.past)
    if pred.adverbs_ok and tense == "pres" and not pred.neg and rng.random() < 0.15:
        es, en = rng.choice(_FREQUENCY_ADVERBS)
        children.append(leaf("ADV", es=es, en=en))
    children += verb_group(pred.verb, tense, person, pred.neg)
    return Node("VP", children=children + tail)


def clause(rng: random.Random, frame: str, light: bool = False, allow_que: bool = True,
           time_prob: Optional[float] = None, time_first_ok: bool = True) -> List[Node]:
    """The children of one clause: (TIME) SUBJECT VP (TIME).

    ``time_prob`` 0 forbids a time phrase (the sentence already has one);
    predicates too short on their own ("llueve", "se levanta") then get a
    PP or a manner adverb instead. ``time_first_ok``: False inside a
    subordinate clause, where "cuando ayer..." reads badly.
    """
    options = list(_PREDICATES)
    if allow_que:
        options.append((_que, 6))
    builder = _weighted(rng, options)
    pred = builder(rng, frame, light)
    frame = pred.frame or frame
    if pred.needs_time and time_prob == 0.0:
        pred.needs_time = False
        if pred.verb.pp:
            pred.adjuncts.append(verb_pp(rng, pred.verb, rng.choice(pred.verb.pp)))
        elif pred.manner:
            adv = _manner_adverb(rng, pred)
            if adv is not None:
                pred.complements.append(adv)
                pred.manner = ()
    vp = verb_phrase(rng, pred, frame)
    # With a dropped Spanish subject, a switched VP would leave the sentence
    # without any subject in the matrix language ("ayer ATE AN APPLE"), so
    # only smaller constituents (object, PP, inner VP of a modal) may switch.
    if pred.subject.node.words is not None and not pred.subject.node.words["es"]:
        vp.label = "VPx"
    kids = [pred.subject.node, vp]
    if builder is _que:
        return kids
    if time_prob is None:
        time_prob = 0.25 if light else 0.55
    if pred.needs_time or rng.random() < time_prob:
        time = time_phrase(rng, frame, pred.clock_ok)
        if time_first_ok and rng.random() < 0.4:
            kids.insert(0, time)
        else:
            kids.append(time)
    return kids


def _words(nodes: Sequence[Node], lang: str) -> List[str]:
    out: List[str] = []
    for n in nodes:
        out.extend(w.text for w in render(n, lang))
    return out


def _es_and(next_word: str) -> str:
    """Spanish "y" becomes "e" before an /i/ sound (e iremos, e hijos)."""
    if next_word.startswith(("i", "í", "hi", "hí")) and not next_word.startswith(("hie", "hia")):
        return "e"
    return "y"


def _coordination(rng: random.Random) -> List[Node]:
    frame = rng.choice(TIME_FRAMES)
    first = clause(rng, frame, light=True, allow_que=False)
    second = clause(rng, frame, light=True, allow_que=False,
                    time_prob=0.0 if _has_time(first) else None)
    es, en = rng.choice(_COORDINATORS)
    if es == "y":
        second_words = _words(second, "es")
        es = _es_and(second_words[0]) if second_words else es
    return [Node("CLAUSE", children=first), leaf("CONJ", es=es, en=en),
            Node("CLAUSE", children=second)]


def _has_time(kids: Sequence[Node]) -> bool:
    return any(k.label == "TIME" for k in kids)


def _subordination(rng: random.Random) -> List[Node]:
    """Main clause + porque/cuando/aunque/si clause.

    "cuando" with a future meaning would need the subjunctive, so it is used
    for past and habitual (present) events only; "si" takes the present with a
    present or future main clause ("si llueve, me quedaré en casa").
    """
    conj = _weighted(rng, ((("porque", "because"), 4), (("cuando", "when"), 3),
                           (("aunque", "although"), 1), (("si", "if"), 2)))
    if conj[0] == "si":
        frame, sub_frame = rng.choice(("present", "future")), "present"
    elif conj[0] == "cuando":
        frame = sub_frame = rng.choice(("past", "present"))
    else:
        frame = sub_frame = rng.choice(TIME_FRAMES)
    main = clause(rng, frame, light=True, allow_que=False)
    sub = clause(rng, sub_frame, light=True, allow_que=False, time_first_ok=False,
                 time_prob=0.0 if (_has_time(main) or conj[0] == "si") else None)
    sub_node = Node("CLAUSE", children=[leaf("C", es=conj[0], en=conj[1])] + sub)
    if conj[0] in ("cuando", "si", "aunque") and rng.random() < 0.5:
        return [sub_node] + main
    return main + [sub_node]


def build_sentence(rng: random.Random) -> Node:
    """One parallel sentence tree of 3..20 words in both languages.

    60% simple clauses, the rest coordinated (y/pero) or subordinated
    (porque/cuando/aunque/si) pairs of clauses; "que" complements occur inside
    simple clauses. Draws are repeated (with the same ``rng``, so still
    deterministic) until the sentence fits the length range and offers a
    genuine code-switch in both directions.
    """
    while True:
        r = rng.random()
        if r < 0.6:
            kids = clause(rng, rng.choice(TIME_FRAMES))
        elif r < 0.78:
            kids = _coordination(rng)
        else:
            kids = _subordination(rng)
        root = Node("S", children=kids)
        if not lengths_within(root, ("es", "en")):
            continue
        # a code-switching corpus has no use for sentences that cannot switch
        if can_switch(root, "es", "en") and can_switch(root, "en", "es"):
            return root


# ==========================================================================
# The language pair
# ==========================================================================
class SpanishEnglish(LanguagePair):
    """Spanish-English code-switching grammar (Spanish is the source language)."""

    name = "es-en"
    src_lang = "es"
    tgt_lang = "en"
    voices = {"es": "es", "en": "en-us"}

    def sentence(self, rng: random.Random) -> Node:
        return build_sentence(rng)

    def lemmas(self) -> Dict[str, List[str]]:
        es: List[str] = []
        en: List[str] = []
        for n in NOUNS:
            es.append(n.es)
            en.append(n.en)
        for v in VERBS + (_SER, _ESTAR):
            es.append(v.es)
            en.append(v.en)
        for m, _ in _MODALS:
            es.append(m.split()[0])
        en += ["can", "will", "do"]
        for a in ADJECTIVES:
            es.append("grande" if a.es == "gran" else a.es)
            en.append(a.en)
        for table in (_MANNER_ADVERBS.values(), _FREQUENCY_ADVERBS, _DEGREE_ADVERBS,
                      _DAYS, _PARTS_OF_DAY, _WEATHER_IDIOMS, _COORDINATORS):
            for e, g in table:
                es.append(e)
                en.append(g)
        for p_es, p_en, _ in _SPATIAL_PREPS + _SURFACE_PREPS:
            es.append(p_es)
            en.append(p_en)
        es += ["a", "de", "con", "para", "por", "sobre", "porque", "cuando", "aunque", "si",
               "que", "no", "ayer", "hoy", "mañana", "anoche", "anteayer", "ahora", "hace",
               "dentro de", "pasado", "próximo", "verano", "invierno", "fin de semana",
               "cada", "todo", "casa"]
        en += ["to", "from", "with", "for", "through", "about", "by", "at", "because", "when",
               "although", "if", "that", "not", "yesterday", "today", "tomorrow", "now", "ago",
               "last", "next", "summer", "winter", "weekend", "every", "home", "tonight",
               "half", "past", "quarter", "old", "it", "going"]
        for (person, gender), (p_es, p_en) in _PRONOUNS.items():
            es.append(p_es)
            en.append(p_en)
        es += list(_REFLEXIVE_CLITIC.values())
        for kind, row in _DETERMINERS.items():
            es.append(row[0] or row[2])
            en.append(row[4] or row[5])
        es += [es_number(n) for n in range(1, 30)] + list(_ES_TENS.values()) + ["cien"]
        en += [english.number(n) for n in range(1, 20)]
        en += [english.number(tens) for tens in range(20, 100, 10)] + ["hundred"]
        return {"es": unique_in_order(es), "en": unique_in_order(en)}
