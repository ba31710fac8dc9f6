"""Outlet, date, place and actor extraction from an article, with the gazetteer.

Matching works on folded tokens and is clitic-aware: a text word may carry و ف ب ك ل
and the article (بالموصل، وإدلب، لتركيا، للموصل); a name's words must agree on the
article, so the adjective السورية never matches the alias سورية. The longest name wins
(الجيش السوري الحر over الجيش السوري), and places and actors share one trie, so a place
inside an organization's name (قوات سوريا الديمقراطية) is not a place mention.
An alias written with a leading ``~`` in the gazetteer is also a common word: it counts
only right after a place word such as مدينة or بلدة.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from indexer.clean import parse_date
from indexer.dates import date_in_text
from indexer.gazetteer import Entity, Gazetteer
from indexer.gazetteer import load as load_gazetteer
from indexer.sources import Record
from search.arabic import FOLD, WORD_RE, light_normalize, normalize, strip_marks

# Words after which a "~" (common-word) place alias is a place.
PLACE_CUES = {normalize(w) for w in (
    "مدينة بلدة قرية منطقة محافظة ريف ناحية مخيم حي بلدات قرى مدن مناطق أحياء جنوب شمال شرق غرب "
    "جنوبي شمالي شرقي غربي وسط أطراف محيط مدينتي بلدتي قريتي"
).split()}

# Person rules: a title, an optional nationality/affiliation adjective, then the name.
_TITLES = [normalize(t) for t in (
    "الرئيس", "رئيس الوزراء", "رئيس الحكومة", "رئيس الجمهورية", "رئيس مجلس النواب", "رئيس البرلمان",
    "وزير الخارجية", "وزير الدفاع", "وزير الداخلية", "وزير المالية", "وزير الإعلام", "وزير النفط",
    "وزير الطاقة", "وزير العدل", "وزير الاقتصاد", "وزير التجارة", "وزير الصحة", "وزير التعليم", "وزير",
    "وزيرة الخارجية", "وزيرة", "نائب الرئيس", "نائب رئيس الوزراء", "ولي العهد", "ولي ولي العهد",
    "الملك", "الأمير", "الشيخ", "السلطان", "المستشارة", "المستشار", "السفير", "المبعوث الأممي", "المبعوث الأمريكي", "المبعوث الخاص",
    "المبعوث", "الأمين العام", "المتحدث باسم", "المتحدثة باسم", "الناطق باسم", "الناطق الرسمي باسم", "المتحدث الرسمي باسم",
    "القيادي في", "القيادي", "قائد", "القائد العام", "العقيد", "العميد", "اللواء", "الفريق", "المقدم", "الرائد", "النقيب",
    "المشير", "الجنرال", "الدكتور", "د.", "النائب", "الزعيم", "زعيم", "مؤسس", "المدعي العام", "القاضي", "السيناتور",
    "رئيس", "مدير", "المدير العام", "المسؤول في", "عضو", "مسؤول", "محافظ", "أمير منطقة", "مفتي", "الإمام",
)]
# First word of a title -> its titles, longest first.
_TITLES_BY_FIRST: dict[str, list[list[str]]] = {}
for _t in sorted((t.split() for t in _TITLES), key=len, reverse=True):
    _TITLES_BY_FIRST.setdefault(_t[0], []).append(_t)
# Words that end a name: function words, verbs of saying, connectors.
_NAME_STOP = {normalize(w) for w in (
    "في من على إلى الى عن مع أن إن ان إنه أنه الذي التي الذين قال قالت أكد أكدت أعلن أعلنت إن "
    "خلال بعد قبل حول ضد عبر بين منذ لدى و أو ثم كما لكن وقال وأكد وأضاف أضاف اليوم أمس الثلاثاء "
    "الأربعاء الخميس الجمعة السبت الأحد الاثنين هذا هذه ذلك تلك هو هي كان كانت يوم بأن لأن حيث "
    "عبد".split()[:-1]
)}
_NAME_PARTICLES = {normalize(w) for w in ("عبد", "أبو", "ابو", "بن", "ابن", "آل", "أبي", "ولد", "دي", "فان")}
_PUNCT_BREAK = re.compile(r"[،,.:;؛!?؟()\[\]{}«»\"“”'‘’\-–—ـ/\\|]")


@dataclass
class Extraction:
    id: str
    outlet: Entity | None
    date: datetime | None
    places: list[Entity] = field(default_factory=list)
    actors: list[Entity] = field(default_factory=list)
    countries: list[Entity] = field(default_factory=list)

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


def _text_keys(token: str, first: bool) -> set[tuple[bool, str]]:
    """Every (article, bare) reading of a text word; clitics only on a name's first word."""
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
                for alias in (entity.name, *entity.aliases):
                    self._add(alias, entity, facet)
        self.signatures = [(normalize(_fold_quotes(s)), o) for o in self.gaz.outlets for s in o.signatures]
        self.signatures.sort(key=lambda x: -len(x[0]))

    def _add(self, alias: str, entity: Entity, facet: str) -> None:
        needs_cue = alias.startswith("~")
        words = WORD_RE.findall(alias.lstrip("~"))
        if not words:
            return
        node = self.root
        for w in words:
            node = node.children.setdefault(_word_key(w), _Node())
        if node.entity is None or (facet == "actor" and node.facet == "place"):
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
        tokens = []  # (start, end, folded, breaks_before)
        last_end = 0
        for m in WORD_RE.finditer(text):
            gap = text[last_end:m.start()]
            tokens.append((m.start(), m.end(), light_normalize(m.group()).translate(FOLD),
                           bool(_PUNCT_BREAK.search(gap)) or "\n" in gap, m.group()))
            last_end = m.end()
        found = []
        i = 0
        while i < len(tokens):
            best = None  # (end_index, node)
            for key in _text_keys(tokens[i][2], first=True):
                node = self.root.children.get(key)
                j = i
                while node is not None:
                    if node.entity is not None and (best is None or j > best[0]):
                        if not node.needs_cue or (i > 0 and tokens[i - 1][2] in PLACE_CUES):
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
            if best is not None:
                j, node = best
                found.append((tokens[i][0], tokens[j][1], node.entity, node.facet))
                i = j + 1
                continue
            person = self._person_at(tokens, i)
            if person is not None:
                j, name = person
                found.append((tokens[i][0], tokens[j][1], Entity(name, name, "person"), "actor"))
                i = j + 1
                continue
            i += 1
        return found

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
            # skip one nationality/affiliation adjective: الروسي، السوري، الأمريكي
            if j < len(tokens) and not tokens[j][3] and tokens[j][2].startswith("ال") and tokens[j][2].endswith(("ي", "يه")):
                j += 1
            name_tokens = []
            while j < len(tokens) and len(name_tokens) < 4:
                if name_tokens and tokens[j][3]:
                    break
                if j > i + n and not name_tokens and tokens[j][3]:
                    break
                w = tokens[j][2]
                if w in _NAME_STOP or not re.match("^[\u0621-\u064a]{2,}$", w):
                    break
                if w.startswith("ال") and not (name_tokens and name_tokens[-1] in _NAME_PARTICLES):
                    break
                if any(key in self.root.children for key in {_word_key(w)}) and not name_tokens:
                    break
                name_tokens.append(w)
                j += 1
            while name_tokens and name_tokens[-1] in _NAME_PARTICLES:
                name_tokens.pop()
                j -= 1
            if len(name_tokens) >= 2:
                start = j - len(name_tokens)
                name = " ".join(strip_marks(tokens[k][4]) for k in range(start, j))
                return j - 1, name
            return None
        return None

    def extract(self, record: Record) -> Extraction:
        """Outlet, date, places, actors and countries of one article."""
        text = record.title + "\n" + record.body
        date = parse_date(record.date) if record.date else None
        if date is None and not record.date:
            date = date_in_text(text)
        places: dict[str, Entity] = {}
        actors: dict[str, Entity] = {}
        for _s, _e, entity, facet in self.mentions(text):
            (places if facet == "place" else actors).setdefault(entity.name, entity)
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
            outlet=self.outlet(record),
            date=date,
            places=list(places.values()),
            actors=list(actors.values()),
            countries=list(countries.values()),
        )


def _strip_clitic(word: str) -> str:
    return word[1:] if word[:1] in ("و", "ف") else word


def _fold_quotes(text: str) -> str:
    return text.translate(_QUOTES)


_QUOTES = str.maketrans({"“": '"', "”": '"', "«": '"', "»": '"', "„": '"', "″": '"'})
