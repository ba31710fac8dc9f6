"""Outlet, date, place and actor extraction from an article, with the gazetteer.

Matching works on folded tokens and is clitic-aware: a text word may carry و ف ب ك ل
and the article (بالموصل، وإدلب، لتركيا، للموصل); a name's words must agree on the
article, so the adjective السورية never matches the alias سورية. The longest name wins
(الجيش السوري الحر over الجيش السوري), and places and actors share one trie, so a place
inside an organization's name (قوات سوريا الديمقراطية) is not a place mention.
An alias written with a leading ``~`` in the gazetteer is also a common word: it counts
only right after a cue word such as مدينة or بلدة. Actors the gazetteer lacks are found
by rules: a person after a title or a given name, an army, ministry or government named
by its nationality.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate
from urllib.parse import urlsplit

from indexer.clean import parse_date
from indexer.dates import date_in_text
from indexer.gazetteer import Entity, Gazetteer
from indexer.gazetteer import load as load_gazetteer
from indexer.sources import Record
from search.arabic import FOLD, WORD_PATTERN, WORD_RE, light_normalize, normalize, strip_marks

# Words after which a "~" (common-word) place alias is a place.
PLACE_CUES = {normalize(w) for w in (
    "مدينة بلدة قرية منطقة محافظة ريف ناحية مخيم حي بلدات قرى مدن مناطق أحياء جنوب شمال شرق غرب "
    "جنوبي شمالي شرقي غربي وسط أطراف محيط مدينتي بلدتي قريتي"
).split()}

# Person rules: a title, up to two adjectives (nationality, السابق…), then the name. A strong title may be followed by any name; a weak one
# (قائد، زعيم، مدرب…) is also an ordinary noun (قائد طائرة), so its name must start with a
# known given name.
_STRONG_TITLES = [normalize(t) for t in (
    "الرئيس", "رئيس الوزراء", "رئيس الحكومة", "رئيس الجمهورية", "رئيس مجلس النواب", "رئيس البرلمان",
    "رئيس وزراء", "رئيس هيئة الأركان", "رئيسة الوزراء", "وزير الخارجية", "وزير الدفاع", "وزير الداخلية",
    "وزير المالية", "وزير الإعلام", "وزير النفط", "وزير الطاقة", "وزير العدل", "وزير الاقتصاد", "وزير التجارة",
    "وزير الصحة", "وزير التعليم", "وزير الاستخبارات", "وزير", "وزيرة الخارجية", "وزيرة", "نائب الرئيس",
    "نائب رئيس الوزراء", "ولي العهد", "ولي ولي العهد", "الملك", "الأمير", "الشيخ", "السلطان", "المستشارة",
    "السفير", "المبعوث الأممي", "المبعوث الأمريكي", "المبعوث الخاص", "المبعوث", "الأمين العام",
    "المتحدث باسم", "المتحدثة باسم", "الناطق باسم", "الناطق الرسمي باسم", "المتحدث الرسمي باسم",
    "القيادي في", "العقيد", "العميد", "اللواء", "الفريق", "المقدم", "الرائد", "النقيب", "المشير", "الجنرال",
    "الدكتور", "النائب", "المدعي العام", "السيناتور", "أمير منطقة", "مفتي", "الإمام",
)]
_WEAK_TITLES = [normalize(t) for t in (
    "القيادي", "قائد", "القائد العام", "الزعيم", "زعيم", "مؤسس", "المستشار", "المدير العام", "المسؤول في",
    "محافظ", "المدرب", "مدرب", "اللاعب", "النجم", "الفنان", "الفنانة", "الكاتب", "الكاتبة", "الروائي",
    "الشاعر", "المخرج", "الممثل", "الممثلة", "الناشط", "الناشطة", "الصحفي", "الصحفية", "الإعلامي",
    "القاضي",  # also "which stipulates" (القرار القاضي بـ…)
)]
_TITLES = _STRONG_TITLES + _WEAK_TITLES
_WEAK = set(_WEAK_TITLES)
# Adjectives that may stand between a title and the name (besides nationalities).
_TITLE_ADJECTIVES = {normalize(w) for w in "السابق الأسبق الحالي الجديد الراحل الأسبق المستقيل المكلف".split()}
# First word of a title -> its titles, longest first.
_TITLES_BY_FIRST: dict[str, list[list[str]]] = {}
for _t in sorted((t.split() for t in _TITLES), key=len, reverse=True):
    _TITLES_BY_FIRST.setdefault(_t[0], []).append(_t)
# Words that end a name: function words, verbs of saying, connectors.
_NAME_STOP = {normalize(w) for w in (
    "في من على إلى الى عن مع أن إن ان إنه أنه الذي التي الذين قال قالت أكد أكدت أعلن أعلنت إن "
    "خلال بعد قبل حول ضد عبر بين منذ لدى و أو ثم كما لكن وقال وأكد وأضاف أضاف اليوم أمس الثلاثاء "
    "الأربعاء الخميس الجمعة السبت الأحد الاثنين هذا هذه ذلك تلك هو هي كان كانت يوم بأن لأن حيث"
).split()}
_NAME_PARTICLES = {normalize(w) for w in ("عبد", "أبو", "ابو", "بن", "ابن", "آل", "أبي", "ولد", "دي", "فان")}
# Punctuation that ends a name (quotes do not: غرفة عمليات “غضب الفرات”).
_CLITIC_ARTICLE = ("لل", "بال", "وال", "فال", "كال")
_LETTERS_RE = re.compile("^[\u0621-\u064a]{2,}$")
_PUNCT_BREAK = re.compile(r"[،,.:;؛!?؟()\[\]{}\-–—ـ/\\|]")
_BREAK_RE = re.compile(_PUNCT_BREAK.pattern[:-1] + "\n]")  # punctuation or a line break
_SPLIT_RE = re.compile("(" + WORD_PATTERN + ")")
_OPEN_QUOTE = re.compile("[«\"“„']\\s*$")
_CLOSE_QUOTE = re.compile("^\\s*[»\"”']")
# Nationality adjectives (masculine, folded): الجيش + adjective is a state force.
NATIONALITIES = {normalize(w) for w in (
    "الأمريكي الأميركي الروسي التركي العراقي السوري الإيراني الإسرائيلي اللبناني المصري السعودي "
    "الأردني اليمني الليبي التونسي الجزائري المغربي السوداني الفرنسي البريطاني الألماني الإيطالي "
    "الصيني الياباني الهندي الباكستاني الأفغاني القطري الإماراتي الكويتي البحريني العماني الفلسطيني "
    "الصومالي الإثيوبي النيجيري الكوري الأوكراني الإسباني الكندي الأسترالي البلجيكي الهولندي "
    "السويدي اليوناني القبرصي الموريتاني المالي التشادي الفنزويلي البرازيلي الأرجنتيني المكسيكي "
    "الإندونيسي الماليزي البنغالي الكيني الأذربيجاني الأرمني الجورجي البولندي النمساوي السويسري"
).split()}
_FORCE_HEADS = {normalize(w): kind for w, kind in (
    ("الجيش", "army"), ("القوات", "army"), ("وزارة", "ministry"), ("الحكومة", "government"),
    ("الشرطة", "police"),
)}
# Common given names (folded): a given name + one or two more words, closed by
# punctuation, introduces a person (محمد علوش، عضو ... ; حسام سلامة، إن ...).
_NAME_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه"})  # FOLD without ى -> ي
GIVEN_NAMES = {light_normalize(w).translate(_NAME_FOLD) for w in (
    "محمد أحمد محمود مصطفى علي عمر عثمان خالد حسن حسين حسام عبد أبو إبراهيم إسماعيل يوسف يحيى "
    "زكريا سليمان سلمان فيصل فهد فاتح فراس فادي فايز فؤاد ماهر مازن مالك مروان مراد منصور منير "
    "نبيل نزار نصر نضال هاني هشام وائل وليد ياسر ياسين يونس أيمن أنس أسامة أكرم أمين أنور باسل "
    "بسام بشير بلال توفيق ثامر جمال جميل جواد حازم حاتم حامد حمزة حميد رائد رامي رشيد رضا رياض "
    "زياد سامر سامي سعد سعيد سعود سلطان سليم سمير شريف صالح صلاح طارق طلال عادل عاطف عامر عباس "
    "عدنان عزيز عصام علاء عماد عمار عمرو عيسى غسان كريم كمال لؤي ماجد مجدي محسن مهدي معاذ موسى "
    "ناصر نادر ناجي نايف هادي هيثم وسام وليد ياسر تركي بندر نواف مشعل متعب ممدوح زهير أحمد "
    "فاطمة عائشة مريم زينب سارة ليلى هدى نور رانيا سلمى دينا منى هند ريم لينا رنا سعاد "
    "جون جورج مايكل ديفيد دونالد سيرجي سيرغي فلاديمير إيمانويل"
).split()}


@dataclass
class Extraction:
    id: str
    outlet: Entity | None
    date: datetime | None
    places: list[Entity] = field(default_factory=list)
    actors: list[Entity] = field(default_factory=list)
    countries: list[Entity] = field(default_factory=list)
    spans: list[tuple[int, int, str, str]] = field(default_factory=list)  # (start, end, facet, name) in the body

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "outlet": self.outlet.as_json() if self.outlet else None,
            "date": self.date.strftime("%Y-%m-%d") if self.date else None,
            "places": [p.as_json() for p in self.places],
            "actors": [a.as_json() for a in self.actors],
            "countries": [c.as_json() for c in self.countries],
        }


def _word_key(word: str) -> tuple[bool, str]:
    """(has article, folded bare word) of a name's word."""
    w = light_normalize(word).translate(FOLD)
    if w.startswith("ال") and len(w) > 3:
        return True, w[2:]
    return False, w


_CLITIC_RE = re.compile("^([وف]?)([بكل]?)")


_KEYS_CACHE: dict[tuple[str, bool], frozenset] = {}


def _text_keys(token: str, first: bool) -> frozenset[tuple[bool, str]]:
    """Every (article, bare) reading of a text word; clitics only on a name's first word."""
    cached = _KEYS_CACHE.get((token, first))
    if cached is None:
        cached = frozenset(_readings(token, first))
        if len(_KEYS_CACHE) < 1_000_000:
            _KEYS_CACHE[(token, first)] = cached
    return cached


def _readings(token: str, first: bool) -> set[tuple[bool, str]]:
    w = token
    keys = {_word_key(w)}
    if w.startswith("لل") and len(w) > 4:
        keys.add((True, w[2:]))  # ل + ال + word
    if not first:
        return keys
    m = _CLITIC_RE.match(w)
    prefixes = {m.group(1), m.group(1) + m.group(2), m.group(2) if not m.group(1) else m.group(1)}
    for p in prefixes:
        if p and len(w) - len(p) >= 2:
            rest = w[len(p):]
            keys.add(_word_key(rest))
            if rest.startswith("ل") and p.endswith("ل") and len(rest) > 3:
                keys.add((True, rest[1:]))  # ولل + word
    return keys


@dataclass
class _Node:
    children: dict = field(default_factory=dict)
    entity: Entity | None = None
    facet: str = ""
    needs_cue: bool = False


class Extractor:
    """Extracts an ``Extraction`` from a ``Record``; build once, use for every record."""

    def __init__(self, gazetteer: Gazetteer | None = None):
        self.gaz = gazetteer or load_gazetteer()
        self.root = _Node()
        self.countries = {p.name: p for p in self.gaz.places if p.type == "country"}
        for facet, entities in (("place", self.gaz.places), ("actor", self.gaz.actors)):
            for entity in entities:
                self._add(entity.name, entity, facet, entity.needs_cue)
                for alias in entity.aliases:
                    self._add(alias, entity, facet, alias.startswith("~"))
        self.signatures = [(normalize(_fold_quotes(s)), o) for o in self.gaz.outlets for s in o.signatures]
        self.outlet_names = {normalize(o.name) for o in self.gaz.outlets}
        self._starts: dict[str, list[_Node]] = {}  # folded word -> trie nodes it may start
        self._folded: dict[str, str] = {}  # word as written -> folded
        self.signatures.sort(key=lambda x: -len(x[0]))

    def _add(self, alias: str, entity: Entity, facet: str, needs_cue: bool) -> None:
        words = WORD_RE.findall(alias.lstrip("~"))
        if not words:
            return
        node = self.root
        for w in words:
            node = node.children.setdefault(_word_key(w), _Node())
        if node.entity is None or (node.needs_cue and not needs_cue) or (facet == "actor" and node.facet == "place"):
            node.entity, node.facet, node.needs_cue = entity, facet, needs_cue

    # --- outlet ---------------------------------------------------------------

    def outlet(self, record: Record) -> Entity | None:
        """From the outlet code, else the url's domain, else a signature in the text."""
        if record.outlet:
            known = self.gaz.outlet_by_code.get(record.outlet.lower()) or self.gaz.outlet_by_name.get(normalize(record.outlet))
            return known or Entity(record.outlet, record.outlet, "outlet")
        if record.url:
            host = (urlsplit(record.url).hostname or "").lower()
            for o in self.gaz.outlets:
                if any(host == d or host.endswith("." + d) for d in o.domains):
                    return o
        text = normalize(_fold_quotes(record.title + "\n" + record.body))
        for signature, o in self.signatures:
            if signature and signature in text:
                return o
        return None

    # --- entities ---------------------------------------------------------------

    def mentions(self, text: str) -> list[tuple[int, int, Entity, str]]:
        """(start, end, entity, facet) of every gazetteer or person mention in ``text``."""
        # (start, end, folded, breaks before, surface, gap before) per word, built by
        # C-level splits and comprehensions: this runs on every word of every article.
        parts = _SPLIT_RE.split(text)  # gap, word, gap, word, ..., gap
        words, gaps = parts[1::2], parts[0:-1:2]
        folded_of = self._folded
        folded = [folded_of.get(w) for w in words]
        for k, f in enumerate(folded):
            if f is None:
                folded[k] = folded_of[words[k]] = light_normalize(words[k]).translate(FOLD)
        offsets = list(accumulate(map(len, parts)))  # offsets[2k] = start of word k
        breaks = [g != " " and _BREAK_RE.search(g) is not None for g in gaps]
        tokens = list(zip(offsets[0::2], offsets[1::2], folded, breaks, words, gaps))
        # Pass 1: gazetteer names, longest first. Pass 2: rules, only between them, so a
        # rule never swallows a known name (الرئيس عبد الفتاح السيسي).
        found = []
        covered = [False] * len(tokens)
        starts_of = self._starts
        free = 0  # first token not inside a name found
        for i in [k for k, f in enumerate(folded) if starts_of.get(f) != []]:  # [] starts no name
            if i < free:
                continue
            best = self._match_at(tokens, i)
            if best is None:
                continue
            j, node = best
            if node.entity.type == "person" and i > 0 and not tokens[i][3] and (
                    (j == i and light_normalize(tokens[i - 1][4]).translate(_NAME_FOLD) in GIVEN_NAMES)
                    or tokens[i - 1][2] in _NAME_PARTICLES):
                # تركي المالكي is not نوري المالكي, and فيصل بن سلمان بن عبدالعزيز is not
                # the king: leave them to the name rules
                continue
            covered[i:j + 1] = [True] * (j + 1 - i)
            if node.entity.type != "media" and not self._quoted_outlet(text, tokens, i, j):
                found.append((tokens[i][0], tokens[j][1], node.entity, node.facet))
            free = j + 1
        free = 0
        for i in [k for k, f in enumerate(folded) if f in RULE_STARTS]:
            if i < free or covered[i]:
                continue
            for rule in (self._person_at, self._force_at, self._named_at):
                hit = rule(tokens, i)
                if hit is not None and not any(covered[i:hit[0] + 1]):
                    j, entity = hit
                    found.append((tokens[i][0], tokens[j][1], entity, "actor"))
                    free = j + 1
                    break
        found.sort(key=lambda m: m[0])
        return found

    def _match_at(self, tokens, i: int):
        """(last token index, trie node) of the longest gazetteer name at token i."""
        best = None
        starts = self._starts.get(tokens[i][2])
        if starts is None:
            starts = [n for n in (self.root.children.get(k) for k in _text_keys(tokens[i][2], True)) if n]
            self._starts[tokens[i][2]] = starts
        for node in starts:
            j = i
            while node is not None:
                if node.entity is not None and (best is None or j > best[0]):
                    if not node.needs_cue or (i > 0 and _is_cue(tokens[i - 1][2])):
                        best = (j, node)
                j += 1
                if j >= len(tokens) or tokens[j][3]:
                    break
                nxt = None
                for k in _text_keys(tokens[j][2], first=False):
                    nxt = node.children.get(k)
                    if nxt is not None:
                        break
                node = nxt
        return best

    def _quoted_outlet(self, text, tokens, i, j) -> bool:
        """A quoted outlet name (لـ«الشرق الأوسط») is the newspaper, not the region."""
        name = " ".join(t[2] for t in tokens[i:j + 1])
        if name not in self.outlet_names:
            return False
        before = text[max(0, tokens[i][0] - 3):tokens[i][0]]
        after = text[tokens[j][1]:tokens[j][1] + 3]
        return bool(_OPEN_QUOTE.search(before) and _CLOSE_QUOTE.search(after))

    def _force_at(self, tokens, i):
        """الجيش/القوات + nationality -> the state's army; وزارة X [nationality] and
        الحكومة + nationality -> the ministry / government, as written."""
        head = _FORCE_HEADS.get(tokens[i][2]) or _FORCE_HEADS.get(_strip_clitic(tokens[i][2]))
        if head is None or i + 1 >= len(tokens) or tokens[i + 1][3]:
            return None
        nxt = tokens[i + 1][2]
        masc = nxt[:-1] if nxt.endswith("يه") else nxt
        if head == "army" and masc in NATIONALITIES:
            name = "الجيش " + strip_marks(tokens[i + 1][4])
            name = name[:-1] if name.endswith(("ة", "ه")) else name
            return i + 1, Entity(name, name, "state_force")
        if head in ("government", "police") and masc in NATIONALITIES:
            name = ("الحكومة " if head == "government" else "الشرطة ") + strip_marks(tokens[i + 1][4])
            return i + 1, Entity(name, name, "government" if head == "government" else "state_force")
        if head == "ministry" and nxt.startswith("ال"):
            j = i + 1
            if j + 1 < len(tokens) and not tokens[j + 1][3]:
                adj = tokens[j + 1][2]
                if (adj[:-1] if adj.endswith("يه") else adj) in NATIONALITIES:
                    j += 1
            name = "وزارة " + " ".join(strip_marks(tokens[k][4]) for k in range(i + 1, j + 1))
            return j, Entity(name, name, "government")
        return None

    def _named_at(self, tokens, i):
        """A given name and one to three more words, closed by punctuation: a person."""
        # the given name as written (على is a preposition, علي a name)
        first = light_normalize(tokens[i][4]).translate(_NAME_FOLD)
        if first not in GIVEN_NAMES or (i > 0 and not tokens[i][3] and tokens[i - 1][2] in GIVEN_NAMES):
            return None
        end = self._name_from(tokens, i)
        if end is None or not (end + 1 >= len(tokens) or _PUNCT_BREAK.search(tokens[end + 1][5])):
            return None
        name = " ".join(strip_marks(tokens[k][4]) for k in range(i, end + 1))
        return end, Entity(name, name, "person")

    def _is_known_word(self, word: str, first: bool) -> bool:
        """The word alone is a gazetteer name (إسرائيل): it cannot be part of a person's name."""
        for key in _text_keys(word, first):
            node = self.root.children.get(key)
            if node is not None and node.entity is not None and not node.needs_cue:
                return True
        return False

    def _name_from(self, tokens, j: int) -> int | None:
        """Index of the last word of a personal name of 2-4 words (particles such as بن
        not counted) starting at ``j``.

        Words are letters only, not function words nor gazetteer names; a word with the
        article is a family name only after a given name or a particle (خالد الفيصل،
        عبد الرحمن، حامد العازمي) and ends the name unless a particle follows.
        """
        words: list[str] = []
        k = j
        while k < len(tokens) and sum(w not in _NAME_PARTICLES for w in words) < 4:
            if words and tokens[k][3]:
                break
            w = tokens[k][2]
            if w in _NAME_STOP or w in _ROLE_WORDS or not _LETTERS_RE.match(w):
                break
            if words and w[0] in "وف" and w not in GIVEN_FOLDED and w not in _NAME_PARTICLES:
                break  # وكبار، ورئيس: a conjunction ends the name
            if w.startswith(_CLITIC_ARTICLE):
                break  # للعلوم، بالرياض: a preposition with the article ends it too
            if words and w in _NAME_PARTICLES:  # بن، أبو، آل (folded آل is ال)
                words.append(w)
                k += 1
                continue
            if w.startswith("ال") and words:
                prev = words[-1] if words else ""
                if not (prev in _NAME_PARTICLES or prev in GIVEN_NAMES or (len(words) >= 2 and words[-2] in _NAME_PARTICLES)):
                    break
                words.append(w)
                k += 1
                if prev not in _NAME_PARTICLES:
                    break
                continue
            if w.startswith("ال") or (self._is_known_word(w, first=not words) and w not in GIVEN_NAMES):
                break
            words.append(w)
            k += 1
        while words and words[-1] in _NAME_PARTICLES:
            words.pop()
        if len(words) < 2:
            return None
        return j + len(words) - 1

    def _person_at(self, tokens, i: int):
        """A person introduced by a title at token i: (last token index, name)."""
        first = tokens[i][2]
        titles = _TITLES_BY_FIRST.get(first) or _TITLES_BY_FIRST.get(_strip_clitic(first))
        for title in titles or ():
            n = len(title)
            if i + n >= len(tokens):
                continue
            if [tokens[i + k][2] for k in range(1, n)] != title[1:] or any(tokens[i + k][3] for k in range(1, n)):
                continue
            if title[-1] == "باسم" or title[-1] == "في":
                return None  # "the spokesman of X": X is an organization, not a name
            j = i + n
            # up to two adjectives: الروسي، الإسرائيلي السابق
            for _ in range(2):
                if j < len(tokens) and not tokens[j][3] and tokens[j][2].startswith("ال") and (
                        tokens[j][2].endswith(("ي", "يه")) or tokens[j][2] in _TITLE_ADJECTIVES):
                    j += 1
            if " ".join(title) in _WEAK and (j >= len(tokens) or light_normalize(tokens[j][4]).translate(_NAME_FOLD) not in GIVEN_NAMES):
                return None
            name_end = self._name_from(tokens, j)
            if name_end is not None:
                name = " ".join(strip_marks(tokens[k][4]) for k in range(j, name_end + 1))
                return name_end, Entity(name, name, "person")
            return None
        return None

    def extract_metadata(self, record: Record) -> Extraction:
        """Outlet and date only."""
        date = parse_date(record.date) if record.date else None
        if date is None and not record.date:
            date = date_in_text(record.title + "\n" + record.body)
        return Extraction(id=record.id, outlet=self.outlet(record), date=date)

    def extract(self, record: Record) -> Extraction:
        """Outlet, date, places, actors and countries of one article."""
        text = record.title + "\n" + record.body
        meta = self.extract_metadata(record)
        places: dict[str, Entity] = {}
        actors: dict[str, Entity] = {}
        spans = []
        offset = len(record.title) + 1  # text is title + newline + body
        for start, end, entity, facet in self.mentions(text):
            (places if facet == "place" else actors).setdefault(entity.name, entity)
            if start >= offset:
                spans.append((start - offset, end - offset, facet, entity.name))
        persons = [a for a in actors.values() if a.type == "person"]
        for p in persons:  # keep the fullest name: drop a person contained in a longer one
            if any(q is not p and p.name in q.name for q in persons):
                actors.pop(p.name, None)
        countries: dict[str, Entity] = {}
        for p in places.values():
            country = p if p.type == "country" else self.countries.get(p.country)
            if country is not None:
                countries.setdefault(country.name, country)
        return Extraction(
            id=record.id,
            outlet=meta.outlet,
            date=meta.date,
            places=list(places.values()),
            actors=list(actors.values()),
            countries=list(countries.values()),
            spans=[sp for sp in spans if sp[3] in places or sp[3] in actors],
        )


GIVEN_FOLDED = frozenset(w.translate(FOLD) for w in GIVEN_NAMES)
# Words of a title or role: they end a name (مهاب مميش رئيس هيئة قناة السويس).
_ROLE_WORDS = frozenset(t[0] for titles in _TITLES_BY_FIRST.values() for t in titles) - GIVEN_FOLDED | {
    normalize(w) for w in "رئيس نائب مدير عضو أمين مسؤول المتحدث الناطق قائد وزير سفير محافظ".split()}

# Folded words that may begin a rule-found actor (a title, a force head, a given name),
# with or without و/ف: other words skip the rules at once.
_FIRST_WORDS = ({t[0] for t in _TITLES_BY_FIRST.values() for t in t} | set(_FORCE_HEADS)
                | GIVEN_FOLDED)
RULE_STARTS = frozenset(_FIRST_WORDS | {c + w for c in "وف" for w in _FIRST_WORDS})


def _is_cue(word: str) -> bool:
    """A place cue word, also with a clitic (بمحافظة، وريف)."""
    return word in PLACE_CUES or (word[:1] in "وفبل" and word[1:] in PLACE_CUES)


def _strip_clitic(word: str) -> str:
    return word[1:] if word[:1] in ("و", "ف") else word


def _fold_quotes(text: str) -> str:
    return text.translate(_QUOTES)


_QUOTES = str.maketrans({"“": '"', "”": '"', "«": '"', "»": '"', "„": '"', "″": '"'})
