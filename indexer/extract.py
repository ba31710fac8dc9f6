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
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from itertools import accumulate
from urllib.parse import urlsplit

from indexer.clean import parse_date
from indexer.dates import date_in_text
from indexer.gazetteer import Entity, Gazetteer, cue_level, fold_word, load_words
from indexer.gazetteer import load as load_gazetteer
from indexer.sources import Record
from indexer.tagger import Tagger, clitic_split, common_words, default_tagger, inflects_common_word, strip_clitics, word_counts
from indexer.tagger import spans as bio_spans
from search.arabic import FOLD, WORD_PATTERN, WORD_RE, light_normalize, normalize, strip_marks

# The rules' word lists (indexer/gazetteer/words/*.txt), all folded by ``fold_word``
# and compared with a token's word-list key (token[6]): ى stays apart from ي there.
WORDS = load_words()
PLACE_CUES = WORDS.place_cues
# Person rules: a title, up to two adjectives (nationality, السابق…), then the name. A
# strong title may be followed by any name; a weak one (قائد، زعيم، مدرب…) is also an
# ordinary noun (قائد طائرة), so its name must start with a known given name; an "org"
# title (المتحدث باسم) is followed by an organization, not a name.
_TITLES_BY_FIRST: dict[str, list[list[str]]] = {}
for _t in sorted((t.split() for t in WORDS.titles), key=len, reverse=True):
    _TITLES_BY_FIRST.setdefault(_t[0], []).append(_t)
_TITLE_ADJECTIVES = WORDS.title_adjectives
_NAME_STOP = WORDS.name_stops
_NAME_PARTICLES = WORDS.name_particles
NATIONALITIES = WORDS.nationalities
_FORCE_HEADS = WORDS.force_heads
GIVEN_NAMES = WORDS.given_names
# Punctuation that ends a name (quotes do not: غرفة عمليات “غضب الفرات”).
_CLITIC_ARTICLE = ("لل", "بال", "وال", "فال", "كال")
_LETTERS_RE = re.compile("^[\u0621-\u064a]{2,}$")
_ANY_LETTER_RE = re.compile("[\u0621-\u064aA-Za-z]")
_PUNCT_BREAK = re.compile(r"[،,.:;؛!?؟()\[\]{}\-–—ـ/\\|]")
_BREAK_RE = re.compile(_PUNCT_BREAK.pattern[:-1] + "\n]")  # punctuation or a line break
_SPLIT_RE = re.compile("(" + WORD_PATTERN + ")")
_SENTENCE_END = re.compile("[.!?؟\n]")
# Tanween (دوماً، درعاً): an adverb or an indefinite noun, never a place's name.
_TANWEEN_RE = re.compile("[\u064b-\u064d]")
_OPEN_QUOTE = re.compile("[«\"“„']\\s*$")
_CLOSE_QUOTE = re.compile("^\\s*[»\"”']")


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


_FOLDED: dict[str, tuple[str, str]] = {}  # word as written -> (full fold, word-list fold)


def tokenize(text: str) -> list[tuple[int, int, str, bool, str, str, str]]:
    """The words of ``text`` as the extractor reads them: (start, end, folded,
    punctuation or line break before, surface, gap before, word-list key).

    Built by C-level splits and comprehensions: this runs on every word of every article.
    """
    parts = _SPLIT_RE.split(text)  # gap, word, gap, word, ..., gap
    words, gaps = parts[1::2], parts[0:-1:2]
    cache = _FOLDED
    pairs = [cache.get(w) for w in words]
    for k, f in enumerate(pairs):
        if f is None:
            light = light_normalize(words[k])
            f = (light.translate(FOLD), fold_word(light))
            if len(cache) < 1_000_000:
                cache[words[k]] = f
            pairs[k] = f
    offsets = list(accumulate(map(len, parts)))  # offsets[2k] = start of word k
    breaks = [g != " " and _BREAK_RE.search(g) is not None for g in gaps]
    return [(start, end, f[0], brk, w, g, f[1])
            for start, end, f, brk, w, g in zip(offsets[0::2], offsets[1::2], pairs, breaks, words, gaps)]


def _word_key(word: str) -> tuple[bool, str]:
    """(has article, folded bare word) of a name's word."""
    w = light_normalize(word).translate(FOLD)
    if w.startswith("ال") and len(w) > 3:
        return True, w[2:]
    return False, w


_CLITIC_RE = re.compile("^([وف]?)([بكل]?)")


_KEYS_CACHE: dict[tuple[str, bool], tuple] = {}


def _text_keys(token: str, first: bool) -> tuple[tuple[bool, str], ...]:
    """Every (article, bare) reading of a text word, the word as written first, then with
    fewer clitics before more; clitics only on a name's first word. An ordered tuple, not
    a set: the matcher takes the first reading that continues a name, and a set's order
    changes with Python's hash seed (the same text gave other mentions from run to run)."""
    cached = _KEYS_CACHE.get((token, first))
    if cached is None:
        cached = tuple(dict.fromkeys(_readings(token, first)))
        if len(_KEYS_CACHE) < 1_000_000:
            _KEYS_CACHE[(token, first)] = cached
    return cached


def _readings(token: str, first: bool) -> list[tuple[bool, str]]:
    w = token
    keys = [_word_key(w)]
    if w.startswith("لل") and len(w) > 4:
        keys.append((True, w[2:]))  # ل + ال + word
    if not first:
        return keys
    m = _CLITIC_RE.match(w)
    counts = word_counts()
    for p in (m.group(1), m.group(2) if not m.group(1) else "", m.group(1) + m.group(2)):
        if p and len(w) - len(p) >= 2:
            rest = w[len(p):]
            if "ك" in p and counts.get(rest, 0) < counts.get(w, 0):
                continue  # كلاوس is Klaus, not "like Laos": ك seldom stands before a name
            keys.append(_word_key(rest))
            if rest.startswith("ل") and p.endswith("ل") and len(rest) > 3:
                keys.append((True, rest[1:]))  # ولل + word
    return keys


@dataclass
class _Node:
    children: dict = field(default_factory=dict)
    entity: Entity | None = None
    facet: str = ""
    needs_cue: int = 0  # gazetteer.cue_level
    alternatives: tuple = ()  # other entities of the same name (عمان: Oman, Amman)


class Extractor:
    """Extracts an ``Extraction`` from a ``Record``; build once, use for every record."""

    def __init__(self, gazetteer: Gazetteer | None = None, tagger: Tagger | None | bool = True):
        """``tagger``: True for the shipped model (when present), None for the gazetteer
        and rules alone (what the tagger is trained on), or a ``Tagger``."""
        self.gaz = gazetteer or load_gazetteer()
        self.tagger = default_tagger() if tagger is True else tagger
        self.root = _Node()
        self.countries = {p.name: p for p in self.gaz.places if p.type == "country"}
        for facet, entities in (("place", self.gaz.places), ("actor", self.gaz.actors)):
            for entity in entities:
                self._add(entity.name, entity, facet, entity.needs_cue)
                for alias in entity.aliases:
                    self._add(alias, entity, facet, cue_level(alias))
        for outlet in self.gaz.outlets:
            # an outlet's name of two words or more (سكاي نيوز، سي إن إن) cited in a text
            # is a medium, not an actor the tagger might take it for; a one-word name
            # (الرياض، اليوم) is a place or a word first
            media = Entity(outlet.name, outlet.en, "media")
            for name in (outlet.name, *outlet.aliases):
                if len(WORD_RE.findall(name)) > 1:
                    self._add(name, media, "actor", 0, only_new=True)
        self.signatures = [(normalize(_fold_quotes(s)), o) for o in self.gaz.outlets for s in o.signatures]
        self.outlet_names = {normalize(o.name) for o in self.gaz.outlets}
        self._starts: dict[str, list[_Node]] = {}  # folded word -> trie nodes it may start
        self.signatures.sort(key=lambda x: -len(x[0]))

    def _add(self, alias: str, entity: Entity, facet: str, needs_cue: int, only_new: bool = False) -> None:
        words = WORD_RE.findall(alias.lstrip("~"))
        if not words:
            return
        node = self.root
        for w in words:
            node = node.children.setdefault(_word_key(w), _Node())
        if only_new and node.entity is not None:
            return
        if node.entity is None or (node.needs_cue and not needs_cue) or (facet == "actor" and node.facet == "place"):
            node.entity, node.facet, node.needs_cue = entity, facet, needs_cue
        elif facet == node.facet == "place" and entity.name != node.entity.name and entity not in node.alternatives:
            node.alternatives += (entity,)  # the first listed is the default reading

    # --- outlet ---------------------------------------------------------------

    def outlet(self, record: Record) -> Entity | None:
        """From the outlet code, else the url's domain, else a signature in the text."""
        if record.outlet:
            known = self.gaz.outlet_by_code.get(record.outlet.lower()) or self.gaz.outlet_by_name.get(normalize(record.outlet))
            # an unknown code is shown as written; it is its English label only in Latin script
            return known or Entity(record.outlet, record.outlet if record.outlet.isascii() else "", "outlet")
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
        """(start, end, entity, facet) of every gazetteer, rule or tagger mention in ``text``."""
        tokens = tokenize(text)
        found, covered, pending = self._gazetteer_pass(text, tokens)
        ruled = self._rule_pass(tokens, covered)
        if self.tagger is not None:
            tagged = self._tagger_pass(tokens, self._merge_tags(tokens, found, ruled, pending))
            found, covered = _places_in_organizations(tokens, tagged, found, covered)
            out = found + self._combine(tokens, covered, ruled, tagged, found, pending)
        else:
            out = found + [m for _, _, m in ruled]
        out = _headed_organizations(tokens, _not_places_but_persons(_without_byline(text, out)))
        return sorted(out + _short_mentions(tokens, out), key=lambda m: m[0])

    def _rule_pass(self, tokens: list, covered: list[bool]) -> list[tuple[int, int, tuple]]:
        """Rule-found actors, only between gazetteer names, so a rule never swallows a
        known name (الرئيس عبد الفتاح السيسي): (first token, last token, mention)."""
        out = []
        free = 0
        for i in [k for k, t in enumerate(tokens) if t[6] in RULE_STARTS]:
            if i < free or covered[i]:
                continue
            for rule in (self._person_at, self._force_at, self._named_at):
                hit = rule(tokens, i)
                if hit is not None and not any(covered[i:hit[0] + 1]):
                    j, entity = hit
                    out.append((i, j, (tokens[i][0], tokens[j][1], entity, "actor")))
                    free = j + 1
                    break
        return out

    def _gazetteer_pass(self, text: str, tokens: list) -> tuple[list, list[bool], list]:
        """Gazetteer names, longest first: (mentions, covered flag per token).

        A name that is also a common word (``~`` in the gazetteer) and has no cue word
        before it is left pending, (first, last token, trie node), for the tagger to decide.
        Returns (mentions, covered flag per token, pending)."""
        found = []
        covered = [False] * len(tokens)
        pending = []
        ambiguous = []
        starts_of = self._starts
        free = 0  # first token not inside a name found
        for i in [k for k, t in enumerate(tokens) if starts_of.get(t[2]) != []]:  # [] starts no name
            if i < free:
                continue
            best, common = self._match_at(tokens, i)
            if best is None:
                if common is not None and not any(_TANWEEN_RE.search(t[4]) for t in tokens[i:common[0] + 1]):
                    pending.append((i, common[0], common[1]))
                continue
            j, node = best
            short = j - i + 1 < len(node.entity.name.split())  # a shorter alias (نصر الله), not the name
            if node.entity.type == "person" and i > 0 and not tokens[i][3] and (
                    ((j == i or short) and tokens[i - 1][6] not in _name_words(node.entity)
                     and (tokens[i - 1][6] in GIVEN_NAMES or _unknown_word_before(tokens, covered, i)))
                    or tokens[i - 1][6] in _NAME_PARTICLES):
                # تركي المالكي is not نوري المالكي, ابراهيم نصر الله is not حسن نصر الله, and
                # فيصل بن سلمان بن عبدالعزيز is not the king, nor جيب بوش George Bush: leave
                # them to the name rules and the tagger. A word of the known person's own name
                # (بنيامين نتانياهو, عبدالفتاح السيسي) is that person, read on below.
                continue
            if node.facet == "place" and j == i and i > 0 and not tokens[i][3] and tokens[i - 1][6] in GIVEN_NAMES \
                    and node.entity.type not in ("country", "capital"):
                continue  # محمد درعا: a one-word town after a given name is a family name
            if any(_TANWEEN_RE.search(t[4]) for t in tokens[i:j + 1]):
                continue  # دوماً، درعاً: tanween marks an adverb or an indefinite noun, never a name
            if node.facet == "place" and _adjective_after_definite(tokens, i, j):
                continue  # الشركة السعودية، القنصلية السعودية: the adjective "Saudi", no place
            if node.entity.type == "government" and i > 0 and not tokens[i][3] and tokens[i][2].startswith("ال") \
                    and any(f in _MINISTER_WORDS for f in _clitic_forms(tokens[i - 1][6])):
                continue  # وزيرة الخارجية الأميركية كوندوليزا رايس: a title, the person is the actor
            entity = node.entity
            if entity.type == "person" and i > 0 and not tokens[i][3] and tokens[i - 1][6] in GIVEN_NAMES \
                    and not covered[i - 1]:
                # محمد حسني مبارك: the article's fuller name joins the known person's aliases
                i -= 1
                entity = replace(entity, aliases=entity.aliases + (" ".join(strip_marks(t[4]) for t in tokens[i:j + 1]),))
            covered[i:j + 1] = [True] * (j + 1 - i)
            fuller = j
            if entity.type == "person" and j + 2 < len(tokens) and tokens[j + 1][6] == "ال" \
                    and not tokens[j + 1][3] and not tokens[j + 2][3]:
                fuller = j + 2  # محمد بن زايد آل نهيان: the family name the article adds is a name of him too
            written = _written_form(tokens, i, fuller, entity.type == "person")
            if _spelling_key(written) not in _spelling_keys(entity):
                # عبدالله الثاني for عبد الله الثاني: the article's own spelling is a name of it too
                entity = replace(entity, aliases=entity.aliases + (written,))
            if entity.type != "media" and not self._quoted_outlet(text, tokens, i, j):
                found.append((tokens[i][0], tokens[j][1], entity, node.facet))
                if node.alternatives:
                    ambiguous.append((len(found) - 1, (node.entity,) + node.alternatives))
            free = j + 1
        if ambiguous:
            self._resolve(text, found, ambiguous)
        return found, covered, pending

    def _resolve(self, text: str, found: list, ambiguous: list) -> None:
        """Places that share a name (عمان: Oman or Amman) read from the article: the
        spelling with its marks (عمّان), else the reading whose country the article
        names elsewhere (عمان، الأردن), else the first listed."""
        unsure = {k for k, _ in ambiguous}
        context = set()
        for k, (_, _, entity, facet) in enumerate(found):
            if facet == "place" and k not in unsure:
                context.add(entity.name if entity.type == "country" else entity.country)
        for k, candidates in ambiguous:
            start, end, default, facet = found[k]
            written = text[start:end].replace("ـ", "")
            pick = None
            if strip_marks(written) != written:
                pick = next((c for c in candidates if written in (c.name, *c.aliases)), None)
            if pick is None:
                pick = next((c for c in candidates if (c.name if c.type == "country" else c.country) in context), default)
            found[k] = (start, end, pick, facet)

    def _token_tags(self, tokens: list, mentions, source: str) -> list[str]:
        """The tagger's view of earlier passes: B-/I- + source and kind per token."""
        tags = [""] * len(tokens)
        for (_start, _end, entity, facet), span in zip(mentions, _token_spans(tokens, mentions)):
            if span is None:
                continue
            kind = "place" if facet == "place" else ("person" if entity.type == "person" else "org")
            i, j = span
            for k in range(i, j + 1):
                tags[k] = ("B-" if k == i else "I-") + source + kind
        return tags

    def feature_tags(self, text: str, tokens: list) -> list[str]:
        """Per token, what the gazetteer, the rules and the common-word names say of it:
        the tagger's context features (also what ``indexer.train_tagger`` computes)."""
        found, covered, pending = self._gazetteer_pass(text, tokens)
        return self._merge_tags(tokens, found, self._rule_pass(tokens, covered), pending)

    def _merge_tags(self, tokens, found, ruled, pending) -> list[str]:
        tags = self._token_tags(tokens, found, "g")
        for k, t in enumerate(self._token_tags(tokens, [m for _, _, m in ruled], "r")):
            if t and not tags[k]:
                tags[k] = t
        for i, j, node in pending:
            for k in range(i, j + 1):
                if not tags[k]:
                    tags[k] = ("B-c" if k == i else "I-c") + ("place" if node.facet == "place" else "org")
        return tags

    def _tagger_pass(self, tokens, tags: list[str]) -> list[tuple[int, int, str]]:
        """(first, last, PERS|ORG|LOC) spans of the tagger, sentence by sentence, given
        the earlier passes' tags (``_merge_tags``)."""
        starts = [k == 0 or _SENTENCE_END.search(t[5]) is not None for k, t in enumerate(tokens)]
        bio = self.tagger.tag([t[6] for t in tokens], [t[3] for t in tokens], tags, starts)
        return [(a, b, kind) for a, b, kind in bio_spans(bio) if not any(starts[a + 1:b + 1])]

    def _combine(self, tokens, covered, ruled, tagged, found, pending) -> list[tuple[int, int, Entity, str]]:
        """The rules' and the tagger's mentions beside the gazetteer's, which win.

        A common-word name (``~``) that lacked a cue counts where the tagger reads these
        very words as one name of its kind (inside a longer name, زين الدين زيدان, the
        common-word name is not it), and a town or city only after a preposition (في دوما;
        not في حديثه) or where the article names its country too (سيول with كوريا;
        floods are سيول too); a very common word (``~~``:
        الاتفاق، النصر) only ever after a cue. A rule-found person needs the tagger's
        agreement unless a given name starts it. A tagger span over words no other pass
        took becomes a place or an actor."""
        out = []
        taken = list(covered)
        spans = {(a, b): kind for a, b, kind in tagged}
        countries = {e.name if e.type == "country" else e.country for _, _, e, facet in found if facet == "place"}
        for i, j, node in pending:
            if any(taken[i:j + 1]):
                continue
            want = ("LOC",) if node.facet == "place" else ("ORG", "PERS")
            entity = node.entity
            # after a preposition (في دوما، إلى سيول) the tagger's word is enough; without
            # one a town must have its country named too
            weak_cue = i > 0 and tokens[i - 1][6] in WORDS.weak_place_cues
            accept = (node.needs_cue == 1 and spans.get((i, j)) in want
                      and not _hamza_mismatch(tokens[i][4], entity)
                      and (node.facet != "place" or not entity.country or weak_cue or entity.country in countries))
            if accept:
                out.append((tokens[i][0], tokens[j][1], entity, node.facet))
            if accept or spans.get((i, j)) in want:  # a rejected reading is no new name for the tagger either
                taken[i:j + 1] = [True] * (j + 1 - i)
        for i, j, mention in ruled:
            if any(taken[i:j + 1]) or _named_after(tokens, i):
                continue
            entity = mention[2]
            if entity.type == "person" and fold_word(entity.name.split()[0]) not in GIVEN_NAMES:
                # a title rule alone fires on ordinary words (الفريق تلاشت تقريبا): it
                # needs the tagger to see a person there, and the tagger's bounds win
                continue
            if entity.type == "person" and i == j - len(entity.name.split()) + 1 and any(
                    kind == "PERS" and a < i <= b and b >= j and not any(taken[a:i]) and _more_of_a_name(tokens, a, i)
                    for a, b, kind in tagged):
                continue  # وياسمين عبد العزيز: the tagger's person begins before the rules' name: it is the name
            if entity.type == "person":
                # the tagger's person over the name's first word ends it: where the rules
                # ran on past the name (جورج بوش بوجود، جون كندي رفض) or stopped inside
                # it (الدكتور محمد بن حمد سيف الرمحي وزير)
                s = j - len(entity.name.split()) + 1
                end = next((b for a, b, kind in tagged if kind == "PERS" and a <= s <= b != j), None)
                if end is not None and end > j:
                    end = _name_goes_on(tokens, taken, j, end)
                if end is not None and s >= i:
                    words = entity.name.split()[:end - s + 1] + [strip_marks(tokens[k][4]) for k in range(j + 1, end + 1)]
                    entity = replace(entity, name=" ".join(words))
                    mention = (mention[0], tokens[end][1], entity, mention[3])
                    j = end
            taken[i:j + 1] = [True] * (j + 1 - i)
            out.append(mention)
        for a, b, kind, after_conjunction in _split_conjunctions(tokens, tagged):
            while a <= b and tokens[b][6] in _NAME_STOP:  # محمود أحمدي نجاد عندما: a name ends at a stop word
                b -= 1
            if a > b or any(taken[a:b + 1]) or (kind == "PERS" and (_named_after(tokens, a) or _preposition_ali(tokens, a))):
                continue
            name = self._tagged_name(tokens, a, b, after_conjunction, kind)
            if name is None:
                continue
            if kind == "LOC":
                if a == b and inflects_common_word(clitic_split(tokens[a][6])[1]):
                    continue  # صناعية، منافسين، حكومته: an inflected ordinary word is no place
                if a == b and self._hamza_of_no_known_place(tokens, a):
                    continue  # وفأس is an axe: the tagger's place is فاس written with a hamza it never has
                out.append((tokens[a][0], tokens[b][1], Entity(name, "", "place"), "place"))
            elif kind == "PERS" and a == b and _written_mostly_with_article(clitic_split(tokens[a][6])[1]):
                continue  # زيت زيتون، عريف، مؤلف: an ordinary noun, no one's name
            else:
                out.append((tokens[a][0], tokens[b][1], Entity(name, "", "person" if kind == "PERS" else "organization"), "actor"))
        return out

    def _tagged_name(self, tokens, a: int, b: int, after_conjunction: bool = False, kind: str = "") -> str | None:
        """A tagger span as a name: marks stripped, the first word's clitics removed;
        None for what is no name: words of the rules' lists alone (الريف، بلدة), ordinary
        words alone, a medium cited after its cue (صحيفة "صن"), no letters."""
        bare = [clitic_split(tokens[k][6])[1] for k in range(a, b + 1)]
        if all(w in _LIST_WORDS for w in bare):
            return None
        common = common_words()
        if all(w in common and w not in GIVEN_NAMES and not self._is_known_word(w.translate(FOLD), first=False) for w in bare) \
                and not (kind == "ORG" and len(bare) >= 3 and bare[0].removeprefix("ال") in WORDS.org_name_heads
                         and bare[1].removeprefix("ال") not in _BODY_OF):
            # a run of ordinary words (البنك المركزي، شاركنا رأيك); منظمة المؤتمر الإسلامي is a name
            return None
        if a > 0 and clitic_split(tokens[a - 1][6])[1] in WORDS.media_cues:
            return None
        words = [strip_marks(tokens[k][4]) for k in range(a, b + 1)]
        if after_conjunction:
            words[0] = words[0][1:]
        elif tokens[a][6] not in GIVEN_NAMES:  # لبنى is a name, not ل + بنى
            words[0] = strip_clitics(words[0])
        name = " ".join(words)
        if len(name) < 3 or not _LETTERS_RE.match(name.replace(" ", "")):
            return None
        return name

    def _hamza_of_no_known_place(self, tokens, i: int) -> bool:
        """Whether word i reads as a known one-word place only without a hamza it is
        written with (وفأس: فاس, Fez; ``_hamza_mismatch``)."""
        return any(node.entity is not None and node.facet == "place" and _hamza_mismatch(tokens[i][4], node.entity)
                   for node in self._starts_at(tokens, i))

    def _starts_at(self, tokens, i: int) -> list[_Node]:
        """The trie nodes word i may start a name at (cached per word)."""
        starts = self._starts.get(tokens[i][2])
        if starts is None:
            starts = [n for n in (self.root.children.get(k) for k in _text_keys(tokens[i][2], True)) if n]
            self._starts[tokens[i][2]] = starts
        return starts

    def _match_at(self, tokens, i: int):
        """(last token index, trie node) of the longest gazetteer name at token i, and of
        the longest common-word name (``~``) that lacks its cue word."""
        best = common = None
        for node in self._starts_at(tokens, i):
            j = i
            while node is not None:
                if node.entity is not None and (best is None or j > best[0]):
                    if node.needs_cue and _hamza_mismatch(tokens[i][4], node.entity):
                        pass  # المنشأة (a facility) is not the town المنشاة, cue or not
                    elif not node.needs_cue or (i > 0 and _is_cue(tokens[i - 1][6], node)):
                        best = (j, node)
                    elif common is None or j > common[0]:
                        common = (j, node)
                j += 1
                if j >= len(tokens) or tokens[j][3]:
                    break
                nxt = None
                for k in _text_keys(tokens[j][2], first=False):
                    nxt = node.children.get(k)
                    if nxt is not None:
                        break
                node = nxt
        return best, common

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
        head = None
        for form in _clitic_forms(tokens[i][6]):
            head = _FORCE_HEADS.get(form)
            if head is not None:
                break
        if head is None or i + 1 >= len(tokens) or tokens[i + 1][3]:
            return None
        nxt = tokens[i + 1][6]
        if head == "army" and _masculine(nxt) in NATIONALITIES:
            name = "الجيش " + strip_marks(tokens[i + 1][4])
            name = name[:-1] if name.endswith(("ة", "ه")) else name
            return i + 1, Entity(name, "", "state_force")
        if head in ("government", "police") and _masculine(nxt) in NATIONALITIES:
            name = ("الحكومة " if head == "government" else "الشرطة ") + strip_marks(tokens[i + 1][4])
            return i + 1, Entity(name, "", "government" if head == "government" else "state_force")
        if head in ("authorities", "organization") and _masculine(nxt) in NATIONALITIES:
            j = i + 1 if head == "authorities" else _complement_end(tokens, i + 2)
            if j is None:
                return None  # الشركة السعودية alone is a description, not a name
            words = [_head_as_named(tokens, i)] + [strip_marks(tokens[k][4]) for k in range(i + 1, j + 1)]
            return j, Entity(" ".join(words), "", "government" if head == "authorities" else "organization")
        if head == "ministry" and nxt.startswith("ال"):
            j = i + 1
            # its portfolio may go on in adjectives, also joined by و (وزارة الشؤون البلدية
            # والقروية، وزارة الخدمة المدنية، وزارة الحرس الوطني); not a day (الأربعاء) nor a
            # relative pronoun (وزارة الإسكان التي)
            while j + 1 < len(tokens) and j - i < 4 and not tokens[j + 1][3]:
                word = tokens[j + 1][6]
                word = word[1:] if word.startswith("وال") else word
                if not (word.startswith("ال") and word.endswith(("ي", "يه"))) or word in _NAME_STOP \
                        or _masculine(word) in NATIONALITIES:
                    break  # التي، الذي: a relative clause begins
                j += 1
            if j + 1 < len(tokens) and not tokens[j + 1][3] and _masculine(tokens[j + 1][6]) in NATIONALITIES:
                j += 1
            name = "وزارة " + " ".join(strip_marks(tokens[k][4]) for k in range(i + 1, j + 1))
            return j, Entity(name, "", "government")
        return None

    def _named_at(self, tokens, i):
        """A given name and one to three more words, closed by punctuation: a person."""
        if (tokens[i][6] not in GIVEN_NAMES
                or (i > 0 and not tokens[i][3] and (tokens[i - 1][6] in GIVEN_NAMES or tokens[i - 1][6] in _NAME_PARTICLES))
                or _preposition_ali(tokens, i)):
            # after بن (سلمان بن عبدالعزيز آل سعود) the given name is a father's, inside a longer name
            return None
        end = self._name_from(tokens, i)
        if end is None or not (end + 1 >= len(tokens) or _PUNCT_BREAK.search(tokens[end + 1][5])):
            return None
        name = " ".join(strip_marks(tokens[k][4]) for k in range(i, end + 1))
        return end, Entity(name, "", "person")

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
            w = tokens[k][6]
            if w in _NAME_STOP or (w in _ROLE_WORDS and not (not words and w in GIVEN_NAMES)) or not _LETTERS_RE.match(w):
                break
            if words and w[0] in "وف" and w not in GIVEN_NAMES and w not in _NAME_PARTICLES:
                break  # وكبار، ورئيس: a conjunction ends the name
            if w.startswith(_CLITIC_ARTICLE) or (w[:1] in "بل" and w[1:] in _NAME_STOP):
                break  # للعلوم، بالرياض: a preposition with the article ends it too
            if words and w[:1] in "بل" and w not in GIVEN_NAMES and clitic_split(w)[0] in ("ب", "ل"):
                break  # مصطفى عبد الله بفوز: a preposition on a word the corpora know without it
            if words and w in _NAME_PARTICLES:  # بن، أبو، آل (folded آل is ال)
                words.append(w)
                k += 1
                continue
            if w.startswith("ال") and words:
                prev = words[-1]
                if not (prev in _NAME_PARTICLES or prev in GIVEN_NAMES or (len(words) >= 2 and words[-2] in _NAME_PARTICLES)):
                    break
                words.append(w)
                k += 1
                if prev not in _NAME_PARTICLES:
                    break
                continue
            if w.startswith("ال") or (self._is_known_word(tokens[k][2], first=not words) and w not in GIVEN_NAMES):
                break
            if words and _looks_verbal(w) and w not in GIVEN_NAMES:
                break  # توني بلير يزور، محمد علي يتفقد: an imperfect verb ends the name
            words.append(w)
            k += 1
        while words and words[-1] in _NAME_PARTICLES:
            words.pop()
        if len(words) < 2:
            return None
        return j + len(words) - 1

    def _person_at(self, tokens, i: int):
        """A person introduced by a title at token i: (last token index, name)."""
        for first in _clitic_forms(tokens[i][6]):
            titles = _TITLES_BY_FIRST.get(first)
            if titles:
                break
        else:
            return None
        for title in titles:
            n = len(title)
            if i + n >= len(tokens):
                continue
            if [tokens[i + k][6] for k in range(1, n)] != title[1:] or any(tokens[i + k][3] for k in range(1, n)):
                continue
            strength = WORDS.titles[" ".join(title)]
            if strength == "org":
                return None  # "the spokesman of X": X is an organization, not a name
            j = i + n
            # up to two adjectives: الروسي، الإسرائيلي السابق
            for _ in range(2):
                if j < len(tokens) and not tokens[j][3] and tokens[j][6].startswith("ال") and (
                        tokens[j][6].endswith(("ي", "يه")) or tokens[j][6] in _TITLE_ADJECTIVES):
                    j += 1
            if strength == "weak" and (j >= len(tokens) or tokens[j][6] not in GIVEN_NAMES):
                return None
            name_end = self._name_from(tokens, j)
            if name_end is not None:
                name = " ".join(strip_marks(tokens[k][4]) for k in range(j, name_end + 1))
                return name_end, Entity(name, "", "person")
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
            seen = places if facet == "place" else actors
            known = seen.setdefault(entity.name, entity)
            if known is not entity and not set(entity.aliases) <= set(known.aliases):
                seen[entity.name] = replace(known, aliases=tuple(dict.fromkeys(known.aliases + entity.aliases)))
            if start >= offset:
                spans.append((start - offset, end - offset, facet, entity.name))
        fullest = _fullest_names(list(actors.values()))
        for short, full in fullest.items():
            actors.pop(short, None)
            actors[full.name] = full
        spans = [(a, b, facet, fullest[name].name if facet == "actor" and name in fullest else name)
                 for a, b, facet, name in spans]
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


@lru_cache(maxsize=50_000)
def _name_words(entity: Entity) -> frozenset[str]:
    """The words (folded) of a known person's name and aliases, and its first two words
    joined (عبدالفتاح for عبد الفتاح السيسي): a word before one of its aliases that is
    among them (بنيامين before نتانياهو, طيب before أردوغان) goes on the same name."""
    words = {fold_word(w) for n in (entity.name, *entity.aliases) for w in n.lstrip("~").split()}
    first = entity.name.split()
    if len(first) > 2:
        words.add(fold_word(first[0]) + fold_word(first[1]))
    return frozenset(words)


def _written_form(tokens, i: int, j: int, person: bool) -> str:
    """Tokens i..j as the article writes them: marks and tatweel stripped, the first
    word's clitics removed (وللعراق -> العراق), and, of a ``person``, the titles before
    the name (الملك عبدالله الثاني -> عبدالله الثاني)."""
    while person and j > i and tokens[i][6] in _TITLE_WORDS:
        i += 1
    words = [strip_marks(tokens[k][4]) for k in range(i, j + 1)]
    words[0] = strip_clitics(words[0])
    return " ".join(words)


def _spelling_key(name: str) -> str:
    """A name as spellings compare it: its words folded (``fold_word``); عبدالله and
    عبد الله stay two spellings."""
    return " ".join(fold_word(w) for w in WORD_RE.findall(name))


@lru_cache(maxsize=50_000)
def _spelling_keys(entity: Entity) -> frozenset[str]:
    """The spelling keys of an entity's name and aliases."""
    return frozenset(_spelling_key(n.lstrip("~")) for n in (entity.name, *entity.aliases))


def _name_goes_on(tokens, taken: list[bool], j: int, end: int) -> int:
    """How far a rule-found name ending at token j goes on into the tagger's longer
    person ending at ``end``: not into a word another pass took, nor, but after a
    particle (بن، عبد), into a given name (a second person: محمد سليمان وليد البعريني)
    or an ordinary word (محمد سلامة فيديو), nor into Latin letters (ديفيد أوين Owen)."""
    for k in range(j + 1, end + 1):
        word = clitic_split(tokens[k][6])[1]
        if taken[k] or not _LETTERS_RE.match(word) or (
                tokens[k - 1][6] not in _NAME_PARTICLES and (word in GIVEN_NAMES or word in common_words())):
            return k - 1
    return end


def _unknown_word_before(tokens, taken: list[bool], i: int) -> bool:
    """Whether word i follows, with no punctuation between, a word no pass took that is
    no ordinary word, list word or verb (جيب before بوش): the rest of a name."""
    if i == 0 or tokens[i][3] or taken[i - 1]:
        return False
    word = clitic_split(tokens[i - 1][6])[1]
    return (bool(_LETTERS_RE.match(word)) and word not in common_words() and word not in _LIST_WORDS
            and not word.startswith("ال") and not _looks_verbal(word))


def _more_of_a_name(tokens, a: int, i: int) -> bool:
    """Whether words a..i-1, just before a rule-found name, may be more of it: a given
    name (فالح، وياسمين), or a word that is no title and has no ال (القدير سمير غانم is
    no name)."""
    for k in range(a, i):
        key = tokens[k][6]
        bare = clitic_split(key)[1]
        if key in GIVEN_NAMES or bare in GIVEN_NAMES:
            continue
        if bare in _TITLE_WORDS or bare.startswith("ال") or key.startswith(_CLITIC_ARTICLE):
            return False
    return True


def _named_after(tokens, i: int) -> bool:
    """The person at token i names a facility (جامعة الملك سعود، مدينة الملك عبدالعزيز
    للعلوم): a facility head word just before, a title between them allowed."""
    k = i - 1
    while k >= 0 and not tokens[k + 1][3] and any(f in _TITLE_WORDS for f in _clitic_forms(tokens[k][6])):
        k -= 1
    if k > 0 and tokens[k][6] == "طريق" and tokens[k - 1][6] == "عن" and not tokens[k][3]:
        return False  # عن طريق مروان الشماخ: "by way of", no road
    return k >= 0 and not tokens[k + 1][3] and any(f in WORDS.facility_heads for f in _clitic_forms(tokens[k][6]))


def _complement_end(tokens, k: int) -> int | None:
    """The last token of the ل phrase that names what an organization is for, starting
    at token k (للكهرباء، لكرة القدم، للثقافة والفنون، للسياحة والتراث الوطني), or None
    where none follows."""
    if k >= len(tokens) or tokens[k][3]:
        return None
    word = tokens[k][6]
    if word.startswith("لل") and len(word) > 4:
        j = k
    elif word.startswith("ل") and k + 1 < len(tokens) and not tokens[k + 1][3] and tokens[k + 1][6].startswith("ال"):
        j = k + 1  # لكرة القدم: a noun and the noun it is joined to
    else:
        return None
    while j + 1 < len(tokens) and j - k < 4 and not tokens[j + 1][3]:
        word = tokens[j + 1][6]
        if not (word.startswith("وال") or (word.startswith("ال") and word.endswith(("ي", "يه")))) \
                or _masculine(word) in NATIONALITIES or word in _NAME_STOP:
            break  # more of the purpose joined by و, or an adjective of it (التراث الوطني)
        j += 1
    return j


def _head_as_named(tokens, i: int) -> str:
    """The head word at token i as a name writes it (``_written_form``), ة for a final ه
    (للشركه -> الشركة)."""
    word = _written_form(tokens, i, i, False)
    return word[:-1] + "ة" if word.endswith("ه") else word


def _adjective_after_definite(tokens, i: int, j: int) -> bool:
    """Whether a one-word place at token i is written as a nationality's feminine
    adjective (السعودية is Saudi Arabia and "Saudi") right after a word with the article,
    no punctuation between: an adjective agreeing with that noun (الشركة السعودية،
    للقنصلية السعودية، الخطوط الجوية السعودية), no place. After a preposition, a verb or
    a conjunction (في السعودية، زار السعودية، والسعودية) it stays the country, and so it
    does after العربية: العربية السعودية is the country's own name (إتش إس بي سي العربية
    السعودية)."""
    key = tokens[i][6]
    if j != i or i == 0 or tokens[i][3] or not key.startswith("ال") or _masculine(key) not in NATIONALITIES:
        return False
    before = _clitic_forms(tokens[i - 1][6])
    return "العربيه" not in before and any(form.startswith("ال") and len(form) > 3 for form in before)


def _preposition_ali(tokens, i: int) -> bool:
    """``علي`` as written at token i is the preposition على spelled with a dotted ya (as
    Egyptian and older texts write it: «علي شعوبنا», «علي صاحبها», «علي جانب آخر») when
    an ordinary word follows: one of the corpora's commonest, an inflection of one, or a
    word with a possessive pronoun (شعوبنا), and no given name (علي حسن، علي جمعة stay
    persons). In a text that never writes ى at a word's end (علي for على, مدي for مدى),
    so does a common word written with ي for its ى (علي مدي). Not a word with ال alone:
    such texts name علي المشاني and علي العريض too."""
    if strip_marks(tokens[i][4]) != "علي" or i + 1 >= len(tokens) or tokens[i + 1][3]:
        return False
    following = clitic_split(tokens[i + 1][6])[1]
    if following in GIVEN_NAMES:
        return False
    common = common_words()
    if following in common or inflects_common_word(following) or any(
            following.endswith(p) and len(following) - len(p) >= 3 for p in _POSSESSIVES):
        return True
    return following.endswith("ي") and following[:-1] + "ى" in common and _writes_no_maqsura(tokens)


def _writes_no_maqsura(tokens) -> bool:
    """Whether a text writes no word ending in ى (a dotted ya in its place)."""
    return not any(t[4].endswith("ى") for t in tokens)


_POSSESSIVES = ("هما", "ها", "هم", "هن", "نا", "كم")


def _hamza_mismatch(written: str, entity: Entity) -> bool:
    """The word is written with a hamza that no spelling of the name has (فأس, an axe,
    is not فاس, Fez): writers drop hamzas, they do not add them."""
    hamzas = set(written) & set("أإآ")
    return bool(hamzas) and not any(hamzas <= set(n) for n in (entity.name, *entity.aliases))


def _split_conjunctions(tokens, spans):
    """Tagger spans cut before a word whose و is a conjunction (تويوتا وجنرال موتورز,
    شبعا وكفركلا are two names each; in a person, also before و and a given name or a
    word the corpora know better without the و): (first, last, kind, whether a
    conjunction starts it). A person right after another, its first word with و, starts
    with the conjunction too (مارك فان بومل | وكلارنس سيدورف, two tagger spans)."""
    out = []
    counts = word_counts()
    person_ends = {b for _a, b, kind in spans if kind == "PERS"}
    for a, b, kind in spans:
        start = a
        first = tokens[a][6]
        joined = (kind == "PERS" and a - 1 in person_ends and not tokens[a][3] and first.startswith("و")
                  and first not in GIVEN_NAMES)
        for k in range(a + 1, b + 1):
            word = tokens[k][6]
            if not word.startswith("و") or word in GIVEN_NAMES:  # وليد، وائل are names
                continue
            if clitic_split(word)[0].startswith("و") or (
                    kind == "PERS" and len(word) > 4 and tokens[k - 1][6] not in _NAME_PARTICLES
                    and (word[1:] in GIVEN_NAMES or counts.get(word[1:], 0) > counts.get(word, 0)
                         or (not counts.get(word) and _conjunction_before_unknown(tokens, k)))):
                # inside a person, a rarer foreign name after و is the next person's too
                # (مارك فان بومل وكلارنس سيدورف), and so is a word the corpora never wrote
                # (ميتشل وكويكي سانشيز فلوريس)
                out.append((start, k - 1, kind, start > a or joined))
                start = k
        out.append((start, b, kind, start > a or joined))
    return out


def _written_mostly_with_article(key: str) -> bool:
    """Whether a word without ال (folded, no clitics) is one the corpora write with ال at
    least twice as often and 20 times or more (زيتون, الزيتون): an ordinary noun, where a
    person's name is seldom written with the article. Not a given name, nor a word in ي,
    which may be a family name written both ways (جعفري, الجعفري)."""
    if key.startswith("ال") or key.endswith("ي") or key in GIVEN_NAMES:
        return False
    counts = word_counts()
    return counts.get("ال" + key, 0) >= max(20, 2 * counts.get(key, 0))


def _conjunction_before_unknown(tokens, k: int) -> bool:
    """Whether the و of word k, a word the corpora never wrote, is a conjunction: not
    after a given name (معتز ودنان، يوسف وردانى are one person each), nor where و and
    the next letter transliterate a W (كونور ويكام، لينزي والترز، بول ووركمان)."""
    written = strip_marks(tokens[k][4])
    return tokens[k - 1][6] not in GIVEN_NAMES and written[1:2] not in ("ي", "ا", "و")


def _headed_organizations(tokens, mentions) -> list[tuple[int, int, Entity, str]]:
    """A known place right after an organization's head word (``org_heads.txt``: نادي
    بوردو، بنك إنجلترا) is one organization with it, and no place mention (as the gold
    conventions say), when punctuation or a stop word ends it. Actors after a head stay
    as they are (حركة حماس is حماس), and so does a place the name may go on past (جمعية
    مصر الخير)."""
    if not any(t[6] in _ORG_HEAD_KEYS for t in tokens):
        return mentions
    spans = _token_spans(tokens, mentions)
    taken = {k for span in spans if span is not None for k in range(span[0], span[1] + 1)}
    out = []
    for (start, end, entity, facet), span in zip(mentions, spans):
        head = span[0] - 1 if span is not None and span[0] else None
        if head is None or tokens[span[0]][3] or head in taken or facet != "place" \
                or not any(f in WORDS.org_heads for f in _clitic_forms(tokens[head][6])):
            out.append((start, end, entity, facet))
            continue
        i, j = span
        if j + 1 < len(tokens) and not tokens[j + 1][3] and tokens[j + 1][6] not in _NAME_STOP:
            # جمعية مصر الخير، شركة الشرق الأوسط لمحركات الطائرات: the name may go on past
            # the place, and no pass saw where it ends
            out.append((start, end, entity, facet))
            continue
        name = " ".join([strip_clitics(strip_marks(tokens[head][4]))] + [strip_marks(tokens[k][4]) for k in range(i, j + 1)])
        out.append((tokens[head][0], end, Entity(name, "", "organization"), "actor"))
    return out


# Every written form of an organization head, with the clitics ``_clitic_forms`` strips
# (نادي، ونادي، بنادي، وبنادي): most articles have none, and skip the pass.
_ORG_HEAD_KEYS = frozenset(c + w for w in WORDS.org_heads
                           for c in ("", "و", "ف", "ب", "ك", "ل", "وب", "وك", "ول", "فب", "فك", "فل"))


def _token_spans(tokens, mentions) -> list[tuple[int, int] | None]:
    """(first, last token) of each ``(start, end, ...)`` mention, None for one whose start
    is no token's (every pass builds its mentions from token bounds)."""
    start_of = {t[0]: k for k, t in enumerate(tokens)}
    out = []
    for mention in mentions:
        i = start_of.get(mention[0])
        if i is not None:
            j = i
            while j + 1 < len(tokens) and tokens[j + 1][1] <= mention[1]:
                j += 1
            out.append((i, j))
        else:
            out.append(None)
    return out


def _without_byline(text: str, mentions):
    """Without the writer's byline, a person named nowhere else (the gold conventions:
    no actor): one who ends the text on his own (a line or a sentence of nothing but the
    name: «المصدر / أمنة رياض», «… البلاد عامة. أشرف بن عبد السلام»), or whose name
    opens the body on a line that then gives only the outlet or the city after a dash
    (فايز الحسيكي – عين اليوم، ناصر الطميحي - جدة; further down, such lines list players
    and their clubs). ``text`` is the title, a line break and the body."""
    body = text.rstrip()
    opening = text.find("\n") + 1
    bylines = [m for m in mentions if m[3] == "actor" and m[2].type == "person"
               and _BYLINE_LINE_RE.match(text, m[1]) and not _ARABIC_LETTER_RE.search(text, opening, m[0])]
    last = max(mentions, key=lambda m: m[1], default=None)
    if last is not None and last[3] == "actor" and last[2].type == "person" and not _ANY_LETTER_RE.search(body[last[1]:]):
        before = body[:last[0]]
        boundary = max(before.rfind(c) for c in "\n.!?؟")
        if boundary >= 0 and not _ANY_LETTER_RE.search(before[boundary:]):
            bylines.append(last)
    drop = [m for m in bylines if not any(o[2].name == m[2].name for o in mentions if o not in bylines)]
    return [m for m in mentions if m not in drop] if drop else mentions


# After a byline's name: a dash, then the outlet or the city in up to three words, and
# the line's end (Latin words before the name are the page's leftovers: "Next Previous").
_BYLINE_LINE_RE = re.compile(r"[ \t]*[–—-][ \t]*[^\s.،,:]+(?:[ \t]+[^\s.،,:]+){0,2}[ \t]*(?:\n|$)")
_ARABIC_LETTER_RE = re.compile("[\u0621-\u064a]")


def _places_in_organizations(tokens, tagged, found, covered):
    """Without the known places inside the tagger's organizations whose other words are
    names (سبارتاك موسكو، دينامو كييف، ستيوا بوخارست: clubs named by their city), so
    that the organization is read whole and the place is no place mention (the gold
    conventions): (found, covered) anew. An ordinary word beside the place (حكومة
    بغداد، جامعة دمشق) leaves both as they were."""
    orgs = [(a, b) for a, b, kind in tagged if kind == "ORG" and b > a]
    if not orgs or not found:
        return found, covered
    spans = _token_spans(tokens, found)
    common = common_words()
    drop = set()
    for a, b in orgs:
        inside = [k for k, sp in enumerate(spans) if sp is not None and sp[1] >= a and sp[0] <= b]
        if len(inside) != 1 or found[inside[0]][3] != "place":
            continue
        i, j = spans[inside[0]]
        rest = [k for k in range(a, b + 1) if not i <= k <= j]
        if not rest or i < a or j > b or any(covered[k] for k in rest):
            continue
        bare = [clitic_split(tokens[k][6])[1] for k in rest]
        if all(_LETTERS_RE.match(w) and w not in common and w not in _LIST_WORDS for w in bare):
            drop.add(inside[0])
    if not drop:
        return found, covered
    covered = list(covered)
    for k in drop:
        i, j = spans[k]
        covered[i:j + 1] = [False] * (j + 1 - i)
    return [m for k, m in enumerate(found) if k not in drop], covered


def _not_places_but_persons(mentions):
    """Without the tagger's one-word places that are a word of a person the article names
    in full (هادي with عبد ربه منصور هادي, هورست with هورست زيهوفر): that word alone is
    the person, as ``_short_mentions`` then finds."""
    names = {w for _, _, e, facet in mentions if facet == "actor" and e.type == "person" and " " in e.name
             for w in (e.name.split()[0], e.name.split()[-1])}
    if not names:
        return mentions
    return [m for m in mentions if not (m[3] == "place" and m[2].type == "place" and m[2].name in names)]


def _short_mentions(tokens, mentions) -> list[tuple[int, int, Entity, str]]:
    """A person named in full once and by one of the name's words alone elsewhere (جورج
    بوش … قال بوش; عدنان الدليمي … وأضاف عدنان): the lone word is a mention of that
    person, its spelling an alias. The word must be the name's last (the family name) or
    first; no other person of the article may share it; it must be no list word or
    ordinary word (مبارك، الحسن stay words when no such person is named), a family name
    no given name (محمد علي … علي), and the lone word must not run into another unknown
    word on the side the rest of the name would be (عدنان حمدي is someone else)."""
    if not any(facet == "actor" and e.type == "person" and " " in e.name for _, _, e, facet in mentions):
        return []
    taken = [False] * len(tokens)
    owners: dict[tuple[str, str], Entity | None] = {}  # ("first" | "last", word key) -> person
    for (_start, _end, entity, facet), span in zip(mentions, _token_spans(tokens, mentions)):
        if span is None:
            continue
        i, j = span
        taken[i:j + 1] = [True] * (j + 1 - i)
        if facet == "actor" and entity.type == "person" and j > i:
            for key in (("first", clitic_split(tokens[i][6])[1]), ("last", tokens[j][6])):
                known = owners.get(key, entity)
                owners[key] = entity if known is not None and known.name == entity.name else None  # two people: neither
    common = common_words()
    words: dict[str, tuple[str, Entity] | None] = {}
    for (side, key), entity in owners.items():
        if entity is None or len(key) < 3 or key in _LIST_WORDS or key in common \
                or (side == "last" and key in GIVEN_NAMES):
            continue
        words[key] = (side, entity) if key not in words else None  # first of one, last of another: neither
    if not any(words.values()):
        return []

    def loose(k: int, step: int) -> bool:  # nothing that could continue the name at k + step
        n = k + step
        if n < 0 or n >= len(tokens):
            return True
        if tokens[max(k, n)][3]:  # punctuation between
            return True
        return tokens[n][6] in common or taken[n]

    out = []
    for k, t in enumerate(tokens):
        if taken[k]:
            continue
        key = t[6] if words.get(t[6]) else clitic_split(t[6])[1]
        hit = words.get(key)
        if hit is None:
            continue
        side, entity = hit
        if side == "first" and not loose(k, 1):
            continue
        written = strip_clitics(strip_marks(t[4])) if key != t[6] else strip_marks(t[4])
        out.append((t[0], t[1], replace(entity, aliases=tuple(dict.fromkeys(entity.aliases + (written,)))), "actor"))
    return out


def _fullest_names(actors: list[Entity]) -> dict[str, Entity]:
    """Short mentions of one actor resolved to the fullest name the article gives it:
    a person's name that begins, ends or lies inside a longer person's (رامسفيلد, دونالد
    رامسفيلد), an organization's that ends a longer one's (الليكود, حزب الليكود). Returns
    short name -> the full entity, with the short names among its aliases."""
    keyed = [(e, e.name.translate(FOLD).split()) for e in actors]
    longer: dict[str, Entity] = {}
    for e, w in keyed:
        n, best = len(w), None
        for q, qw in keyed:
            if len(qw) <= n or (q.type == "person") != (e.type == "person"):
                continue
            if e.type == "person":
                ok = qw[-n:] == w or qw[:n] == w or f" {' '.join(w)} " in f" {' '.join(qw)} "
            else:
                ok = qw[-n:] == w
            if ok and (best is None or len(qw) > len(best[1])):
                best = (q, qw)
        if best is not None:
            longer[e.name] = best[0]
    root: dict[str, Entity] = {}
    for short, full in longer.items():
        while full.name in longer:  # a chain: بوش < جورج بوش < جورج دبليو بوش
            full = longer[full.name]
        root[short] = full
    out: dict[str, Entity] = {}
    for full in {f.name: f for f in root.values()}.values():
        shorts = tuple(k for k, v in root.items() if v.name == full.name)
        merged = replace(full, aliases=tuple(dict.fromkeys(full.aliases + shorts)))
        out.update((k, merged) for k in shorts)
    return out


# Words of a title or role: they end a name (مهاب مميش رئيس هيئة قناة السويس); a given
# name among them (أمين) may still start one.
_ROLE_WORDS = frozenset(t[0] for titles in _TITLES_BY_FIRST.values() for t in titles) | WORDS.role_words


# First words of strong titles (وزير، وزيرة): a ministry named right after one is the title.
_MINISTER_WORDS = frozenset(t.split()[0] for t, strength in WORDS.titles.items() if strength == "strong" and len(t.split()) > 1)

_TITLE_WORDS = frozenset(w for t in WORDS.titles for w in t.split())

# After an organization's head word, these make a body of another one, no name of its own
# (مجلس إدارة البنك، اللجنة المنظمة للمهرجان).
_BODY_OF = frozenset(WORDS.org_name_heads | {"اداره"})

# Every word of the rules' lists: a tagger span of such words only is no name.
_LIST_WORDS = frozenset(PLACE_CUES | _TITLE_ADJECTIVES | _NAME_STOP | _NAME_PARTICLES | NATIONALITIES
                        | set(_FORCE_HEADS) | _ROLE_WORDS | WORDS.media_cues | WORDS.collectives
                        | {w for t in WORDS.titles for w in t.split()}
                        | {w[2:] for w in PLACE_CUES | WORDS.media_cues} | {"ال" + w for w in PLACE_CUES})


def _clitic_forms(key: str) -> list[str]:
    """A word-list key and its readings without a leading clitic, the article put back
    where ل took its place: بالرئيس -> الرئيس, وللرئيس -> الرئيس, ووزير -> وزير."""
    forms = [key]
    w = key
    if w[:1] in "وف" and len(w) > 3:
        w = w[1:]
        forms.append(w)
    if w.startswith("لل") and len(w) > 4:
        forms.append("ال" + w[2:])
    elif w[:1] in "بكل" and len(w) > 3:
        forms.append(w[1:])
    return forms


def _masculine(key: str) -> str:
    """الأردنية -> الاردني: nationality adjectives are listed masculine."""
    return key[:-1] if key.endswith("يه") else key


_VERB_PREFIX_RE = re.compile("^[يت][\u0621-\u064a]{3,}$")


def _looks_verbal(key: str) -> bool:
    """An imperfect verb of four letters or more (يزور، يتفقد، تلاشت is perfect and not
    caught here): a name's later words rarely begin with ي or ت."""
    return bool(_VERB_PREFIX_RE.match(key))


# Keys that may begin a rule-found actor (a title, a force head, a given name), with
# their clitic forms: other words skip the rules at once.
_FIRST_WORDS = {t[0] for t in _TITLES_BY_FIRST.values() for t in t} | set(_FORCE_HEADS) | GIVEN_NAMES
RULE_STARTS = frozenset(_FIRST_WORDS | {c + w for c in ("و", "ف", "ب", "ل", "وب", "ول", "فب", "فل") for w in _FIRST_WORDS}
                        | {c + "لل" + w[2:] for c in ("", "و", "ف") for w in _FIRST_WORDS if w.startswith("ال")})


def _is_cue(key: str, node: _Node) -> bool:
    """``key`` (the word before a common-word name) is a cue for it: a place cue (also
    with a clitic: بمحافظة، وريف), for an actor an actor cue (نادي، فريق)."""
    if node.facet == "place":
        cues = PLACE_CUES
    else:
        cues = WORDS.actor_cues
    return key in cues or (key[:1] in "وفبل" and key[1:] in cues)


def _fold_quotes(text: str) -> str:
    return text.translate(_QUOTES)


_QUOTES = str.maketrans({"“": '"', "”": '"', "«": '"', "»": '"', "„": '"', "″": '"'})
