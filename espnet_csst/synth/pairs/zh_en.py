"""Mandarin-English parallel grammar for the synthetic code-switching corpus.

The setting is SEAME / NTUML2021-style code-switching: Mandarin matrix
sentences with English nouns and phrases inserted ("我 明天 要 去 the library",
"我 买 了 一 部 new phone"), and the reverse. Every sentence is a *parallel*
constituent tree (see :mod:`espnet_csst.synth.grammar`): each leaf carries its
Mandarin words (simplified characters, one token per word) and its English
words, with English agreement and tense resolved here. Inner nodes give a
per-language child order where the languages differ:

* Mandarin says time words, place phrases (在 图书馆), comitatives (跟 朋友
  一起), means of transport (坐 地铁) and the 把 object before the verb;
  English says them after it. A verb phrase is therefore built from
  :class:`Part` s that carry one rank per language (:func:`make_vp`).
* Mandarin locatives are circumpositions: "在 桌子 上" / "on the table".
  The English preposition sits on the localiser leaf (上/on), which English
  says first.

Switchable constituents (NP, VP, PP, CLAUSE, TIME) are self-contained:
English articles live in the noun phrase, "will" / "did not" / "is" in the
verb phrase, and leaves that exist in one language only (measure words, 的,
了, English articles and auxiliaries) never straddle a constituent boundary.
A counted, demonstrative or possessed noun phrase has an inner NP (the noun
with its adjective) so the most frequent real pattern, a Mandarin numeral and
measure word or possessor with an English noun ("两 本 books", "我 的 boss"),
arises. Non-switchable labels mark what would break: lone pronouns (``NPx``,
rarely switched in real data), the article-less core of "the N" (``NOM``,
switching it would drop the article), verb phrases of subjectless Mandarin
clauses (``VPx``: "明天 will rain" and "所以 did not go" have no subject),
circumpositions whose English preposition would be doubled by the Mandarin
verb 在 (``PPx``), and a subjectless Mandarin clause that English puts
first (``CLAUSEx``). English subject pronouns are always overt; Mandarin
drops a repeated subject (因为 我 很 累 所以 没 去 / I did not go because I
was tired).

Semantic selection is cheap: nouns carry a class and feature tags (food,
drink, place, read, hold ...), verbs list the tags of their objects,
subjects and places, and adjectives the classes they describe (吃 苹果,
never 吃 城市). Tense follows one time frame per clause: past time words
come with 了 / 过 / 没 and the English past, future ones with 会 / 要 and
"will", and the present is habitual, progressive (正在) or experiential (过).

Organisation: lexicon tables -> Mandarin numerals (English morphology comes
from the shared :mod:`espnet_csst.synth.pairs.english`) -> noun phrases
and locatives -> time words -> verb groups -> predicates (one builder per
sentence type) -> clauses and two-clause sentences -> :class:`MandarinEnglish`.

Determinism: the output depends only on the ``random.Random`` passed to
:meth:`MandarinEnglish.sentence`. The lexicon is made of module-level tuples,
nothing iterates over a set, and ``hash()`` is never used.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

from espnet_csst.synth.grammar import (
    LanguagePair, Node, can_switch, leaf, lengths_within, render, unique_in_order,
)
from espnet_csst.synth.pairs import english

#: Subject persons for English agreement (Mandarin verbs do not inflect).
PERSONS = ("1sg", "2sg", "3sg", "1pl", "2pl", "3pl")
#: Every clause has one time frame; time words, aspect and tense follow it.
TIME_FRAMES = ("past", "present", "future")


# ==========================================================================
# Lexicon: nouns
# ==========================================================================
# (zh, measure word, en, tags). The first tag is the class verbs, adjectives
# and locatives select for:
#   hum (people), kin (relatives: always with a possessor), ani, food, meal,
#   drink, obj, wear, furn, veh, place, city (names: no article, no measure
#   word), media, sport, lang, abs (abstract mass nouns).
# Finer tags:
#   m / f      gender of people (for "he" / "she" when the subject is dropped)
#   job        can be a predicate noun (他 是 医生 / he is a doctor)
#   mass       uncountable: counted with a unit measure word (一 杯 咖啡 /
#              a cup of coffee); without one ("" measure word) never counted
#   plonly     English plural only, counted in pairs (一 双 鞋 / a pair of shoes)
#   the        English keeps "the" even generically (弹 钢琴 / play the piano)
#   surf / cont / under   things can be on / in / under it (locatives);
#              cobj / cfood: objects / food are kept in it (包 里, 冰箱 里)
#   spouse     possessed by one person only (我 的 妻子, not 我们 的 妻子)
#   li         a place that takes 里 (在 公园 里 / in the park)
#   bare       English drops the article after a preposition (at school)
#   home, study, eat, out, water, shop, work, fun   what one does there
#   read, write, watch, listen, play, wash, open, fix, ride, drive, cut,
#   dish, hang, hold, tool, gift, mail, visit, room, task, prey, chaser
#   (what verbs can do with it, or what it can do)
#   kid / rel  children (no work verbs) / people one "has" (我 的 朋友)
#   rest       one sleeps or rests there
_NOUN_ROWS: Tuple[Tuple[str, str, str, str], ...] = (
    # --- people ---------------------------------------------------------
    ("人", "个", "person", "hum crowd"),
    ("老师", "位", "teacher", "hum job rel"),
    ("学生", "个", "student", "hum job rel crowd"),
    ("医生", "位", "doctor", "hum job rel"),
    ("护士", "个", "nurse", "hum job"),
    ("工程师", "个", "engineer", "hum job"),
    ("律师", "个", "lawyer", "hum job"),
    ("警察", "个", "police officer", "hum job"),
    ("厨师", "个", "chef", "hum job"),
    ("司机", "个", "driver", "hum job"),
    ("经理", "个", "manager", "hum job"),
    ("记者", "个", "reporter", "hum job"),
    ("演员", "个", "actor", "hum job"),
    ("歌手", "个", "singer", "hum job"),
    ("作家", "个", "writer", "hum job"),
    ("画家", "个", "painter", "hum job"),
    ("农民", "个", "farmer", "hum job"),
    ("服务员", "个", "waiter", "hum job"),
    ("科学家", "个", "scientist", "hum job"),
    ("老板", "个", "boss", "hum job rel"),
    ("秘书", "个", "secretary", "hum job"),
    ("程序员", "个", "programmer", "hum job"),
    ("设计师", "个", "designer", "hum job"),
    ("会计", "个", "accountant", "hum job"),
    ("教授", "位", "professor", "hum job"),
    ("邻居", "个", "neighbor", "hum rel"),
    ("朋友", "个", "friend", "hum rel"),
    ("同学", "个", "classmate", "hum rel"),
    ("同事", "个", "colleague", "hum rel"),
    ("孩子", "个", "child", "hum kid crowd"),
    ("男孩", "个", "boy", "hum m kid"),
    ("女孩", "个", "girl", "hum f kid"),
    ("男人", "个", "man", "hum m"),
    ("女人", "个", "woman", "hum f"),
    ("客人", "位", "guest", "hum crowd"),
    ("顾客", "位", "customer", "hum crowd"),
    ("病人", "个", "patient", "hum"),
    ("游客", "个", "tourist", "hum crowd"),
    # --- relatives (with a possessor: 我 的 妈妈 / my mother) ------------
    ("妈妈", "位", "mother", "kin f"),
    ("爸爸", "位", "father", "kin m"),
    ("哥哥", "个", "brother", "kin m"),
    ("弟弟", "个", "brother", "kin m"),
    ("姐姐", "个", "sister", "kin f"),
    ("妹妹", "个", "sister", "kin f"),
    ("奶奶", "位", "grandmother", "kin f"),
    ("爷爷", "位", "grandfather", "kin m"),
    ("儿子", "个", "son", "kin m kid"),
    ("女儿", "个", "daughter", "kin f kid"),
    ("丈夫", "个", "husband", "kin m spouse"),
    ("妻子", "个", "wife", "kin f spouse"),
    ("叔叔", "位", "uncle", "kin m"),
    ("阿姨", "位", "aunt", "kin f"),
    ("表哥", "个", "cousin", "kin m"),
    ("男朋友", "个", "boyfriend", "kin m spouse"),
    ("女朋友", "个", "girlfriend", "kin f spouse"),
    # --- animals --------------------------------------------------------
    ("猫", "只", "cat", "ani pet chaser prey"),
    ("狗", "只", "dog", "ani pet chaser"),
    ("鸟", "只", "bird", "ani pet bird prey"),
    ("鱼", "条", "fish", "ani pet"),
    ("兔子", "只", "rabbit", "ani pet prey grazer"),
    ("乌龟", "只", "turtle", "ani pet"),
    ("马", "匹", "horse", "ani ride grazer"),
    ("牛", "头", "cow", "ani grazer"),
    ("猪", "头", "pig", "ani"),
    ("羊", "只", "sheep", "ani grazer"),
    ("鸡", "只", "chicken", "ani prey"),
    ("鸭子", "只", "duck", "ani prey"),
    ("老虎", "只", "tiger", "ani wild"),
    ("狮子", "只", "lion", "ani wild"),
    ("大象", "头", "elephant", "ani wild grazer"),
    ("熊猫", "只", "panda", "ani wild"),
    ("猴子", "只", "monkey", "ani wild grazer"),
    ("熊", "只", "bear", "ani wild"),
    ("蛇", "条", "snake", "ani wild"),
    ("老鼠", "只", "mouse", "ani prey"),
    ("蝴蝶", "只", "butterfly", "ani wild prey"),
    ("长颈鹿", "只", "giraffe", "ani wild"),
    ("企鹅", "只", "penguin", "ani wild"),
    ("狼", "只", "wolf", "ani wild"),
    # --- food -----------------------------------------------------------
    ("苹果", "个", "apple", "food fruit cut feed"),
    ("香蕉", "根", "banana", "food fruit feed"),
    ("橙子", "个", "orange", "food fruit cut"),
    ("西瓜", "个", "watermelon", "food fruit cut"),
    ("草莓", "个", "strawberry", "food fruit"),
    ("梨", "个", "pear", "food fruit cut"),
    ("桃子", "个", "peach", "food fruit"),
    ("芒果", "个", "mango", "food fruit cut"),
    ("樱桃", "颗", "cherry", "food fruit"),
    ("葡萄", "串", "grapes", "food fruit plonly"),
    ("面包", "块", "bread", "food mass cut"),
    ("米饭", "碗", "rice", "food mass"),
    ("面条", "碗", "noodles", "food plonly dish"),
    ("蛋糕", "块", "cake", "food mass cut dish"),
    ("饺子", "个", "dumpling", "food dish"),
    ("包子", "个", "bun", "food"),
    ("鸡蛋", "个", "egg", "food"),
    ("汉堡", "个", "hamburger", "food"),
    ("三明治", "个", "sandwich", "food dish"),
    ("披萨", "块", "pizza", "food mass cut dish"),
    ("饼干", "块", "cookie", "food dish"),
    ("巧克力", "块", "chocolate", "food mass"),
    ("冰淇淋", "个", "ice cream", "food"),
    ("沙拉", "份", "salad", "food dish"),
    ("肉", "块", "meat", "food mass cut meat"),
    ("土豆", "个", "potato", "food cut"),
    ("西红柿", "个", "tomato", "food cut"),
    ("胡萝卜", "根", "carrot", "food cut feed"),
    ("洋葱", "个", "onion", "food cut"),
    ("糖", "颗", "candy", "food"),
    ("早饭", "顿", "breakfast", "meal dish"),
    ("午饭", "顿", "lunch", "meal dish"),
    ("晚饭", "顿", "dinner", "meal dish"),
    # --- drinks ---------------------------------------------------------
    ("咖啡", "杯", "coffee", "drink mass"),
    ("茶", "杯", "tea", "drink mass"),
    ("水", "杯", "water", "drink mass petdrink"),
    ("牛奶", "杯", "milk", "drink mass petdrink"),
    ("果汁", "杯", "juice", "drink mass"),
    ("啤酒", "瓶", "beer", "drink mass"),
    ("可乐", "瓶", "cola", "drink mass"),
    ("红酒", "瓶", "wine", "drink mass"),
    # --- objects --------------------------------------------------------
    ("书", "本", "book", "obj read hold"),
    ("杂志", "本", "magazine", "obj read hold"),
    ("报纸", "份", "newspaper", "obj read hold"),
    ("小说", "本", "novel", "obj read write hold"),
    ("词典", "本", "dictionary", "obj hold tool"),
    ("笔记本", "个", "notebook", "obj hold"),
    ("信", "封", "letter", "obj read write hold mail"),
    ("手机", "部", "phone", "obj fix hold tool colored"),
    ("电脑", "台", "computer", "obj fix tool"),
    ("相机", "台", "camera", "obj fix hold tool"),
    ("钥匙", "把", "key", "obj hold"),
    ("雨伞", "把", "umbrella", "obj hold open colored"),
    ("刀", "把", "knife", "obj hold wash tool"),
    ("勺子", "把", "spoon", "obj hold wash tool"),
    ("杯子", "个", "cup", "obj hold wash colored"),
    ("盘子", "个", "plate", "obj hold wash cont cfood"),
    ("瓶子", "个", "bottle", "obj hold open"),
    ("盒子", "个", "box", "obj cont cobj hold open colored"),
    ("包", "个", "bag", "obj cont cobj hold open colored"),
    ("书包", "个", "backpack", "obj cont cobj hold open colored"),
    ("行李箱", "个", "suitcase", "obj cont cobj open colored"),
    ("钱包", "个", "wallet", "obj hold colored"),
    ("笔", "支", "pen", "obj hold tool colored"),
    ("铅笔", "支", "pencil", "obj hold tool"),
    ("手表", "块", "watch", "obj fix hold gift don"),
    ("礼物", "个", "gift", "obj hold open gift"),
    ("照片", "张", "photo", "obj hang hold photo"),
    ("地图", "张", "map", "obj read hang hold tool"),
    ("票", "张", "ticket", "obj hold"),
    ("画", "幅", "painting", "obj hang"),
    ("玩具", "个", "toy", "obj hold"),
    ("球", "个", "ball", "obj hold colored"),
    ("花", "朵", "flower", "plant hold gift colored"),
    ("吉他", "把", "guitar", "obj play the"),
    ("钢琴", "架", "piano", "obj play the"),
    ("小提琴", "把", "violin", "obj play the"),
    ("灯", "盏", "lamp", "obj fix"),
    ("镜子", "面", "mirror", "obj hang"),
    ("电视", "", "television", "media watch mass"),
    ("钱", "", "money", "abs mass"),
    ("时间", "", "time", "abs mass"),
    ("作业", "", "homework", "abs mass task"),
    # --- clothes --------------------------------------------------------
    ("衬衫", "件", "shirt", "wear wash hang dress"),
    ("外套", "件", "coat", "wear wash hang dress"),
    ("毛衣", "件", "sweater", "wear wash dress"),
    ("夹克", "件", "jacket", "wear wash hang dress"),
    ("裙子", "条", "skirt", "wear wash dress"),
    ("围巾", "条", "scarf", "wear don"),
    ("领带", "条", "tie", "wear"),
    ("帽子", "顶", "hat", "wear hang don"),
    ("鞋", "双", "shoes", "wear plonly dress"),
    ("袜子", "双", "socks", "wear plonly wash dress"),
    ("手套", "副", "gloves", "wear plonly don"),
    ("眼镜", "副", "glasses", "wear plonly don"),
    ("裤子", "条", "pants", "wear plonly wash dress"),
    ("牛仔裤", "条", "jeans", "wear plonly wash dress"),
    # --- furniture ------------------------------------------------------
    ("桌子", "张", "table", "furn surf under"),
    ("椅子", "把", "chair", "furn surf under seat"),
    ("床", "张", "bed", "furn surf under seat"),
    ("沙发", "张", "sofa", "furn surf seat"),
    ("书架", "个", "bookshelf", "furn surf"),
    ("书桌", "张", "desk", "furn surf under"),
    ("柜子", "个", "cabinet", "furn cont cobj cfood open"),
    ("冰箱", "台", "fridge", "furn cont cfood open"),
    ("门", "扇", "door", "furn open shut"),
    ("窗户", "扇", "window", "furn open shut"),
    ("墙", "面", "wall", "furn wall"),
    # --- vehicles -------------------------------------------------------
    ("车", "辆", "car", "veh drive wash fix"),
    ("自行车", "辆", "bicycle", "veh ride fix"),
    ("公共汽车", "辆", "bus", "veh transit"),
    ("出租车", "辆", "taxi", "veh transit"),
    ("火车", "列", "train", "veh transit longhaul"),
    ("飞机", "架", "plane", "veh transit longhaul"),
    ("船", "条", "boat", "veh transit longhaul"),
    ("地铁", "", "subway", "veh transit"),
    ("摩托车", "辆", "motorcycle", "veh ride fix"),
    ("卡车", "辆", "truck", "veh drive"),
    # --- places ---------------------------------------------------------
    ("家", "", "home", "place home bare rest"),
    ("学校", "所", "school", "place study work bare"),
    ("大学", "所", "university", "place study work visit"),
    ("图书馆", "个", "library", "place study"),
    ("教室", "间", "classroom", "place study li room"),
    ("公园", "个", "park", "place out fun li visit"),
    ("花园", "个", "garden", "place out home li"),
    ("海边", "", "beach", "place out water fun"),
    ("游泳池", "个", "pool", "place water li"),
    ("河", "条", "river", "place water fish li"),
    ("湖", "个", "lake", "place water fish li"),
    ("海", "", "sea", "place water fish li"),
    ("医院", "家", "hospital", "place work"),
    ("餐厅", "家", "restaurant", "place eat work"),
    ("咖啡馆", "家", "cafe", "place eat study"),
    ("超市", "家", "supermarket", "place shop work"),
    ("商店", "家", "store", "place shop work"),
    ("书店", "家", "bookstore", "place shop"),
    ("市场", "个", "market", "place shop"),
    ("银行", "家", "bank", "place work"),
    ("电影院", "家", "cinema", "place fun"),
    ("博物馆", "个", "museum", "place fun visit"),
    ("动物园", "个", "zoo", "place fun visit"),
    ("体育馆", "个", "gym", "place sportsite"),
    ("机场", "个", "airport", "place work"),
    ("火车站", "个", "station", "place work"),
    ("办公室", "个", "office", "place work study li room"),
    ("公司", "家", "company", "place work"),
    ("酒店", "家", "hotel", "place work"),
    ("厨房", "个", "kitchen", "place home eat li room"),
    ("房间", "个", "room", "place home li room rest"),
    ("客厅", "个", "living room", "place home li room rest"),
    # --- cities and countries (no article, no measure word) -------------
    ("北京", "", "beijing", "city"),
    ("上海", "", "shanghai", "city"),
    ("香港", "", "hong kong", "city"),
    ("台北", "", "taipei", "city"),
    ("新加坡", "", "singapore", "city"),
    ("广州", "", "guangzhou", "city"),
    ("深圳", "", "shenzhen", "city"),
    ("成都", "", "chengdu", "city"),
    ("伦敦", "", "london", "city"),
    ("纽约", "", "new york", "city"),
    ("东京", "", "tokyo", "city"),
    ("巴黎", "", "paris", "city"),
    ("中国", "", "china", "city"),
    ("日本", "", "japan", "city"),
    ("美国", "", "america", "city"),
    ("英国", "", "england", "city"),
    ("法国", "", "france", "city"),
    ("德国", "", "germany", "city"),
    ("韩国", "", "korea", "city"),
    ("马来西亚", "", "malaysia", "city"),
    # --- media, sports and languages (uncounted, as verb objects) --------
    ("电影", "部", "movie", "media watch"),
    ("比赛", "场", "game", "media watch"),
    ("视频", "个", "video", "media watch"),
    ("新闻", "", "news", "media watch mass the"),
    ("音乐", "", "music", "media listen mass"),
    ("歌", "首", "song", "media listen sing"),
    ("广播", "", "radio", "media listen mass the"),
    ("足球", "", "soccer", "sport kick"),
    ("篮球", "", "basketball", "sport hit"),
    ("网球", "", "tennis", "sport hit"),
    ("羽毛球", "", "badminton", "sport hit"),
    ("乒乓球", "", "ping-pong", "sport hit"),
    ("中文", "", "chinese", "lang"),
    ("英文", "", "english", "lang"),
    ("日语", "", "japanese", "lang"),
    ("法语", "", "french", "lang"),
    ("德语", "", "german", "lang"),
    ("韩语", "", "korean", "lang"),
    ("西班牙语", "", "spanish", "lang"),
)

#: English unit nouns for the measure words that count mass nouns
#: (一 杯 咖啡 / a cup of coffee, 两 碗 米饭 / two bowls of rice).
_EN_UNIT = {
    "杯": "cup", "瓶": "bottle", "碗": "bowl", "块": "piece", "串": "bunch", "份": "serving",
}


@dataclass(frozen=True)
class Noun:
    zh: str
    cl: str
    en: str
    tags: Tuple[str, ...]

    @property
    def cls(self) -> str:
        return self.tags[0]

    def has(self, *tags: str) -> bool:
        return any(t in self.tags for t in tags)

    @property
    def en_pl(self) -> str:
        return self.en if self.has("plonly") else english.plural(self.en)

    @property
    def unit(self) -> str:
        """English unit noun that renders the measure word ("" for none):
        mass nouns by their measure word, plural-only nouns in pairs."""
        if self.has("plonly"):
            return {"双": "pair", "副": "pair", "条": "pair", "碗": "bowl", "串": "bunch"}.get(
                self.cl, "")
        if self.has("mass"):
            return _EN_UNIT.get(self.cl, "")
        return ""

    @property
    def countable(self) -> bool:
        """Can take a numeral + measure word (一 本 书, 一 杯 咖啡)."""
        return bool(self.cl) and (not self.has("mass", "plonly") or bool(self.unit))

    @property
    def gender(self) -> str:
        return "f" if self.has("f") else "m" if self.has("m") else ""


NOUNS: Tuple[Noun, ...] = tuple(Noun(zh, cl, en, tuple(tags.split()))
                                for zh, cl, en, tags in _NOUN_ROWS)
#: Measure words used in the lexicon, in first-use order.
MEASURE_WORDS: Tuple[str, ...] = tuple(dict.fromkeys(n.cl for n in NOUNS if n.cl))


def nouns_with(tags: Sequence[str]) -> List[Noun]:
    """Nouns whose class or fine tags include any of ``tags`` (table order)."""
    return list(_nouns_with(tuple(tags)))


@lru_cache(maxsize=None)  # a lookup cache only: results keep table order
def _nouns_with(tags: Tuple[str, ...]) -> Tuple[Noun, ...]:
    return tuple(n for n in NOUNS if n.has(*tags))


# ==========================================================================
# Lexicon: verbs
# ==========================================================================
# (zh, en, frame, objects, subjects, places, flags)
# Frames:
#   tr    transitive (吃 苹果 / eat an apple); objects = noun tags
#   intr  intransitive, incl. Mandarin verb-object compounds (睡觉 / sleep)
#   goal  motion to a place (去 学校 / go to school); objects = place tags
#   stat  stative: present only, no 了 (喜欢 / like, 有 / have)
#   give  ditransitive (给 妈妈 一 本 书 / give my mother a book)
#   put   把 + object + verb + 在 place (把 书 放 在 桌子 上 / put the book on the table)
# places: where the action happens (tags of place nouns), for 在 + place.
# Flags: x = experiential 过 is natural (吃 过 / have eaten); far = fine with
# week/month/year time words (去年 去 了 北京, but not 去年 吃 了 苹果);
# np = no progressive; nh = not habitual (a one-off event: 丢 了 钥匙); po = past
# only (an unplanned event: "会 丢 钥匙" / "will lose the key" is odd); g =
# generic object only (弹 钢琴 / play the piano, 说 中文 / speak chinese); solo =
# done alone (no 跟 ... 一起: not "跟 老板 一起 洗澡"); one = a habit with one
# object (她 戴 一 块 手表 / she wears a watch, not "wears watches"); vo =
# verb-object compound, split by 过 (游 过 泳 / have swum).
# English multi-word verbs inflect their first word ("listen to" -> "listened to").
_VERB_ROWS: Tuple[Tuple[str, str, str, str, str, str, str], ...] = (
    # --- transitive -----------------------------------------------------
    ("吃", "eat", "tr", "food meal", "hum", "eat home", "x"),
    ("喝", "drink", "tr", "drink", "hum", "eat home", "x"),
    ("吃", "eat", "tr", "feed", "grazer", "home out", ""),  # 兔子 吃 胡萝卜
    ("吃", "eat", "tr", "meat", "chaser", "home", ""),  # 狗 吃 肉
    ("喝", "drink", "tr", "petdrink", "ani", "home out", ""),
    ("买", "buy", "tr", "food drink obj wear plant", "hum", "shop", "far"),
    ("买", "buy", "tr", "drive ride", "hum", "", "far np nh adult"),
    ("卖", "sell", "tr", "drive ride tool", "hum", "", "far np nh adult"),
    ("看", "read", "tr", "read", "hum", "study home", "x"),
    ("看", "watch", "tr", "watch", "hum", "home fun", "x"),
    ("写", "write", "tr", "write", "hum", "study home", "far"),
    ("找", "look for", "tr", "hold pet", "hum", "", ""),
    ("找到", "find", "tr", "hold pet", "hum", "", "np nh po"),
    ("丢", "lose", "tr", "hold", "hum", "", "np nh po"),
    ("带", "bring", "tr", "hold", "hum", "", "np"),
    ("用", "use", "tr", "tool", "hum", "study home work", ""),
    ("洗", "wash", "tr", "wash", "hum", "home", ""),
    ("做", "make", "tr", "dish", "hum", "eat", "x"),
    ("做", "do", "tr", "task", "hum", "study home", "g"),
    ("修", "fix", "tr", "fix", "hum", "home", "far"),
    ("画", "draw", "tr", "ani", "hum", "study home out", ""),
    ("拍", "take", "tr", "photo", "hum", "out fun", ""),
    ("听", "listen to", "tr", "listen", "hum", "home", "x"),
    ("唱", "sing", "tr", "sing", "hum", "", "x"),
    ("弹", "play", "tr", "play", "hum", "home", "g"),
    ("踢", "play", "tr", "kick", "hum", "out", "x g"),
    ("打", "play", "tr", "hit", "hum", "sportsite out", "x g"),
    ("学", "learn", "tr", "lang play", "hum", "study", "x far g"),
    ("说", "speak", "tr", "lang", "hum", "", "np g"),
    ("教", "teach", "tr", "lang", "hum", "study", "far g adult"),
    ("见", "meet", "tr", "hum kin", "hum", "eat fun", "x np"),
    ("帮助", "help", "tr", "hum kin", "hum", "", ""),
    ("等", "wait for", "tr", "hum kin transit", "hum", "", ""),
    ("照顾", "take care of", "tr", "kin pet", "hum", "home", "far"),
    ("喂", "feed", "tr", "pet", "hum", "home", ""),
    ("骑", "ride", "tr", "ride", "hum", "out", "x"),
    ("开", "drive", "tr", "drive", "hum", "", "x adult"),
    ("打开", "open", "tr", "open", "hum", "", "np nh"),
    ("关", "close", "tr", "shut", "hum", "", "np nh"),
    ("打扫", "clean", "tr", "room", "hum", "", ""),
    ("参观", "visit", "tr", "visit", "hum", "", "x far"),
    ("点", "order", "tr", "food drink", "hum", "eat", ""),
    ("尝", "taste", "tr", "food", "hum", "", "x np nh"),
    ("穿", "wear", "tr", "dress", "hum", "", "np one solo"),
    ("戴", "wear", "tr", "don", "hum", "", "np one solo"),
    ("借", "borrow", "tr", "read", "hum", "study", ""),
    ("还", "return", "tr", "read", "hum", "study", "np nh"),
    ("拿", "take", "tr", "hold", "hum", "", "np"),
    ("收到", "receive", "tr", "gift mail", "hum", "", "np nh po"),
    ("切", "cut", "tr", "cut", "hum", "home", ""),
    ("追", "chase", "tr", "prey", "chaser", "out home", ""),
    # --- intransitive ---------------------------------------------------
    ("睡觉", "sleep", "intr", "", "hum ani", "rest", "solo"),
    ("游泳", "swim", "intr", "", "hum", "water", "x vo"),
    ("跑步", "run", "intr", "", "hum", "out sportsite", ""),
    ("学习", "study", "intr", "", "hum", "study home", "far"),
    ("工作", "work", "intr", "", "hum", "work home", "far adult"),
    ("休息", "rest", "intr", "", "hum", "rest", ""),
    ("唱歌", "sing", "intr", "", "hum", "home fun", ""),
    ("跳舞", "dance", "intr", "", "hum", "home fun", "x vo"),
    ("散步", "take a walk", "intr", "", "hum", "out", ""),
    ("做饭", "cook", "intr", "", "hum", "home", ""),
    ("洗澡", "take a shower", "intr", "", "hum", "", "np solo"),
    ("哭", "cry", "intr", "", "hum", "", "po solo"),
    ("笑", "laugh", "intr", "", "hum", "", "po solo"),
    ("起床", "get up", "intr", "", "hum", "", "np solo"),
    ("上班", "go to work", "intr", "", "hum", "", "np adult"),
    ("下班", "finish work", "intr", "", "hum", "", "np adult"),
    ("回家", "go home", "intr", "", "hum", "", "np"),
    ("逛街", "go shopping", "intr", "", "hum", "", ""),
    ("钓鱼", "fish", "intr", "", "hum", "fish", "x vo"),
    ("爬山", "go hiking", "intr", "", "hum", "", "x vo"),
    ("聊天", "chat", "intr", "", "hum", "eat home", ""),
    ("玩", "play", "intr", "", "hum ani", "out home", ""),
    ("飞", "fly", "intr", "", "bird", "out", ""),
    ("锻炼", "exercise", "intr", "", "hum", "sportsite out", ""),
    ("开会", "have a meeting", "intr", "", "hum", "work", "adult"),
    ("上课", "have class", "intr", "", "hum", "study", ""),
    ("搬家", "move", "intr", "", "hum", "", "far np nh adult"),
    ("旅行", "travel", "intr", "", "hum", "", "x far"),
    ("画画", "paint", "intr", "", "hum", "home study out", ""),
    ("吃饭", "eat", "intr", "", "hum", "eat home", ""),
    ("迟到", "arrive late", "intr", "", "hum", "", "np po"),
    # --- motion to a place ----------------------------------------------
    ("去", "go to", "goal", "place", "hum", "", "x np"),
    ("去", "go to", "goal", "city", "hum", "", "x far np"),
    ("来", "come to", "goal", "place", "hum", "", "np"),
    ("来", "come to", "goal", "city", "hum", "", "far np nh"),
    ("回", "go back to", "goal", "city", "hum", "", "far np nh"),
    # --- stative (present tense) ----------------------------------------
    ("喜欢", "like", "stat", "food drink ani obj media sport wear veh", "hum", "", ""),
    ("爱", "love", "stat", "kin ani food", "hum", "", ""),
    ("讨厌", "hate", "stat", "food ani sport", "hum", "", ""),
    ("有", "have", "stat", "pet obj veh wear abs", "hum", "", ""),
    ("需要", "need", "stat", "obj drink abs", "hum", "", ""),
    ("想要", "want", "stat", "food drink obj veh ani", "hum", "", ""),
    ("认识", "know", "stat", "hum", "hum", "", ""),
    ("养", "keep", "stat", "pet", "hum", "", ""),  # 她 养 两 只 猫 / she keeps two cats
    # --- ditransitive ---------------------------------------------------
    ("给", "give", "give", "hold gift food drink", "hum", "", ""),
    ("送", "give", "give", "gift", "hum", "", ""),
    ("借", "lend", "give", "read hold", "hum", "", ""),
    # --- 把 + put -------------------------------------------------------
    ("放", "put", "put", "hold", "hum", "surf cobj", ""),
    ("挂", "hang", "put", "hang", "hum", "wall", ""),
)


@dataclass(frozen=True)
class Verb:
    zh: str
    en: str
    frame: str
    obj: Tuple[str, ...]
    subj: Tuple[str, ...]
    places: Tuple[str, ...]
    flags: Tuple[str, ...]

    def flag(self, name: str) -> bool:
        return name in self.flags


VERBS: Tuple[Verb, ...] = tuple(
    Verb(zh, en, frame, tuple(o.split()), tuple(s.split()), tuple(p.split()), tuple(f.split()))
    for zh, en, frame, o, s, p, f in _VERB_ROWS)


def verbs_with_frame(frame: str) -> List[Verb]:
    return [v for v in VERBS if v.frame == frame]


def _subject_ok(verb: Verb, noun: Optional[Noun]) -> bool:
    """A pronoun subject (noun None) is human; animal subjects must match."""
    if noun is None:
        return "hum" in verb.subj
    if verb.flag("adult") and noun.has("kid"):  # 孩子 上班 / the child goes to work
        return False
    return noun.has(*verb.subj) or (noun.cls == "kin" and "hum" in verb.subj)


# ==========================================================================
# Lexicon: adjectives
# ==========================================================================
# (zh, en, classes, kind). Kinds:
#   state  temporary state of a person: any tense, with time words
#          (他 昨天 很 累 / he was tired yesterday); predicative only
#   prop   lasting property: present tense; attributive and predicative
#   pred   property, predicative only (monosyllabic adjectives read oddly
#          before a noun without 很 ... 的: "很 贵 的 手机" rather than "贵 手机")
#   attr   attributive only (colours: 红色 的 衬衫 / a red shirt)
# Monosyllabic attributive adjectives attach without 的 (大 房子, 新 手机).
_ADJ_ROWS: Tuple[Tuple[str, str, str, str], ...] = (
    # --- states of people -----------------------------------------------
    ("高兴", "happy", "hum", "state"),
    ("开心", "glad", "hum", "state"),
    ("累", "tired", "hum ani", "state"),
    ("忙", "busy", "hum", "state"),
    ("饿", "hungry", "hum ani", "state"),
    ("渴", "thirsty", "hum ani", "state"),
    ("生气", "angry", "hum", "state"),
    ("紧张", "nervous", "hum", "state"),
    ("难过", "sad", "hum", "state"),
    ("兴奋", "excited", "hum", "state"),
    ("无聊", "bored", "hum", "state"),
    ("害怕", "scared", "hum ani", "state"),
    ("失望", "disappointed", "hum", "state"),
    ("满意", "satisfied", "hum", "state"),
    ("舒服", "comfortable", "hum", "state"),
    ("冷", "cold", "hum", "state"),
    # --- properties of people and animals -------------------------------
    ("聪明", "smart", "hum ani", "prop"),
    ("漂亮", "beautiful", "hum place wear city plant", "prop"),
    ("友好", "friendly", "hum ani", "prop"),
    ("善良", "kind", "hum", "prop"),
    ("年轻", "young", "hum", "prop"),
    ("努力", "hardworking", "hum", "prop"),
    ("有名", "famous", "hum place city", "prop"),
    ("可爱", "cute", "hum ani", "prop"),
    ("安静", "quiet", "hum place ani", "prop"),
    ("高", "tall", "hum", "pred"),
    ("矮", "short", "hum", "pred"),
    ("帅", "handsome", "hum", "pred"),
    ("瘦", "thin", "hum ani", "pred"),
    ("胖", "fat", "ani", "pred"),
    ("懒", "lazy", "hum ani", "pred"),
    ("危险", "dangerous", "ani veh", "prop"),
    # --- properties of things -------------------------------------------
    ("大", "big", "ani place obj veh furn wear city", "prop"),
    ("小", "small", "ani place obj veh furn wear", "prop"),
    ("新", "new", "obj veh wear furn", "prop"),
    ("旧", "old", "obj veh wear furn", "prop"),
    ("贵", "expensive", "obj veh wear furn food drink", "pred"),
    ("便宜", "cheap", "obj veh wear furn food", "prop"),
    ("干净", "clean", "obj veh wear furn place", "prop"),
    ("脏", "dirty", "obj veh wear furn place", "pred"),
    ("重", "heavy", "obj furn", "pred"),
    ("轻", "light", "obj", "pred"),
    ("有用", "useful", "tool", "prop"),
    ("奇怪", "strange", "obj media", "prop"),
    ("好看", "pretty", "obj wear", "prop"),
    ("舒适", "comfortable", "seat wear", "prop"),
    ("软", "soft", "furn wear", "pred"),
    ("长", "long", "wear", "pred"),
    ("短", "short", "wear", "pred"),
    ("好吃", "delicious", "food", "prop"),
    ("甜", "sweet", "food drink", "pred"),
    ("辣", "spicy", "food", "pred"),
    ("咸", "salty", "food", "pred"),
    ("酸", "sour", "food drink", "pred"),
    ("苦", "bitter", "drink", "pred"),
    ("新鲜", "fresh", "food", "prop"),
    ("热闹", "lively", "place city", "prop"),
    ("远", "far away", "place", "pred"),
    ("近", "close", "place", "pred"),
    ("有意思", "interesting", "media read", "prop"),
    ("好看", "good", "media", "pred"),
    ("红色", "red", "colored wear veh", "attr"),
    ("蓝色", "blue", "colored wear veh", "attr"),
    ("绿色", "green", "colored wear", "attr"),
    ("黑色", "black", "colored wear veh ani", "attr"),
    ("白色", "white", "colored wear veh ani", "attr"),
    ("黄色", "yellow", "colored wear plant", "attr"),
)

#: Weather adjectives for subjectless clauses (今天 很 热 / it is hot today).
_WEATHER_ADJECTIVES = (("热", "hot"), ("冷", "cold"), ("暖和", "warm"), ("凉快", "cool"))
#: Weather verbs (下雨 / it rains).
_WEATHER_VERBS = (("下雨", "rain"), ("下雪", "snow"), ("刮风", "be windy"))


@dataclass(frozen=True)
class Adjective:
    zh: str
    en: str
    classes: Tuple[str, ...]
    kind: str

    def fits(self, noun: Optional[Noun]) -> bool:
        if noun is None:  # a pronoun subject
            return "hum" in self.classes
        # a class or a fine tag ("read": 有意思 的 书); relatives are people
        return noun.has(*self.classes) or (noun.cls == "kin" and "hum" in self.classes)


ADJECTIVES: Tuple[Adjective, ...] = tuple(Adjective(zh, en, tuple(c.split()), kind)
                                          for zh, en, c, kind in _ADJ_ROWS)


def adjectives_for(noun: Optional[Noun], kinds: Sequence[str]) -> List[Adjective]:
    """Adjectives of ``kinds`` that can describe ``noun`` (None: a person)."""
    return list(_adjectives_for(noun, tuple(kinds)))


@lru_cache(maxsize=None)
def _adjectives_for(noun: Optional[Noun], kinds: Tuple[str, ...]) -> Tuple[Adjective, ...]:
    return tuple(a for a in ADJECTIVES if a.kind in kinds and a.fits(noun))


# ==========================================================================
# Lexicon: pronouns, adverbs, conjunctions, time words
# ==========================================================================
# (person, zh, English subject, object, possessive)
_PRONOUNS: Tuple[Tuple[str, str, str, str, str], ...] = (
    ("1sg", "我", "I", "me", "my"),
    ("2sg", "你", "you", "you", "your"),
    ("3sg", "他", "he", "him", "his"),
    ("3sg", "她", "she", "her", "her"),
    ("1pl", "我们", "we", "us", "our"),
    ("2pl", "你们", "you", "you", "your"),
    ("3pl", "他们", "they", "them", "their"),
    ("3pl", "她们", "they", "them", "their"),
)
_PRONOUN_WEIGHTS = {"我": 6, "你": 3, "他": 3, "她": 3, "我们": 3, "你们": 1, "他们": 2, "她们": 1}

# Frequency adverbs for the habitual present: before the verb in both languages.
_FREQUENCY_ADVERBS = (("经常", "often"), ("总是", "always"), ("有时候", "sometimes"),
                      ("常常", "often"), ("通常", "usually"), ("很少", "rarely"))
# Degree words before a predicative adjective: (zh, en). 很 is the plain
# predicative degree word with no English counterpart.
_DEGREE = ((("很", ""), 8), (("非常", "very"), 2), (("真", "really"), 1),
           (("有点", "a little"), 1))
# Modal verbs: (zh, en, en 3sg, negated zh, negated en, negated en 3sg)
_MODALS = (
    ("想", "want to", "wants to", "不 想", "do not want to", "does not want to"),
    ("可以", "can", "can", "不 可以", "cannot", "cannot"),
    ("能", "can", "can", "不 能", "cannot", "cannot"),
    ("应该", "should", "should", "不 应该", "should not", "should not"),
    ("需要", "need to", "needs to", "不 需要", "do not need to", "does not need to"),
    ("喜欢", "like to", "likes to", "不 喜欢", "do not like to", "does not like to"),
    ("打算", "plan to", "plans to", "不 打算", "do not plan to", "does not plan to"),
)

# Time words per frame and scale, (zh, en). "day": fine with any everyday
# action; "long": only with verbs flagged "far". Mandarin says them before
# the verb, English at the end of the clause.
_DAYS = (("星期一", "monday"), ("星期二", "tuesday"), ("星期三", "wednesday"),
         ("星期四", "thursday"), ("星期五", "friday"), ("星期六", "saturday"),
         ("星期天", "sunday"))
_TIME_WORDS = {
    ("past", "day"): (
        ("昨天", "yesterday"), ("前天", "the day before yesterday"),
        ("昨天 早上", "yesterday morning"), ("昨天 下午", "yesterday afternoon"),
        ("昨天 晚上", "last night"), ("今天 早上", "this morning"), ("刚才", "just now"),
        ("上个周末", "last weekend"),
    ) + tuple(("上个" + zh, "last " + en) for zh, en in _DAYS),
    ("past", "long"): (
        ("上个星期", "last week"), ("上个月", "last month"), ("去年", "last year"),
        ("前年", "the year before last"),
    ),
    ("future", "day"): (
        ("明天", "tomorrow"), ("后天", "the day after tomorrow"),
        ("明天 早上", "tomorrow morning"), ("明天 下午", "tomorrow afternoon"),
        ("明天 晚上", "tomorrow evening"), ("今天 晚上", "tonight"),
        ("这 个 周末", "this weekend"), ("今天 下午", "this afternoon"),
    ) + tuple(("下个" + zh, "next " + en) for zh, en in _DAYS),
    ("future", "long"): (
        ("下个星期", "next week"), ("下个月", "next month"), ("明年", "next year"),
    ),
    ("present", "day"): (
        ("每天", "every day"), ("每天 早上", "every morning"), ("每天 晚上", "every evening"),
        ("早上", "in the morning"), ("下午", "in the afternoon"), ("晚上", "in the evening"),
        ("周末", "on weekends"), ("每 个 周末", "every weekend"),
    ) + tuple(("每 个 " + zh, "every " + en) for zh, en in _DAYS),
}
_TIME_WORDS[("present", "long")] = _TIME_WORDS[("present", "day")]
#: Day and part of day for clock times: (frame, day zh, day en, part zh, part en, hours)
_CLOCK_PARTS = (("早上", "morning", (6, 7, 8, 9, 10)), ("下午", "afternoon", (1, 2, 3, 4, 5)),
                ("晚上", "evening", (6, 7, 8, 9)))
_CLOCK_DAYS = {"past": ("昨天", "yesterday"), "future": ("明天", "tomorrow"),
               "present": ("每天", "every")}
#: Past time words that unambiguously mark the past (used by the tests).
PAST_TIME_WORDS = ("昨天", "前天", "刚才", "上个周末", "上个星期", "上个月", "去年", "前年")
#: Future time words that unambiguously mark the future (used by the tests).
FUTURE_TIME_WORDS = ("明天", "后天", "下个星期", "下个月", "明年")


# ==========================================================================
# Morphology
# ==========================================================================
def _experiential_participle(head: str) -> str:
    # 去 过 北京 is "have been to beijing": "have gone to" would mean that
    # the subject is still there, the opposite of the experiential 过
    return "been" if head == "go" else english.past_participle(head)


def en_experiential(verb: str) -> str:
    """Participle after "have" for the experiential 过 (吃 过 / have eaten,
    去 过 / have been to, 爬 过 山 / have been hiking)."""
    return english.inflect_head(verb, _experiential_participle)


_ZH_DIGITS = ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九")


def zh_number(n: int, before_measure: bool = False) -> str:
    """1..99 in characters; 两 for 2 before a measure word (两 个, but 十二 个)."""
    if not 1 <= n <= 99:
        raise ValueError(f"number out of range: {n}")
    if n == 2 and before_measure:
        return "两"
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _ZH_DIGITS[ones]
    head = "十" if tens == 1 else _ZH_DIGITS[tens] + "十"
    return head + (_ZH_DIGITS[ones] if ones else "")


# ==========================================================================
# Random helpers
# ==========================================================================
def _weighted(rng: random.Random, options: Sequence[Tuple[object, float]]):
    total = sum(w for _, w in options)
    r = rng.random() * total
    for value, w in options:
        r -= w
        if r < 0:
            return value
    return options[-1][0]


def _count(rng: random.Random, big: bool = False) -> int:
    """A cardinal for counting things: mostly small; up to 99 for crowds
    and collections (``big``)."""
    r = rng.random()
    if r < 0.8:
        return rng.randint(2, 5)
    if r < 0.95 or not big:
        return rng.randint(6, 10)
    return rng.randint(11, 99)


def _neg(rng: random.Random, prob: float = 0.12) -> bool:
    return rng.random() < prob


# ==========================================================================
# Noun phrases
# ==========================================================================
@dataclass
class Phrase:
    """A noun phrase with what English agreement and pronouns need."""

    node: Node
    person: str  # "3sg" / "3pl" for nouns, the pronoun's person otherwise
    noun: Optional[Noun] = None
    #: English subject pronoun that can stand for it in a second clause
    pronoun_en: str = ""


def _pronoun_for(noun: Optional[Noun], person: str) -> str:
    if person == "3pl":
        return "they"
    if noun is None:
        return ""
    if noun.cls in ("hum", "kin"):
        return {"f": "she", "m": "he"}.get(noun.gender, "")
    return "it"


def _is_human(ph: Optional[Phrase]) -> bool:
    """A pronoun subject or a person noun phrase."""
    return ph is not None and ph.pronoun_en != "it" and (
        ph.noun is None or ph.noun.cls in ("hum", "kin"))


def _attributive(rng: random.Random, noun: Noun, prob: float) -> Optional[Adjective]:
    adjs = adjectives_for(noun, ("prop", "attr"))
    return rng.choice(adjs) if adjs and rng.random() < prob else None


def _nominal(noun: Noun, en_noun: str, adj: Optional[Adjective], label: str = "NP") -> Node:
    """The noun with its adjective: "漂亮 的 公园" / "beautiful park".

    Monosyllabic adjectives attach without 的 (大 房子, 新 手机), longer ones
    with it. Labelled NP (switchable: "一 个 new phone") unless the caller
    owns an English article that would be lost ("the" -> label NOM).
    """
    kids = []
    if adj is not None:
        kids.append(leaf("ADJ", zh=adj.zh, en=adj.en))
        if len(adj.zh) > 1:
            kids.append(leaf("DE", zh="的", en=""))
    kids.append(leaf("N", zh=noun.zh, en=en_noun))
    return Node(label, children=kids)


def _first_en(node: Node) -> str:
    return render(node, "en")[0].text


def noun_phrase(rng: random.Random, noun: Noun, det: str, adj_prob: float = 0.2,
                n: int = 1, adj: Optional[Adjective] = None) -> Phrase:
    """A noun phrase of determiner kind ``det``:

    * ``num``: 一 个 苹果 / an apple, 三 本 书 / three books,
      两 杯 咖啡 / two cups of coffee, 一 双 鞋 / a pair of shoes
    * ``this`` / ``that``: 这 本 书 / this book; with n > 1 这些 书 / these books
    * ``def``: bare Mandarin noun read as definite: 猫 / the cat
    * ``generic``: bare Mandarin noun read generically: 猫 / cats, 咖啡 / coffee
      (some nouns keep "the": 弹 钢琴 / play the piano)
    * ``many``: 很多 书 / many books, 很多 水 / a lot of water
    * ``some``: 一些 书 / some books
    """
    if adj is None:
        adj = _attributive(rng, noun, adj_prob)
    unit = noun.unit
    uncounted = noun.has("mass") or noun.cls in ("sport", "lang", "meal", "city") or \
        not noun.cl or (det == "generic" and noun.has("the"))
    if det in ("generic", "many", "some"):
        plural = not uncounted
    elif det == "num":
        plural = n > 1
    elif det in ("this", "that"):
        plural = n > 1 and not unit
    else:
        plural = False
    plural = plural or noun.has("plonly")
    en_noun = noun.en_pl if plural and not (unit and noun.has("mass")) else noun.en
    # agreement: a unit phrase agrees with the unit ("a pair of shoes is")
    if unit and det in ("num", "this", "that"):
        person = "3pl" if n > 1 else "3sg"
    else:
        person = "3pl" if plural else "3sg"

    def phrase(kids: List[Node]) -> Phrase:
        return Phrase(Node("NP", children=kids), person, noun, _pronoun_for(noun, person))

    if det == "num":
        inner = _nominal(noun, en_noun, adj)
        unit_en = ""
        if unit:
            unit_en = (english.plural(unit) if n > 1 else unit) + " of"
        if n == 1:
            num_en = english.indefinite_article(unit_en or _first_en(inner))
        else:
            num_en = english.number(n)
        return phrase([leaf("NUM", zh=zh_number(n, before_measure=True), en=num_en),
                       leaf("CL", zh=noun.cl, en=unit_en), inner])
    if det in ("this", "that"):
        inner = _nominal(noun, en_noun, adj)
        zh_dem = "这" if det == "this" else "那"
        if plural and not unit:
            en_dem = "these" if det == "this" else "those"
            return phrase([leaf("DET", zh=zh_dem + "些", en=en_dem), inner])
        unit_en = (unit + " of") if unit else ""
        return phrase([leaf("DET", zh=zh_dem, en=det), leaf("CL", zh=noun.cl, en=unit_en),
                       inner])
    if det == "def" or (det == "generic" and noun.has("the")):
        return phrase([leaf("DET", zh="", en="the"), _nominal(noun, en_noun, adj, "NOM")])
    if det == "many":
        return phrase([leaf("DET", zh="很多", en="a lot of" if uncounted else "many"),
                       _nominal(noun, en_noun, adj)])
    if det == "some":
        return phrase([leaf("DET", zh="一些", en="some"), _nominal(noun, en_noun, adj)])
    if det == "generic":
        inner = _nominal(noun, en_noun, adj)
        return Phrase(inner, person, noun, _pronoun_for(noun, person))
    raise ValueError(f"unknown determiner kind {det!r}")


def _own_possessor(subj: Phrase) -> Optional[Tuple[str, str, str, str, str]]:
    """The pronoun row of a pronoun subject (她 爱 她 的 妈妈), else None."""
    if subj.noun is None and subj.node.words is not None:
        zh = subj.node.words["zh"]
        return next((p for p in _PRONOUNS if (p[1],) == zh), None)
    return None


def _owner(rng: random.Random) -> Tuple[str, str, str, str, str]:
    return _weighted(rng, [(p, _PRONOUN_WEIGHTS[p[1]]) for p in _PRONOUNS])


def possessed_phrase(rng: random.Random, noun: Noun, adj_prob: float = 0.15,
                     owner: Optional[Tuple[str, str, str, str, str]] = None) -> Phrase:
    """"我 的 猫" / "my cat": possessor pronoun + 的 + (adjective) noun.

    The possessor (one POSS leaf, "我 的" / "my") stays outside the inner NP,
    so "我 的 boss" can arise.
    """
    while owner is None or (noun.has("spouse") and owner[0][1:] == "pl"):
        owner = _owner(rng)
    adj = _attributive(rng, noun, adj_prob)
    plural = noun.has("plonly")
    en_noun = noun.en_pl if plural else noun.en
    kids = [leaf("POSS", zh=owner[1] + " 的", en=owner[4]), _nominal(noun, en_noun, adj)]
    person = "3pl" if plural else "3sg"
    return Phrase(Node("NP", children=kids), person, noun, _pronoun_for(noun, person))


def pronoun(rng: random.Random, role: str = "subj",
            persons: Sequence[str] = PERSONS) -> Phrase:
    """A personal pronoun, labelled NPx: a lone switched pronoun ("I 明天 去
    学校") is rare in real code-switching."""
    rows = [(p, _PRONOUN_WEIGHTS[p[1]]) for p in _PRONOUNS if p[0] in persons]
    person, zh, subj, obj, _ = _weighted(rng, rows)
    en = subj if role == "subj" else obj
    return Phrase(leaf("NPx", zh=zh, en=en), person, None, subj)


def person_phrase(rng: random.Random, role: str = "subj", counted: bool = True,
                  kin: bool = True) -> Phrase:
    """A human noun phrase: a relative with a possessor (if ``kin``), or a
    person noun (``counted``: may be "三 个 学生")."""
    r = rng.random() if kin else 0.45 + 0.55 * rng.random()
    if r < 0.45:
        return possessed_phrase(rng, rng.choice(nouns_with(("kin",))), 0.0)
    if r < 0.6:  # 我 的 朋友 / my friend; not "my reporter"
        return possessed_phrase(rng, rng.choice(nouns_with(("rel",))), 0.0)
    # bare 朋友 / "the friend" reads oddly: relational nouns want a possessor
    noun = rng.choice([n for n in NOUNS if n.cls == "hum" and
                       n.zh not in ("人", "朋友", "同学", "同事", "邻居")])
    # a bare object noun reads oddly definite (等 男人): prefer 这/那 there
    weights = (("this", 3), ("that", 3), ("def", 4 if role == "subj" else 1),
               ("num", (0.3 if role == "subj" else 1) if counted else 0))
    det = _weighted(rng, weights)
    n = _count(rng) if det == "num" or (counted and rng.random() < 0.15) else 1
    return noun_phrase(rng, noun, det, 0.15, n)


def coordinated_subject(rng: random.Random) -> Phrase:
    """"我 和 我 的 朋友" / "my friend and I"; "他 和 他 的 妹妹" / "he and his sister".

    English puts "I" last; the phrase contains a pronoun, so it is NPx.
    """
    first = pronoun(rng, persons=("1sg", "3sg"))
    other = person_phrase(rng)
    kids = [first.node, leaf("CONJ", zh="和", en="and"), other.node]
    first.node.label = "PRON"
    order = {"en": (2, 1, 0)} if first.person == "1sg" else None
    person = "1pl" if first.person == "1sg" else "3pl"
    return Phrase(Node("NPx", children=kids, order=order), person, None,
                  "we" if person == "1pl" else "they")


def subject(rng: random.Random, verb: Optional[Verb] = None,
            classes: Sequence[str] = ("hum",), pronoun_prob: float = 0.55) -> Phrase:
    """A subject for ``verb`` (or of ``classes``): mostly a pronoun."""
    classes = verb.subj if verb is not None else classes
    if "hum" in classes:
        r = rng.random()
        if r < pronoun_prob:
            return pronoun(rng)
        if r < pronoun_prob + 0.05:
            return coordinated_subject(rng)
        if r < pronoun_prob + 0.3 or not [c for c in classes if c != "hum"]:
            return person_phrase(rng)
    pool = [n for n in NOUNS if n.has(*classes) and n.cls not in ("hum", "kin")]
    noun = rng.choice(pool)
    det = _weighted(rng, (("def", 6), ("this", 2), ("that", 1), ("poss", 2)))
    if det == "poss" and not noun.has("wild"):  # 我 的 猫, not 我 的 狼
        return possessed_phrase(rng, noun)
    return noun_phrase(rng, noun, "def" if det == "poss" else det, 0.2)


def _det_options(noun: Noun, frame: str, neg: bool = False) -> List[Tuple[str, float]]:
    """Object determiners that suit the noun and the time frame.

    Bare (generic) objects suit the habitual present and uncounted nouns
    (吃 了 早饭 / ate breakfast, 打 篮球 / play basketball); a completed or
    planned event usually takes a counted or definite object
    (吃 了 一 个 苹果 / ate an apple).
    """
    if noun.has("transit"):  # 等 公共汽车 / wait for the bus
        return [("def", 1.0)]
    if noun.cls in ("meal", "sport", "lang") or not noun.cl:
        opts = [("generic", 6.0)]
        if noun.has("mass") and noun.cls != "media":
            opts.append(("many", 1.0))
        return opts
    opts: List[Tuple[str, float]] = []
    if neg:  # 没 买 那 本 书 / 没 买 书, never 没 买 两 本 书
        opts = [("generic", 2.0)] if frame == "present" else [
            ("generic", 1.0), ("this", 1.0), ("that", 1.0), ("poss", 1.0)]
    elif frame == "present":  # habits: 我 每天 吃 苹果 / 我 每天 吃 一 个 苹果
        opts += [("generic", 5.0)]
        if noun.countable:
            opts.append(("one", 0.8))
    else:
        opts += [("this", 1.0), ("that", 1.0)]
        if noun.cls not in ("food", "drink"):  # 我 的 糖 / my candy: not for ordering
            opts.append(("poss", 1.0))
        if noun.cls in ("food", "drink", "obj"):  # not 很多 摩托车
            opts.append(("many", 0.6))
        if noun.countable:
            opts += [("num", 6.0), ("some", 0.5)]
        else:
            opts += [("generic", 2.0)]
    if not noun.countable:
        opts = [(d, w) for d, w in opts if d not in ("this", "that", "some")]
        if not noun.has("mass"):
            opts = [(d, w) for d, w in opts if d != "many"] or [("generic", 1.0)]
    return opts


def object_phrase(rng: random.Random, noun: Noun, frame: str, adj_prob: float = 0.25,
                  dets: Optional[Sequence[Tuple[str, float]]] = None,
                  neg: bool = False) -> Phrase:
    """An object noun phrase (determiner by noun, frame and negation),
    sometimes two coordinated with 和 / "and"."""
    det = _weighted(rng, dets or _det_options(noun, frame, neg))
    if det == "poss":
        return possessed_phrase(rng, noun, adj_prob)
    n = 1
    if det == "one":
        det = "num"
    elif det == "num" and noun.cls not in ("veh", "furn", "wear"):  # one car, not four
        n = 1 if rng.random() < 0.6 else _count(rng)
    elif det in ("this", "that") and noun.unit == "" and rng.random() < 0.15:
        n = 2
    ph = noun_phrase(rng, noun, det, adj_prob, n)
    # "苹果 和 香蕉" / "apples and bananas", "一 杯 茶 和 一 杯 咖啡": food and drink only
    if det in ("generic", "num") and n == 1 and noun.cls in ("food", "drink") and \
            rng.random() < 0.12:
        others = [m for m in NOUNS if m.cls == noun.cls and m is not noun
                  and (det == "generic" or m.countable)]
        if others:
            m = rng.choice(others)
            second = noun_phrase(rng, m, det, 0.0, 1)
            node = Node("NP", children=[ph.node, leaf("CONJ", zh="和", en="and"), second.node])
            return Phrase(node, "3pl", noun, "they")
    return ph


# ==========================================================================
# Locatives
# ==========================================================================
def _ground_np(rng: random.Random, noun: Noun) -> Node:
    """A place or ground noun after a preposition: "图书馆" / "the library",
    "学校" / "school", "北京" / "beijing", sometimes "我 的 房间" / "my room"."""
    if noun.cls == "city" or noun.has("bare"):
        return Node("NP", children=[leaf("N", zh=noun.zh, en=noun.en)])
    if noun.has("home") and noun.cl and rng.random() < 0.3:
        return possessed_phrase(rng, noun, 0.0).node
    return Node("NP", children=[leaf("DET", zh="", en="the"), _nominal(noun, noun.en, None,
                                                                      "NOM")])


def _localiser(rng: random.Random, noun: Noun) -> Tuple[str, str]:
    """(Mandarin localiser, English preposition) for a ground noun."""
    if noun.cls == "city":
        return "", "in"
    if noun.has("surf") and noun.has("under") and rng.random() < 0.25:
        return "下面", "under"
    if noun.has("surf", "wall"):
        return "上", "on"
    if noun.has("cont", "li"):
        return "里", "in"
    if noun.has("water", "out") or noun.zh == "家":
        return "", "at" if noun.zh in ("家", "海边") else "in"
    return "", "at"


def place_pp(rng: random.Random, noun: Noun, label: str = "PP") -> Node:
    """"在 公园 里" / "in the park", "在 学校" / "at school", "在 桌子 上" / "on the table".

    Children: P 在 (no English), the ground NP, and the localiser leaf that
    carries the English preposition; English says the localiser first.
    """
    loc_zh, prep = _localiser(rng, noun)
    kids = [leaf("P", zh="在", en=""), _ground_np(rng, noun), leaf("LOC", zh=loc_zh, en=prep)]
    return Node(label, children=kids, order={"en": (0, 2, 1)})


@lru_cache(maxsize=None)
def _places_for(places: Tuple[str, ...]) -> Tuple[Noun, ...]:
    return tuple(n for n in NOUNS if n.cls in ("place", "furn", "obj") and n.has(*places)
                 and (n.cls == "place" or n.has("surf", "cont", "wall")))


def places_for(verb: Verb) -> List[Noun]:
    """Where the verb's action can happen (在 + place), in table order."""
    return list(_places_for(verb.places))


def goal_np(rng: random.Random, noun: Noun) -> Node:
    """Destination of 去 / 来: "图书馆" / "the library", "北京" / "beijing"."""
    return _ground_np(rng, noun)


def transport_pp(rng: random.Random, goal: Noun) -> Node:
    """"坐 地铁" / "by subway" (before the verb in Mandarin): planes, trains
    and boats to cities, buses, taxis and the subway within one. The noun
    alone is switchable (坐 bus 去); the phrase is not, "by bus 去 学校"
    being odd."""
    far = goal.cls == "city"
    noun = rng.choice([n for n in nouns_with(("transit",)) if n.has("longhaul") == far])
    kids = [leaf("P", zh="坐", en="by"), Node("NP", children=[leaf("N", zh=noun.zh,
                                                                    en=noun.en)])]
    return Node("PPx", children=kids)


# ==========================================================================
# Time words
# ==========================================================================
def clock_time(rng: random.Random, frame: str) -> Node:
    """"明天 下午 三点" / "at three o'clock tomorrow afternoon"."""
    day_zh, day_en = _CLOCK_DAYS[frame]
    part_zh, part_en, hours = rng.choice(_CLOCK_PARTS)
    h = rng.choice(hours)
    zh = f"{day_zh} {part_zh} {zh_number(h, before_measure=True)}点"
    en = f"at {english.number(h)} o'clock {day_en} {part_en}"
    return leaf("TIME", zh=zh, en=en)


def time_word(rng: random.Random, frame: str, far: bool = False, clock: bool = True) -> Node:
    """A time word for the frame; week/month/year words only if ``far``."""
    if clock and rng.random() < 0.1:
        return clock_time(rng, frame)
    if far and frame != "present" and rng.random() < 0.5:
        scale = "long"
    else:
        scale = "day"
    if rng.random() < 0.06 and frame != "present":
        # "三 天 前" / "three days ago", "两 年 后" / "in two years"
        n = rng.randint(2, 5)
        unit_zh, unit_en = ("年", "years") if scale == "long" else ("天", "days")
        if frame == "past":
            return leaf("TIME", zh=f"{zh_number(n, True)} {unit_zh} 前",
                        en=f"{english.number(n)} {unit_en} ago")
        return leaf("TIME", zh=f"{zh_number(n, True)} {unit_zh} 后",
                    en=f"in {english.number(n)} {unit_en}")
    zh, en = rng.choice(_TIME_WORDS[(frame, scale)])
    return leaf("TIME", zh=zh, en=en)


# ==========================================================================
# Verb phrases
# ==========================================================================
@dataclass
class Part:
    """One piece of a verb phrase with its rank in each language's order."""

    node: Node
    zh: float
    en: float


# Mandarin: 以前/经常/就, auxiliary or negation, 跟 ... 一起, 坐 ..., 在 + place,
# 把 + object, verb, aspect, recipient, object, post-verbal 在 + place, final 了.
ZH_ADV, ZH_AUX, ZH_COM, ZH_MEANS, ZH_PP, ZH_BA = 0, 1, 2, 2.5, 3, 4
ZH_V, ZH_ASP, ZH_REC, ZH_OBJ, ZH_POST, ZH_FINAL = 5, 6, 7, 8, 9, 10
# English: auxiliary, adverb, verb, recipient, object, PPs, "before".
EN_AUX, EN_ADV, EN_V, EN_REC, EN_OBJ, EN_POST, EN_PP, EN_COM, EN_MEANS, EN_END = range(10)


def make_vp(parts: Sequence[Part], label: str = "VP") -> Node:
    """A VP whose children are ordered by rank per language (stable sort)."""
    kids = [p.node for p in parts]
    zh = tuple(sorted(range(len(parts)), key=lambda i: parts[i].zh))
    en = tuple(sorted(range(len(parts)), key=lambda i: parts[i].en))
    return Node(label, children=kids, order={"zh": zh, "en": en})


@dataclass
class Predicate:
    """A verb with its complements and adjuncts, before tense and aspect.

    ``parts`` holds everything but the verb; ``quantified`` says whether the
    object right after the verb licenses verb-了 (吃 了 一 个 苹果) rather than
    sentence-final 了 (睡觉 了).
    """

    zh: str
    en: str
    parts: List[Part]
    verb: Optional[Verb] = None
    quantified: bool = False

    def flag(self, name: str) -> bool:
        return self.verb is not None and self.verb.flag(name)


def verb_group(pred: Predicate, frame: str, person: str, aspect: str, neg: bool,
               fut_zh: str = "会") -> List[Part]:
    """The verb with auxiliaries, aspect and negation in both languages.

    ``aspect``: "simple" (habitual present / past with 了 / future with 会
    or 要), "prog" (正在 V / is V-ing), "exp" (V 过 / have V-ed), "bare"
    (base form under a modal or after 然后 in the future).
    """
    v = pred.en
    if aspect == "bare":
        return [Part(leaf("V", zh=pred.zh, en=v), ZH_V, EN_V)]
    if aspect == "prog":
        be = english.be("present", person)
        return [Part(leaf("AUX", zh="正在", en=be), ZH_AUX, EN_AUX),
                Part(leaf("V", zh=pred.zh, en=english.ing_form(v)), ZH_V, EN_V)]
    if aspect == "exp":
        have = english.have("present", person)
        aux = leaf("NEG", zh="没", en=have + " never") if neg else leaf("AUX", zh="", en=have)
        parts = [Part(aux, ZH_AUX, EN_AUX),
                 Part(leaf("V", zh=pred.zh, en=en_experiential(v)), ZH_V, EN_V),
                 Part(leaf("ASP", zh="过", en=""), ZH_ASP, EN_V)]
        if pred.flag("vo"):  # verb-object compound: 游 过 泳, 跳 过 舞
            parts[1].node.words["zh"] = (pred.zh[0],)
            parts.append(Part(leaf("VO", zh=pred.zh[1:], en=""), ZH_ASP + 0.5, EN_V))
        return parts
    if frame == "future":
        aux = leaf("AUX", zh="不 会" if neg else fut_zh, en="will not" if neg else "will")
        return [Part(aux, ZH_AUX, EN_AUX), Part(leaf("V", zh=pred.zh, en=v), ZH_V, EN_V)]
    if frame == "past":
        if neg:
            return [Part(leaf("NEG", zh="没", en="did not"), ZH_AUX, EN_AUX),
                    Part(leaf("V", zh=pred.zh, en=v), ZH_V, EN_V)]
        # verb-了 before a quantified object, sentence-final 了 otherwise
        rank = ZH_ASP if pred.quantified else ZH_FINAL
        return [Part(leaf("V", zh=pred.zh, en=english.past(v)), ZH_V, EN_V),
                Part(leaf("ASP", zh="了", en=""), rank, EN_V)]
    if neg:
        neg_zh = "没" if pred.zh == "有" else "不"  # 有 is negated with 没
        do_not = english.do("present", person) + " not"
        return [Part(leaf("NEG", zh=neg_zh, en=do_not), ZH_AUX, EN_AUX),
                Part(leaf("V", zh=pred.zh, en=v), ZH_V, EN_V)]
    return [Part(leaf("V", zh=pred.zh, en=english.present(v, person)), ZH_V, EN_V)]


# ==========================================================================
# Clauses
# ==========================================================================
@dataclass
class Clause:
    """A subject (None for existentials), a verb phrase, the frame, and
    maybe a time word. ``time_ok``: which time words suit the predicate:
    "day", "far" (also weeks/years), "now" (progressive), "weather"
    (今天 / 现在 in the present), "" (none)."""

    subj: Optional[Phrase]
    vp: Node
    frame: str
    time: Optional[Node] = None
    time_ok: str = "day"
    needs_time: bool = False
    #: predicate type: "act", "state", "prop", "loc", "exist", "modal", or a
    #: weather cause ("rain", "hot", "cold") that two-clause sentences build on
    kind: str = ""
    extra: Dict[str, object] = field(default_factory=dict)


def _aspect(rng: random.Random, pred: "Predicate | Verb", frame: str) -> str:
    """Aspect of an action in the present: habitual, progressive or
    experiential; one-off events (丢 钥匙) are never habitual."""
    if frame != "present":
        return "simple"
    r = rng.random()
    if r < 0.22 and not pred.flag("np"):
        return "prog"
    if (r < 0.4 or pred.flag("nh")) and pred.flag("x"):
        return "exp"
    return "simple"


def _frame_for(verb: Verb, frame: str) -> str:
    """One-off events without a natural perfect move to the past."""
    if verb.flag("po") or (frame == "present" and verb.flag("nh") and not verb.flag("x")):
        return "past"
    return frame


def _future_aux(rng: random.Random) -> str:
    """会 (prediction) or 要 (intention): both render English "will"."""
    return "要" if rng.random() < 0.35 else "会"


def _finish_action(rng: random.Random, subj: Phrase, pred: Predicate, frame: str,
                   neg: Optional[bool] = None, aspect: Optional[str] = None,
                   kind: str = "act") -> Clause:
    """Tense, aspect, negation and adverbs for an action predicate -> Clause.

    The progressive before a 在-phrase is 正 (他 正 在 图书馆 看 书), since
    "正在 在" doubles the 在. Time words: habitual present only without
    negation or a frequency adverb; none with the experiential (以前 instead).
    """
    aspect = aspect or _aspect(rng, pred, frame)
    if neg is None:
        neg = aspect in ("simple", "exp") and _neg(rng)
    elif neg and aspect == "prog":
        aspect = "simple"
    parts = verb_group(pred, frame, subj.person, aspect, neg, _future_aux(rng)) + pred.parts
    time_ok = "far" if pred.flag("far") else "day"
    if aspect == "prog":
        time_ok = "now"
        if any(p.node.label == "PP" and p.node.children[0].words["zh"] == ("在",)
               for p in pred.parts):
            parts[0].node.words["zh"] = ("正",)
    elif aspect == "exp":
        time_ok = ""
        if rng.random() < 0.35:  # 以前 / before
            parts.append(Part(leaf("ADV", zh="以前", en="before"), ZH_ADV, EN_END))
    elif frame == "present":
        if neg:
            time_ok = ""
        elif rng.random() < 0.25:
            zh, en = rng.choice(_FREQUENCY_ADVERBS)
            parts.append(Part(leaf("ADV", zh=zh, en=en), ZH_ADV, EN_ADV))
            time_ok = ""
    return Clause(subj, make_vp(parts), frame, time_ok=time_ok, kind=kind,
                  extra={"verb": pred.zh})


def _other_pronoun(rng: random.Random, subj: Optional[Phrase], role: str = "obj",
                   persons: Sequence[str] = ("1sg", "2sg", "3sg", "1pl", "3pl")) -> Phrase:
    """A pronoun that is not the subject's own person ("我 帮助 他", never
    "我 帮助 我" or "我们 送 我"): first and second person exclude themselves
    in both numbers."""
    if subj is not None and subj.noun is None:
        own = subj.person[0] if subj.person[0] in "12" else subj.person
        persons = [p for p in persons if not p.startswith(own)]
    return pronoun(rng, role, persons)


def _companion(rng: random.Random, subj: Optional[Phrase]) -> Phrase:
    if rng.random() < 0.35:
        return _other_pronoun(rng, subj, "obj", ("2sg", "3sg", "3pl", "1sg"))
    return person_phrase(rng, role="obj", counted=False)  # not 跟 十 个 画家 一起


def comitative_pp(rng: random.Random, subj: Optional[Phrase] = None) -> Node:
    """"跟 我 的 朋友 一起" / "with my friend" (before the verb in Mandarin)."""
    kids = [leaf("P", zh="跟", en="with"), _companion(rng, subj).node,
            leaf("ADV", zh="一起", en="")]
    return Node("PP", children=kids)


def _adjuncts(rng: random.Random, verb: Verb, subj: Optional[Phrase],
              prob: float = 0.3) -> List[Part]:
    """Optional 在 + place (where the action happens) or 跟 ... 一起."""
    parts: List[Part] = []
    places = places_for(verb)
    if places and rng.random() < prob:
        parts.append(Part(place_pp(rng, rng.choice(places)), ZH_PP, EN_PP))
    if "hum" in verb.subj and not verb.flag("solo") and rng.random() < prob * 0.3:
        parts.append(Part(comitative_pp(rng, subj), ZH_COM, EN_COM))
    return parts


def _pick(rng: random.Random, frame: str, subj: Optional[Phrase]) -> Verb:
    verbs = verbs_with_frame(frame)
    if subj is not None:
        verbs = [v for v in verbs if _subject_ok(v, subj.noun)]
    return rng.choice(verbs)


# Object determiners by aspect: something being done now is one thing
# (正在 吃 一 个 苹果 / is eating an apple); an experience is of a kind or a
# known thing (看 过 这 部 电影 / have watched this movie).
_ASPECT_DETS = {"prog": (("one", 3.0), ("this", 1.0), ("generic", 1.0)),
                "exp": (("generic", 3.0), ("this", 2.0))}


def _object(rng: random.Random, verb: Verb, frame: str, subj: Optional[Phrase],
            neg: bool = False, aspect: str = "simple") -> Phrase:
    """The object of a transitive verb, chosen by the verb's selection."""
    noun = rng.choice([n for n in nouns_with(verb.obj) if n.zh not in ("人", "家")])
    if noun.cls == "kin":  # 照顾 我 的 妹妹 / take care of my sister
        return possessed_phrase(rng, noun, 0.0)
    if noun.cls == "hum":
        if rng.random() < 0.3:
            return _other_pronoun(rng, subj)
        return person_phrase(rng, role="obj", kin=False)
    if noun.cls == "place":  # 参观 博物馆 / visit the museum, 打扫 房间 / clean the room
        return Phrase(_ground_np(rng, noun), "3sg", noun, "it")
    if verb.flag("g") or (subj is not None and not _is_human(subj)):  # 弹 钢琴; 狗 吃 肉
        return noun_phrase(rng, noun, "generic", 0.0)
    dets = _ASPECT_DETS.get(aspect) if noun.countable and not neg else None
    if verb.flag("one") and frame == "present" and not neg and noun.countable:
        dets = (("one", 3.0), ("this", 1.0), ("poss", 1.0))
    if aspect == "exp" and noun.unit:  # 吃 过 蛋糕 / have eaten cake, not "this piece of"
        dets = (("generic", 1.0),)
    return object_phrase(rng, noun, frame, dets=dets, neg=neg)


def _transitive_pred(rng: random.Random, verb: Verb, frame: str,
                     subj: Optional[Phrase] = None, adjunct_prob: float = 0.25,
                     neg: bool = False, aspect: str = "simple") -> Predicate:
    obj = _object(rng, verb, frame, subj, neg, aspect)
    first = obj.node.children[0] if obj.node.children else obj.node
    # verb-了 needs a quantified or specific object: 吃 了 一 个 苹果, 见 了 他
    quantified = first.label in ("NUM", "DET", "POSS", "NP") or obj.node.label == "NPx"
    parts = [Part(obj.node, ZH_OBJ, EN_OBJ)] + _adjuncts(rng, verb, subj, adjunct_prob)
    return Predicate(verb.zh, verb.en, parts, verb, quantified)


def _intransitive_pred(rng: random.Random, verb: Verb, subj: Optional[Phrase],
                       prob: float = 0.55) -> Predicate:
    return Predicate(verb.zh, verb.en, _adjuncts(rng, verb, subj, prob), verb)


def _motion_pred(rng: random.Random, verb: Verb, subj: Optional[Phrase],
                 goals: Optional[Sequence[Noun]] = None) -> Predicate:
    goal = rng.choice(goals or [n for n in nouns_with(verb.obj)
                                if not n.has("home", "fish")])
    parts = [Part(goal_np(rng, goal), ZH_OBJ, EN_OBJ)]
    r = rng.random()
    if r < 0.2:
        parts.append(Part(transport_pp(rng, goal), ZH_MEANS, EN_MEANS))
    elif r < 0.32:
        parts.append(Part(comitative_pp(rng, subj), ZH_COM, EN_COM))
    return Predicate(verb.zh, verb.en, parts, verb, quantified=True)


def _action_pred(rng: random.Random, frame: str, subj: Phrase) -> Predicate:
    """A transitive, intransitive or motion predicate for a given subject."""
    kind = _weighted(rng, (("tr", 5), ("intr", 3), ("goal", 3)))
    verb = _pick(rng, kind, subj)
    while verb.flag("po"):  # planned or sequenced actions, not accidents and tears
        verb = _pick(rng, kind, subj)
    if kind == "tr":
        return _transitive_pred(rng, verb, frame, subj)
    if kind == "goal":
        return _motion_pred(rng, verb, subj)
    return _intransitive_pred(rng, verb, subj)


def transitive(rng: random.Random, frame: str, subj: Optional[Phrase] = None) -> Clause:
    """"我 昨天 在 超市 买 了 三 个 苹果" / "I bought three apples at the supermarket yesterday"."""
    verb = _pick(rng, "tr", subj)
    subj = subj or subject(rng, verb)
    frame = _frame_for(verb, frame)
    if frame == "future" and not _is_human(subj):  # animals make no plans (狗 要 追 猫)
        frame = "present"
    # aspect and negation first: they decide the object's determiner
    aspect = _aspect(rng, verb, frame)
    neg = aspect != "prog" and _neg(rng)
    pred = _transitive_pred(rng, verb, frame, subj, neg=neg, aspect=aspect)
    return _finish_action(rng, subj, pred, frame, neg, aspect)


def intransitive(rng: random.Random, frame: str, subj: Optional[Phrase] = None) -> Clause:
    """"他 在 公园 里 跑步" / "he runs in the park"."""
    verb = _pick(rng, "intr", subj)
    subj = subj or subject(rng, verb)
    frame = _frame_for(verb, frame)
    if frame == "future" and not _is_human(subj):
        frame = "present"
    return _finish_action(rng, subj, _intransitive_pred(rng, verb, subj), frame)


def motion(rng: random.Random, frame: str, subj: Optional[Phrase] = None) -> Clause:
    """"我 明天 要 坐 地铁 去 图书馆" / "I will go to the library by subway tomorrow"."""
    verb = _pick(rng, "goal", subj)
    subj = subj or subject(rng, verb)
    frame = _frame_for(verb, frame)
    return _finish_action(rng, subj, _motion_pred(rng, verb, subj), frame)


def ditransitive(rng: random.Random, frame: str, subj: Optional[Phrase] = None) -> Clause:
    """"我 昨天 给 了 妈妈 一 杯 茶" / "I gave my mother a cup of tea yesterday".
    A single giving event: past or future."""
    if frame == "present":
        frame = rng.choice(("past", "future"))
    verb = _pick(rng, "give", subj)
    subj = subj or subject(rng, verb)
    if rng.random() < 0.5:
        rec = _other_pronoun(rng, subj)
    else:
        rec = person_phrase(rng, role="obj", counted=False)
    theme = object_phrase(rng, rng.choice(nouns_with(verb.obj)), "past", 0.2,
                          dets=(("num", 6), ("this", 1), ("that", 1)))
    parts = [Part(rec.node, ZH_REC, EN_REC), Part(theme.node, ZH_OBJ, EN_OBJ)]
    pred = Predicate(verb.zh, verb.en, parts, verb, quantified=True)
    return _finish_action(rng, subj, pred, frame)


def ba_put(rng: random.Random, frame: str, subj: Optional[Phrase] = None) -> Clause:
    """"他 把 钥匙 放 在 桌子 上 了" / "he put the key on the table": one
    event, past or future."""
    if frame == "present":
        frame = rng.choice(("past", "future"))
    verb = _pick(rng, "put", subj)
    subj = subj or subject(rng, verb)
    noun = rng.choice(nouns_with(verb.obj))
    det = _weighted(rng, (("def", 5), ("this", 1), ("that", 1), ("poss", 2)))
    obj = possessed_phrase(rng, noun) if det == "poss" else noun_phrase(rng, noun, det, 0.15)
    ground = rng.choice([n for n in NOUNS if n.has(*verb.places) and n is not noun])
    parts = [Part(leaf("BA", zh="把", en=""), ZH_BA, EN_OBJ),
             Part(obj.node, ZH_BA, EN_OBJ),
             Part(place_pp(rng, ground), ZH_POST, EN_POST)]
    pred = Predicate(verb.zh, verb.en, parts, verb, quantified=False)
    return _finish_action(rng, subj, pred, frame, aspect="simple")


def stative(rng: random.Random, frame: str, subj: Optional[Phrase] = None,
            verb: Optional[Verb] = None, neg: Optional[bool] = None,
            classes: Sequence[str] = (), avoid: Optional[Noun] = None) -> Clause:
    """"我 喜欢 猫" / "I like cats", "她 有 两 只 狗" / "she has two dogs": present only."""
    verb = verb or _pick(rng, "stat", subj)
    subj = subj or subject(rng, verb)
    neg = _neg(rng, 0.15) if neg is None else neg
    pool = [n for n in nouns_with(verb.obj) if n.zh not in ("人", "家") and n is not avoid
            and (verb.zh == "喜欢" or not n.has("the"))]  # 有 一 把 吉他, not "the guitar"
    if classes:
        pool = [n for n in pool if n.cls in classes] or pool
    noun = rng.choice(pool)
    if noun.cls == "kin":  # 我 爱 我 的 妈妈 / I love my mother
        obj = possessed_phrase(rng, noun, 0.0, _own_possessor(subj))
    elif noun.cls == "hum":  # 认识 那 个 老师 / know that teacher
        obj = person_phrase(rng, role="obj", kin=False)
    elif neg and noun.cl:  # 我 不 喜欢 狗 / I do not like dogs
        obj = noun_phrase(rng, noun, "generic", 0.1)
    elif verb.zh in ("有", "想要", "需要", "养") and noun.countable:
        obj = object_phrase(rng, noun, "past", dets=(("num", 6), ("many", 1)))
    elif noun.cl and noun.countable and noun.cls not in ("food", "drink"):
        obj = object_phrase(rng, noun, "present", dets=(("generic", 6), ("this", 1),
                                                        ("poss", 1)))
    else:
        obj = noun_phrase(rng, noun, "generic", 0.1)
    pred = Predicate(verb.zh, verb.en, [Part(obj.node, ZH_OBJ, EN_OBJ)], verb)
    parts = verb_group(pred, "present", subj.person, "simple", neg) + pred.parts
    if not neg and verb.zh == "喜欢" and rng.random() < 0.2:
        parts.insert(0, Part(leaf("ADV", zh="很", en="really"), ZH_AUX, EN_ADV))
    c = Clause(subj, make_vp(parts), "present", time_ok="", kind="state")
    c.extra["noun"] = noun
    return c


def _copula_parts(frame: str, person: str, neg: bool, neg_zh: str = "不") -> List[Part]:
    """English copula (with "will be" for the future); Mandarin has none
    before adjectives (他 很 高兴 / he is happy). ``neg_zh``: 没 for
    adjectives built on 有 (没 有用 / not useful)."""
    if frame == "future":
        aux = leaf("AUX", zh="不 会" if neg else "会", en="will not" if neg else "will")
        return [Part(aux, ZH_AUX, EN_AUX), Part(leaf("COP", zh="", en="be"), ZH_AUX, EN_AUX)]
    parts = [Part(leaf("COP", zh="", en=english.be(frame, person)), ZH_AUX, EN_AUX)]
    if neg:
        parts.append(Part(leaf("NEG", zh=neg_zh, en="not"), ZH_AUX, EN_AUX))
    return parts


#: Adjectives that read naturally with 太 ... 了 / "too" (太 好看 了 is an
#: exclamation, "so good!", not "too good").
_TOO_OK = ("贵", "远", "累", "忙", "饿", "辣", "咸", "甜", "酸", "苦", "重", "脏", "懒",
           "冷", "热", "小", "大", "长", "短", "矮", "高", "胖", "危险", "紧张")


def _adjective_parts(rng: random.Random, adj_zh: str, adj_en: str, frame: str, neg: bool,
                     allow_too: bool = True) -> List[Part]:
    """(degree word) adjective: 很 忙 / busy, 非常 累 / very tired,
    太 贵 了 / too expensive (present only)."""
    parts: List[Part] = []
    if not neg:
        if allow_too and frame == "present" and adj_zh in _TOO_OK and rng.random() < 0.25:
            parts.append(Part(leaf("ADV", zh="太", en="too"), ZH_AUX, EN_AUX))
            parts.append(Part(leaf("ADJ", zh=adj_zh, en=adj_en), ZH_V, EN_V))
            parts.append(Part(leaf("PRT", zh="了", en=""), ZH_FINAL, EN_V))
            return parts
        # 有点 reads as a complaint; not for causes and conditions
        zh, en = _weighted(rng, _DEGREE if allow_too else _DEGREE[:3])
        parts.append(Part(leaf("ADV", zh=zh, en=en), ZH_AUX, EN_AUX))
    parts.append(Part(leaf("ADJ", zh=adj_zh, en=adj_en), ZH_V, EN_V))
    return parts


def copular(rng: random.Random, frame: str, subj: Optional[Phrase] = None) -> Clause:
    """"他 昨天 很 累" / "he was tired yesterday", "这 本 书 很 有意思" /
    "this book is interesting". Temporary states take any tense and time
    words; lasting properties are present tense without time words."""
    if subj is None and rng.random() < 0.55:
        subj = subject(rng, classes=("hum",), pronoun_prob=0.65)
    if subj is None:
        classes = ("ani", "obj", "food", "drink", "veh", "place", "wear", "furn", "media",
                   "city")
        noun = rng.choice([n for n in NOUNS if n.cls in classes and adjectives_for(
            n, ("prop", "pred"))])
        if noun.cls in ("place", "city"):
            subj = noun_phrase(rng, noun, "generic" if noun.cls == "city" else
                               _weighted(rng, (("def", 3), ("this", 2))), 0.0)
        elif noun.cls == "drink" or noun.has("mass"):
            subj = noun_phrase(rng, noun, _weighted(rng, (("this", 3), ("def", 2))), 0.0)
        else:
            det = _weighted(rng, (("def", 4), ("this", 3), ("that", 2), ("poss", 3)))
            if noun.has("wild"):
                det = "def" if det == "poss" else det
            subj = possessed_phrase(rng, noun, 0.0) if det == "poss" else \
                noun_phrase(rng, noun, det, 0.0, 2 if rng.random() < 0.15 else 1)
    if frame == "future" and not _is_human(subj):  # "鱼 明天 会 很 害怕" predicts too much
        frame = "present"
    kinds = ("state", "prop", "pred") if frame == "present" else ("state",)
    adjs = adjectives_for(subj.noun, kinds)
    if not adjs:  # an object subject outside the present: only properties exist
        frame, adjs = "present", adjectives_for(subj.noun, ("prop", "pred"))
    adj = rng.choice(adjs)
    if adj.kind != "state":
        frame = "present"
    neg = frame != "future" and _neg(rng, 0.15)
    neg_zh = "没" if adj.zh.startswith("有") else "不"  # 没 有用, 不 贵
    parts = _copula_parts(frame, subj.person, neg, neg_zh) + _adjective_parts(
        rng, adj.zh, adj.en, frame, neg)
    state = adj.kind == "state"
    return Clause(subj, make_vp(parts), frame, time_ok="day" if state else "",
                  kind="state" if state else "prop", extra={"adj": adj.zh})


def nominal(rng: random.Random, frame: str, subj: Optional[Phrase] = None) -> Clause:
    """"我 的 妈妈 是 医生" / "my mother is a doctor", "这 是 我 的 书" / "this is my book"."""
    if subj is None and rng.random() < 0.3:
        # demonstrative subject with a possessed or counted object
        dem = rng.choice((("这", "this"), ("那", "that")))
        subj = Phrase(leaf("NPx", zh=dem[0], en=dem[1]), "3sg")
        noun = rng.choice([n for n in NOUNS if n.cls in ("obj", "ani", "wear", "veh")
                           and n.cl and not n.has("plonly", "mass", "wild")])
        obj = possessed_phrase(rng, noun, 0.2) if rng.random() < 0.5 else \
            noun_phrase(rng, noun, "num", 0.3, 1)
    else:
        if subj is None:  # 我 的 妈妈 是 医生; not "九 个 司机 是 服务员"
            subj = pronoun(rng) if rng.random() < 0.6 else possessed_phrase(
                rng, rng.choice(nouns_with(("kin", "rel"))), 0.0)
        noun = rng.choice(nouns_with(("job",)))
        plural = subj.person in ("1pl", "2pl", "3pl")
        en_noun = noun.en_pl if plural else noun.en
        inner = _nominal(noun, en_noun, None)
        if plural:
            obj = Phrase(inner, "3pl", noun)
        else:
            article = english.indefinite_article(en_noun)
            obj = Phrase(Node("NP", children=[leaf("DET", zh="", en=article),
                                              Node("NOM", children=inner.children)]),
                         "3sg", noun)
    neg = _neg(rng, 0.15)
    be = english.be("present", subj.person)
    cop = leaf("COP", zh="不 是" if neg else "是", en=be + " not" if neg else be)
    parts = [Part(cop, ZH_V, EN_V), Part(obj.node, ZH_OBJ, EN_OBJ)]
    return Clause(subj, make_vp(parts), "present", time_ok="", kind="prop")


def location(rng: random.Random, frame: str, subj: Optional[Phrase] = None) -> Clause:
    """"猫 在 桌子 上" / "the cat is on the table"; "我 昨天 在 家" / "I was at home
    yesterday". The Mandarin verb 在 carries the English copula, so the
    locative under it is PPx ("在 on the table" would double the preposition);
    its ground NP stays switchable ("在 the table 上")."""
    if subj is None and rng.random() < 0.4:
        noun = rng.choice([n for n in NOUNS if n.cls in ("ani", "obj", "food") and
                           n.has("hold", "pet", "fruit")])
        det = _weighted(rng, (("def", 4), ("poss", 2), ("this", 1)))
        subj = possessed_phrase(rng, noun, 0.0) if det == "poss" else \
            noun_phrase(rng, noun, det, 0.0)
        surfaces = [n for n in NOUNS if n.cls == "furn" and n.has("surf")]
        grounds = surfaces + nouns_with(("cfood",) if noun.cls == "food" else ("cobj",))
        if noun.cls == "ani":
            grounds = [n for n in NOUNS if n.cls == "furn" and n.has("surf", "under")] + \
                      [n for n in NOUNS if n.has("home", "out") and n.cls == "place"]
        frame = "present"
    else:
        subj = subj or subject(rng, classes=("hum",), pronoun_prob=0.7)
        grounds = [n for n in NOUNS if n.cls in ("place", "city")]
    ground = rng.choice(grounds)
    loc_zh, prep = _localiser(rng, ground)
    where = Node("PPx", children=[_ground_np(rng, ground), leaf("LOC", zh=loc_zh, en=prep)],
                 order={"en": (1, 0)})
    if frame == "future":
        parts = [Part(leaf("AUX", zh="会", en="will"), ZH_AUX, EN_AUX),
                 Part(leaf("COP", zh="在", en="be"), ZH_V, EN_V)]
    else:
        neg = _neg(rng, 0.12)
        be = english.be(frame, subj.person)
        parts = [Part(leaf("COP", zh="不 在" if neg else "在", en=be + " not" if neg else be),
                      ZH_V, EN_V)]
    parts.append(Part(where, ZH_OBJ, EN_OBJ))
    time_ok = "day" if subj.noun is None or subj.noun.cls in ("hum", "kin") else ""
    return Clause(subj, make_vp(parts), frame, time_ok=time_ok, kind="loc")


def existential(rng: random.Random, frame: str, subj: Optional[Phrase] = None) -> Clause:
    """"桌子 上 有 一 本 书" / "there is a book on the table",
    "昨天 公园 里 有 很多 人" / "there were many people in the park yesterday".

    No subject: the locative comes first in Mandarin and last in English,
    all inside a VPx (switching it whole would leave only the time word).
    """
    if rng.random() < 0.5:
        ground = rng.choice([n for n in NOUNS if n.has("cobj", "cfood") or
                             n.cls == "furn" and n.has("surf")])
        if ground.has("cfood") and (not ground.has("cobj") or rng.random() < 0.5):
            pool = [n for n in NOUNS if n.cls == "food" and n.countable]
        else:
            pool = [n for n in NOUNS if n.has("hold") and n.countable and n is not ground]
        frame = "present"
    else:
        # public places hold crowds (很多 人 / many people); homes hold pets
        ground = rng.choice([n for n in NOUNS if n.cls in ("place", "city") and
                             n.zh != "家" and not n.has("fish")])
        pool = [] if ground.has("home") else nouns_with(("crowd",))
        if ground.has("out", "visit", "home"):
            pool = pool + [n for n in NOUNS if n.cls == "ani" and
                           n.has("wild" if ground.zh == "动物园" else "pet")]
        if ground.cls == "city":  # 北京 有 很多 公园 / there are many parks in beijing
            pool = [n for n in NOUNS if n.cls == "place" and n.countable and
                    n.has("fun", "visit", "shop", "eat") and not n.has("home", "room")]
            frame = "present"
    noun = rng.choice(pool)
    det = _weighted(rng, (("num", 5), ("many", 2), ("some", 1)))
    if ground.cls == "city":  # 北京 有 很多 公园, not "there is a park in china"
        det = "many"
    n = 1 if det != "num" or rng.random() < 0.5 else _count(rng, noun.cls == "hum")
    thing = noun_phrase(rng, noun, det, 0.2, n)
    loc_zh, prep = _localiser(rng, ground)
    if ground.cls == "place" and not loc_zh and ground.zh != "海边":
        loc_zh = "里"  # a bare place noun is no subject of 有: 银行 里 有 ...
    where = Node("PPx", children=[_ground_np(rng, ground), leaf("LOC", zh=loc_zh, en=prep)],
                 order={"en": (1, 0)})
    if frame == "future":  # 会 有 / there will be
        exist = leaf("COP", zh="会 有", en="there will be")
    else:
        exist = leaf("COP", zh="有", en="there " + english.be(frame, thing.person))
    parts = [Part(where, ZH_ADV, EN_END), Part(exist, ZH_V, EN_V),
             Part(thing.node, ZH_OBJ, EN_OBJ)]
    time_ok = "day" if frame != "present" else ""
    return Clause(None, make_vp(parts, "VPx"), frame, time_ok=time_ok,
                  needs_time=frame != "present", kind="exist")


def weather(rng: random.Random, frame: str, subj: Optional[Phrase] = None) -> Clause:
    """"明天 会 下雨" / "it will rain tomorrow", "昨天 很 冷" / "it was cold
    yesterday". Mandarin has no subject, English "it"; the VP is VPx since
    a switched VP would leave the Mandarin clause with only a time word."""
    it = Phrase(leaf("NPx", zh="", en="it"), "3sg", None, "it")
    if rng.random() < 0.5:
        zh, en = rng.choice(_WEATHER_VERBS)
        if en == "be windy":  # "刮风 了" / "it was windy": a copular English verb
            parts = _copula_parts(frame, "3sg", False) + [
                Part(leaf("V", zh=zh, en="windy"), ZH_V, EN_V)]
            if frame == "past":
                parts.append(Part(leaf("ASP", zh="了", en=""), ZH_FINAL, EN_V))
        else:
            pred = Predicate(zh, en, [])
            aspect = "prog" if frame == "present" else "simple"
            neg = frame != "present" and _neg(rng, 0.1)
            parts = verb_group(pred, frame, "3sg", aspect, neg, "会")
        clause_kind = "rain"
    else:
        zh, en = rng.choice(_WEATHER_ADJECTIVES)
        parts = _copula_parts(frame, "3sg", False) + _adjective_parts(rng, zh, en, frame,
                                                                      False, False)
        clause_kind = "hot" if en in ("hot", "warm") else "cold"
    return Clause(it, make_vp(parts, "VPx"), frame, time_ok="weather", needs_time=True,
                  kind=clause_kind)


def modal(rng: random.Random, frame: str, subj: Optional[Phrase] = None) -> Clause:
    """"我 想 买 一 部 新 手机" / "I want to buy a new phone": modal + inner VP.

    The inner VP is switchable (我 想 buy a new phone), English "to" stays
    with the modal. Present tense, no time word (a future time word would
    call for "will")."""
    subj = subj or subject(rng, classes=("hum",))
    zh, en, en3, nzh, nen, nen3 = rng.choice(_MODALS)
    neg = _neg(rng, 0.15)
    third = subj.person == "3sg"
    mod = leaf("MOD", zh=nzh if neg else zh, en=(nen3 if third else nen) if neg else
               (en3 if third else en))
    pred = _action_pred(rng, "present", subj)  # 想 买 一 部 手机, 应该 吃 水果
    inner = make_vp(verb_group(pred, "present", subj.person, "bare", False) + pred.parts)
    vp = Node("VP", children=[mod, inner])
    return Clause(subj, vp, "present", time_ok="", kind="modal")


_PREDICATES = (
    (transitive, 34), (intransitive, 12), (motion, 12), (stative, 8), (copular, 12),
    (nominal, 4), (location, 5), (existential, 4), (ditransitive, 4), (ba_put, 4),
    (weather, 3), (modal, 8),
)


def _time_for(rng: random.Random, c: Clause, prob: float) -> Optional[Node]:
    """A time word that agrees with the clause's frame and predicate."""
    if not c.time_ok or not (c.needs_time or rng.random() < prob):
        return None
    if c.time_ok == "now":
        return leaf("TIME", zh="现在", en="now") if rng.random() < 0.5 else None
    if c.time_ok == "weather":
        if c.frame == "present":  # 今天 很 热 / it is hot today; 现在 正在 下雨
            if c.kind in ("hot", "cold") and rng.random() < 0.6:
                return leaf("TIME", zh="今天", en="today")
            return leaf("TIME", zh="现在", en="now")
        return time_word(rng, c.frame, far=False, clock=False)
    if c.frame == "present" and c.kind not in ("act",):
        return None  # states and locations: no habitual time words
    return time_word(rng, c.frame, far=c.time_ok == "far",
                     clock=c.kind == "act")


def clause(rng: random.Random, frame: str, time_prob: float = 0.5,
           builders: Sequence[Tuple[object, float]] = _PREDICATES,
           subj: Optional[Phrase] = None) -> Clause:
    """One clause: a predicate builder plus an agreeing time word. Past and
    future clauses always get a time word to anchor the tense (unless
    ``time_prob`` is 0, e.g. the second clause of a pair)."""
    builder = _weighted(rng, builders)
    c = builder(rng, frame, subj)
    prob = time_prob if c.frame == "present" or time_prob == 0 else 1.0
    c.time = _time_for(rng, c, prob)
    return c


def clause_node(rng: random.Random, c: Clause, label: str = "S",
                lead: Sequence[Node] = (), time_first: Optional[bool] = None) -> Node:
    """(lead) (TIME) SUBJ (TIME) VP in Mandarin; (lead) SUBJ VP (TIME) in English.

    ``lead``: conjunctions or adverbs that open the clause (因为, 如果 ...).
    """
    kids: List[Node] = list(lead)
    subj_i = len(kids)
    if c.subj is not None:
        kids.append(c.subj.node)
    vp_i = len(kids)
    kids.append(c.vp)
    zh = list(range(len(kids)))
    en = list(range(len(kids)))
    if c.time is not None:
        t = len(kids)
        kids.append(c.time)
        en.append(t)
        subjectless = c.subj is None or not render(c.subj.node, "zh")
        first = subjectless or (rng.random() < 0.3 if time_first is None else time_first)
        zh.insert(subj_i if first else vp_i, t)
    return Node(label, children=kids, order={"zh": tuple(zh), "en": tuple(en)})


# ==========================================================================
# Two-clause sentences
# ==========================================================================
def _same_subject(first: Clause) -> Optional[Phrase]:
    """The subject of a second clause that continues the first one: Mandarin
    drops it (因为 我 很 累 所以 没 去 学校), English repeats it as a pronoun
    (he / she / they; None when English has no fitting pronoun)."""
    subj = first.subj
    if not _is_human(subj) or not subj.pronoun_en or not render(subj.node, "zh"):
        return None
    return Phrase(leaf("NPx", zh="", en=subj.pronoun_en), subj.person, subj.noun,
                  subj.pronoun_en)


def _repeated_pronoun(first: Clause) -> Optional[Phrase]:
    """The first clause's pronoun subject said again (我 ... 所以 我 ...)."""
    subj = first.subj
    if subj is None or subj.noun is not None or subj.node.words is None:
        return None
    words = {lang: " ".join(w) for lang, w in subj.node.words.items()}
    return Phrase(leaf("NPx", **words), subj.person, None, subj.pronoun_en)


def _continuing_subject(rng: random.Random, first: Clause) -> Optional[Phrase]:
    """Dropped (60%) or repeated pronoun subject for a same-subject clause."""
    again = _repeated_pronoun(first)
    if again is not None and rng.random() < 0.4:
        return again
    return _same_subject(first)


# Effects of a cause: cause key -> ((predicate kind, verbs, negated), ...)
# (饿 -> 吃, 累 -> 睡觉 / 没 去 ..., 下雨 -> 没 去 公园, 热 -> 游泳)
_EFFECTS = {
    "累": (("intr", ("睡觉", "休息"), False), ("goal", ("去",), True)),
    "忙": (("goal", ("去",), True), ("intr", ("吃饭", "休息", "散步"), True)),
    "饿": (("tr", ("吃",), False),),
    "渴": (("tr", ("喝",), False),),
    "高兴": (("intr", ("唱歌", "跳舞", "笑"), False),),
    "难过": (("intr", ("哭",), False),),
    "无聊": (("tr", ("看",), False), ("intr", ("逛街", "玩"), False)),
    "rain": (("goal", ("去",), True), ("intr", ("散步", "跑步"), True)),
    "cold": (("goal", ("去",), True), ("intr", ("游泳",), True)),
    "hot": (("intr", ("游泳",), False), ("tr", ("喝",), False)),
}
_PERSON_CAUSES = tuple(k for k in _EFFECTS if k not in ("rain", "cold", "hot"))


def _effect(rng: random.Random, cause_key: str, frame: str, subj: Phrase) -> Clause:
    """A clause that plausibly follows from the cause, without a time word
    (the cause clause has it)."""
    kind, verbs_zh, negated = rng.choice(_EFFECTS[cause_key])
    verb = rng.choice([v for v in verbs_with_frame(kind) if v.zh in verbs_zh])
    if kind == "tr":
        pred = _transitive_pred(rng, verb, frame, subj, 0.0, negated)
    elif kind == "goal":
        goals = [n for n in NOUNS if n.cls == "place" and n.has("out", "fun", "shop", "study",
                                                                   "work")]
        pred = _motion_pred(rng, verb, subj, goals)
    else:
        pred = _intransitive_pred(rng, verb, subj, 0.3)
    return _finish_action(rng, subj, pred, frame, neg=negated, aspect="simple")


def _no_subjectless_vp(c: Clause) -> None:
    """With the Mandarin subject dropped (所以 没 去 学校), a switched VP
    would leave no subject in either language ("所以 did not go to school"),
    so only smaller constituents (the object, a PP) may switch."""
    if c.subj is not None and not render(c.subj.node, "zh"):
        c.vp.label = "VPx"


def _state_clause(rng: random.Random, subj: Phrase, key: str, frame: str) -> Clause:
    """"我 很 累" / "I am tired" for a cause key."""
    adj = next(a for a in ADJECTIVES if a.zh == key)
    parts = _copula_parts(frame, subj.person, False) + _adjective_parts(
        rng, adj.zh, adj.en, frame, False, False)
    return Clause(subj, make_vp(parts), frame, time_ok="day", kind="state")


def _weather_cause(rng: random.Random, frame: str) -> Clause:
    """Rain, heat or cold as a cause, in the given tense (no progressive)."""
    key = rng.choice(("rain", "rain", "hot", "cold"))
    it = Phrase(leaf("NPx", zh="", en="it"), "3sg", None, "it")
    if key == "rain":
        parts = verb_group(Predicate("下雨", "rain", []), frame, "3sg", "simple", False)
    else:
        zh, en = ("热", "hot") if key == "hot" else ("冷", "cold")
        parts = _copula_parts(frame, "3sg", False) + _adjective_parts(rng, zh, en, frame,
                                                                      False, False)
    return Clause(it, make_vp(parts, "VPx"), frame, time_ok="weather", needs_time=True,
                  kind=key)


def because(rng: random.Random) -> Node:
    """"因为 我 昨天 很 累 所以 没 去 学校" / "I did not go to school because I was
    tired yesterday". 所以 has no English word, so each CLAUSE is
    self-contained in both languages. English says the main clause first
    when its subject is a pronoun; after a noun subject ("because my sister
    was busy she ...") it keeps the Mandarin order so the pronoun follows
    its antecedent."""
    frame = rng.choice(("past", "past", "future"))
    if rng.random() < 0.3:
        cause = _weather_cause(rng, frame)
        subj = pronoun(rng)
    else:
        first_subj = pronoun(rng)
        if rng.random() < 0.3:  # 我 的 妹妹 ... 所以 (她) ...: needs a gendered noun
            kin = [n for n in nouns_with(("kin", "rel")) if n.gender]
            first_subj = possessed_phrase(rng, rng.choice(kin), 0.0)
        cause = _state_clause(rng, first_subj, rng.choice(_PERSON_CAUSES), frame)
        subj = _continuing_subject(rng, cause) or pronoun(rng)
    key = cause.kind if cause.kind in _EFFECTS else \
        next(k for k in _PERSON_CAUSES if render(cause.vp, "zh")[-1].text == k)
    cause.time = _time_for(rng, cause, 1.0)
    effect = _effect(rng, key, frame, subj)
    _no_subjectless_vp(effect)
    first = clause_node(rng, cause, "CLAUSE", [leaf("CONJ", zh="因为", en="because")])
    second = clause_node(rng, effect, "CLAUSE")
    # 所以 stays outside the effect clause: an English-matrix sentence that
    # switches the effect clause says "我 没 去 because ...", not "所以 ..."
    kids = [first, leaf("CONJ", zh="所以", en=""), second]
    pronoun_first = cause.subj is not None and cause.subj.noun is None
    if pronoun_first and rng.random() < 0.7:
        if not render(effect.subj.node, "zh"):
            # a subjectless Mandarin clause cannot open an English-matrix sentence
            second.label = "CLAUSEx"
        return Node("S", children=kids, order={"en": (2, 1, 0)})
    return Node("S", children=kids)


def conditional(rng: random.Random) -> Node:
    """"如果 明天 下雨 我 就 不 会 去 公园" / "if it rains tomorrow I will not go to
    the park". The if-clause is in the English present (its time word may
    be a future one), the main clause in the future; 就 (no English word)
    opens the main verb phrase."""
    if rng.random() < 0.4:
        cause = _weather_cause(rng, "present")
        cause.time = time_word(rng, "future", clock=False) if rng.random() < 0.7 else None
        subj = pronoun(rng)
    else:
        cause = _state_clause(rng, pronoun(rng), rng.choice(_PERSON_CAUSES), "present")
        subj = _continuing_subject(rng, cause) or pronoun(rng)
    key = cause.kind if cause.kind in _EFFECTS else render(cause.vp, "zh")[-1].text
    effect = _effect(rng, key, "future", subj)
    _no_subjectless_vp(effect)
    vp = effect.vp  # 就 opens the main verb phrase
    effect.vp = Node(vp.label, children=[leaf("ADV", zh="就", en="")] + vp.children,
                     order={lang: (0,) + tuple(i + 1 for i in vp.order[lang])
                            for lang in ("zh", "en")})
    first = clause_node(rng, cause, "CLAUSE", [leaf("CONJ", zh="如果", en="if")],
                        time_first=True)
    second = clause_node(rng, effect, "CLAUSE")
    return Node("S", children=[first, second])


def _likes_but(rng: random.Random) -> Node:
    """"我 喜欢 猫 但是 不 喜欢 狗" / "I like cats but I do not like dogs"."""
    verb = rng.choice([v for v in verbs_with_frame("stat") if v.zh in ("喜欢", "有")])
    first = stative(rng, "present", _subject_with_pronoun(rng), verb=verb, neg=False)
    noun = first.extra["noun"]
    subj = _continuing_subject(rng, first) or pronoun(rng)
    second = stative(rng, "present", subj=subj, verb=verb, neg=True, classes=(noun.cls,),
                      avoid=noun)
    return Node("S", children=[clause_node(rng, first, "CLAUSE"), clause_node(
        rng, second, "CLAUSE", [leaf("CONJ", zh="但是", en="but")])])


def _but_not(rng: random.Random, frame: str) -> Node:
    """"我 去 了 超市 但是 没 买 苹果" / "I went to the supermarket but I did not
    buy apples": an action, then a related action left undone."""
    first = _action_clause(rng, frame, _subject_with_pronoun(rng))
    subj = _continuing_subject(rng, first) or pronoun(rng)
    kind = _weighted(rng, (("tr", 3), ("intr", 1)))
    verb = _pick(rng, kind, subj)
    while verb.flag("po"):  # "没 哭" is no contrast to an action
        verb = _pick(rng, kind, subj)
    pred = _transitive_pred(rng, verb, first.frame, subj, 0.0, True) if kind == "tr" else \
        _intransitive_pred(rng, verb, subj, 0.0)
    second = _finish_action(rng, subj, pred, first.frame, neg=True, aspect="simple")
    return Node("S", children=[clause_node(rng, first, "CLAUSE"), clause_node(
        rng, second, "CLAUSE", [leaf("CONJ", zh="但是", en="but")])])


def _tired_but_happy(rng: random.Random, frame: str) -> Node:
    """"我 很 累 但是 很 高兴" / "I was tired but I was happy": two states."""
    subj = _subject_with_pronoun(rng)
    bad, good = rng.choice(_STATE_CONTRASTS)
    first = _state_clause(rng, subj, bad, frame)
    first.time = _time_for(rng, first, 0.5 if frame == "present" else 1.0)
    second = _state_clause(rng, _continuing_subject(rng, first) or pronoun(rng), good, frame)
    return Node("S", children=[clause_node(rng, first, "CLAUSE"), clause_node(
        rng, second, "CLAUSE", [leaf("CONJ", zh="但是", en="but")])])


_STATE_CONTRASTS = (("累", "高兴"), ("累", "开心"), ("忙", "高兴"), ("忙", "满意"),
                    ("饿", "高兴"), ("紧张", "兴奋"), ("累", "满意"))


def _subject_with_pronoun(rng: random.Random) -> Phrase:
    """A human subject that a later English pronoun can refer back to."""
    subj = subject(rng, classes=("hum",), pronoun_prob=0.6)
    return subj if subj.pronoun_en else pronoun(rng)


def _action_clause(rng: random.Random, frame: str, subj: Phrase,
                   with_time: bool = True) -> Clause:
    """An affirmative action clause (the first half of a sequence)."""
    pred = _action_pred(rng, frame, subj)
    c = _finish_action(rng, subj, pred, frame, neg=False, aspect="simple")
    c.time_ok = "day"  # a sequence of actions happens within a day
    if with_time:
        c.time = _time_for(rng, c, 1.0)
    return c


def coordination(rng: random.Random) -> Node:
    """Two clauses of one frame joined by 但是 / "but", 而且 / "and" (same
    subject, dropped in Mandarin) or 然后 / "and then" (one subject, a second
    verb phrase: "我 吃 了 早饭 然后 去 了 学校" / "I ate breakfast and then went
    to school"; in the future the second verb is bare: "然后 回家" / "and then
    go home")."""
    conj = _weighted(rng, (("但是", 4), ("而且", 3), ("然后", 3)))
    if conj == "但是":
        r = rng.random()
        if r < 0.35:
            return _likes_but(rng)
        if r < 0.55:
            return _tired_but_happy(rng, rng.choice(TIME_FRAMES))
        return _but_not(rng, rng.choice(("past", "future")))
    frame = rng.choice(("past", "future"))
    first = _action_clause(rng, frame, _subject_with_pronoun(rng))
    first_node = clause_node(rng, first, "CLAUSE")
    if conj == "然后":
        pred = _action_pred(rng, first.frame, first.subj)
        while set(pred.zh) & set(first.extra["verb"]):  # not "吃 一 个 桃子 然后 吃饭"
            pred = _action_pred(rng, first.frame, first.subj)
        aspect = "bare" if first.frame == "future" else "simple"
        vp = make_vp(verb_group(pred, first.frame, first.subj.person, aspect, False)
                     + pred.parts)
        second_node = Node("CLAUSE", children=[leaf("CONJ", zh="然后", en="and then"), vp])
        return Node("S", children=[first_node, second_node])
    second = _action_clause(rng, first.frame, _continuing_subject(rng, first) or pronoun(rng),
                            with_time=False)
    second_node = clause_node(rng, second, "CLAUSE", [leaf("CONJ", zh="而且", en="and")])
    return Node("S", children=[first_node, second_node])


# ==========================================================================
# Sentences
# ==========================================================================
def build_sentence(rng: random.Random) -> Node:
    """One parallel sentence tree of 3..20 words in both languages.

    About 70% single clauses, the rest 因为/所以, 如果, 但是, 而且 and 然后 pairs.
    Draws repeat (same ``rng``, so still deterministic) until the sentence
    fits the length range and can code-switch in both directions.
    """
    while True:
        r = rng.random()
        if r < 0.7:
            root = clause_node(rng, clause(rng, rng.choice(TIME_FRAMES)))
        elif r < 0.8:
            root = because(rng)
        elif r < 0.87:
            root = conditional(rng)
        else:
            root = coordination(rng)
        if not lengths_within(root, ("zh", "en")):
            continue
        if can_switch(root, "zh", "en") and can_switch(root, "en", "zh"):
            return root


# ==========================================================================
# The language pair
# ==========================================================================
class MandarinEnglish(LanguagePair):
    """Mandarin-English code-switching grammar (Mandarin is the source language)."""

    name = "zh-en"
    src_lang = "zh"
    tgt_lang = "en"
    voices = {"zh": "cmn", "en": "en-us"}

    def sentence(self, rng: random.Random) -> Node:
        return build_sentence(rng)

    def lemmas(self) -> Dict[str, List[str]]:
        """Lexicon words per language: every word of every table entry."""
        pairs: List[Tuple[str, str]] = []
        pairs += [(n.zh, n.en) for n in NOUNS]
        pairs += [(v.zh, v.en) for v in VERBS]
        pairs += [(a.zh, a.en) for a in ADJECTIVES]
        pairs += list(_WEATHER_ADJECTIVES) + [(zh, en.replace("be ", ""))
                                              for zh, en in _WEATHER_VERBS]
        pairs += [(p[1], p[2]) for p in _PRONOUNS] + [("", p[3]) for p in _PRONOUNS]
        pairs += [("", p[4]) for p in _PRONOUNS]
        pairs += list(_FREQUENCY_ADVERBS) + [d for d, _ in _DEGREE]
        pairs += [(m[0], m[1]) for m in _MODALS]
        pairs += list(_DAYS)
        for table in _TIME_WORDS.values():
            pairs += list(table)
        pairs += [(p[0], p[1]) for p in _CLOCK_PARTS]
        pairs += [(cl, "") for cl in MEASURE_WORDS] + [("", u) for u in _EN_UNIT.values()]
        pairs += [(zh_number(n), english.number(n)) for n in range(1, 11)] + [("两", "")]
        pairs += [
            ("因为", "because"), ("所以", "so"), ("但是", "but"), ("而且", "and"),
            ("如果", "if"), ("然后", "then"), ("和", "and"), ("就", ""), ("跟", "with"),
            ("一起", "together"), ("坐", "by"), ("在", "at"), ("里", "in"), ("上", "on"),
            ("下面", "under"), ("把", ""), ("的", ""), ("了", ""), ("过", ""), ("会", "will"),
            ("要", ""), ("不", "not"), ("没", "never"), ("正在", ""), ("是", "be"),
            ("这", "this"), ("那", "that"), ("这些", "these"), ("那些", "those"),
            ("很多", "many"), ("一些", "some"), ("现在", "now"), ("以前", "before"),
            ("太", "too"), ("点", "o'clock"), ("天", "day"), ("年", "year"), ("前", "ago"),
            ("后", "in"), ("", "the"), ("", "a"), ("", "an"), ("", "there"), ("", "it"),
            ("", "do"), ("", "did"), ("", "have"), ("", "at"), ("", "of"), ("", "lot"),
        ]
        zh: List[str] = []
        en: List[str] = []
        for z, e in pairs:
            zh += z.split()
            en += e.split()
        return {"zh": unique_in_order(zh), "en": unique_in_order(en)}
