"""User query -> Whoosh query over the stemmed and exact-form fields.

Syntax: words are AND-ed; ``"quoted phrases"``; ``"two words"~5`` (within 5 positions,
any order); ``OR``, ``NOT``, ``AND`` and parentheses.
Field syntax (``title:x``), wildcards and ranges are not offered: a colon, ``*`` or ``?``
in a query is plain punctuation.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from whoosh import qparser, query
from whoosh.qparser import QueryParser

from search.arabic import ALT_SEP, analyze, light_normalize, tokenize
from search.schema import SEARCH_FIELDS

MAX_QUERY_CHARS = 1000
MAX_QUERY_WORDS = 64
MAX_PHRASE_VARIANTS = 8
NO_POSITIONS = frozenset({"title_exact", "body_exact"})


# A query with one of these words (or a question mark) is a question in natural
# language: it is ranked by any of its words instead of requiring all of them.
QUESTION_WORDS = frozenset(light_normalize(w) for w in
                           "متى كم ماذا لماذا من أين اين كيف هل ما أي اي أية ماهو ماهي بماذا لمن ممن اذكر اذكري".split())


class QueryTooLarge(ValueError):
    """A query over one of the limits; the message names the limit."""


def _term(fieldname, text, boost=1.0, **kwargs):
    """A term; a word with several clitic readings becomes an OR of them."""
    alternatives = text.split(ALT_SEP)
    if len(alternatives) == 1:
        return query.Term(fieldname, text, boost=boost, **kwargs)
    return query.Or([query.Term(fieldname, a, boost=boost, **kwargs) for a in alternatives])


def _phrase(fieldname, words, boost=1.0, slop=1, char_ranges=None, **kwargs):
    """A phrase; with ambiguous words, an OR of phrases over (a few) readings.
    ``"a b"~N`` (slop N > 1) is proximity: the words within N positions of each other,
    in any order (``near``).

    The exact-form fields keep no positions (smaller, faster index): a phrase is matched
    on the stemmed fields, where every clitic form of its words counts."""
    if fieldname in NO_POSITIONS:
        return query.NullQuery
    options = [w.split(ALT_SEP) for w in words if w]
    if not options:
        return query.NullQuery
    variants = list(itertools.islice(itertools.product(*options), MAX_PHRASE_VARIANTS))
    if slop > 1 and len(options) > 1:
        phrases = [near(fieldname, list(v), slop, boost) for v in variants]
    else:
        phrases = [query.Phrase(fieldname, list(v), slop=slop, boost=boost) for v in variants]
    return phrases[0] if len(phrases) == 1 else query.Or(phrases)


def near(fieldname: str, words: list[str], slop: int, boost: float = 1.0) -> query.Query:
    """The words within ``slop`` positions of each other, in any order (Whoosh's
    unordered span query, on the same analyzed forms as phrases)."""
    q = query.spans.SpanNear2([query.Term(fieldname, w) for w in words], slop=slop, ordered=False)
    q.boost = boost
    return q


def _make_parser(schema, group) -> QueryParser:
    parser = QueryParser(None, schema, termclass=_term, phraseclass=_phrase, group=group)
    for plugin in (qparser.FieldsPlugin, qparser.WildcardPlugin, qparser.RangePlugin,
                   qparser.SingleQuotePlugin, qparser.EveryPlugin, qparser.BoostPlugin):
        parser.remove_plugin_class(plugin)
    parser.add_plugin(qparser.MultifieldPlugin(list(SEARCH_FIELDS), fieldboosts=SEARCH_FIELDS))
    return parser


@dataclass
class ParsedQuery:
    """A parsed query and what highlighting needs to know about it."""

    text: str
    strict: query.Query  # words AND-ed
    loose: query.Query  # words OR-ed (questions, and when the strict query finds nothing)
    stems: frozenset[str]  # stems of the positive words, for snippets
    forms: frozenset[str]  # their exact (folded) forms
    question: bool = False  # phrased as a question: rank by any word
    words: tuple[query.Query, ...] = ()  # one query per distinct positive word (coordination)
    roots: tuple[str, ...] = ()  # roots of the positive words (ranking only)

    @property
    def empty(self) -> bool:
        return self.strict is query.NullQuery


_parsers: dict[int, tuple[QueryParser, QueryParser]] = {}


def parse(text: str, schema) -> ParsedQuery:
    """Parse a user query; raises QueryTooLarge when over a limit."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryTooLarge(f"query is {len(text)} characters; the limit is {MAX_QUERY_CHARS}")
    raw_words = tokenize(text)
    if len(raw_words) > MAX_QUERY_WORDS:
        raise QueryTooLarge(f"query has more than {MAX_QUERY_WORDS} words")
    parsers = _parsers.get(id(schema))
    if parsers is None:
        if len(_parsers) >= 4:  # one entry per index generation: keep the newest few
            _parsers.clear()
        parsers = _parsers[id(schema)] = (
            _make_parser(schema, qparser.AndGroup),
            _make_parser(schema, qparser.OrGroup),
        )
    positive = _positive_text(text)
    normalized = [light_normalize(w) for w in raw_words]
    question = "؟" in text or "?" in text or any(w in QUESTION_WORDS for w in normalized)
    # The parser flattens every word's field terms into one OR; ranking needs to know
    # which terms belong to which word, so each positive word is also parsed alone.
    words = []
    for word in dict.fromkeys(tokenize(positive)):
        sub = parsers[1].parse(word).normalize()
        if sub is not query.NullQuery and sub not in words:
            words.append(sub)
    if plain_words(text, raw_words):
        # only words: the whole query is its words AND-ed (OR-ed), as the parser would
        # make it (``tests/test_ranking.py`` compares the two on the corpora's titles)
        strict = query.And(words).normalize() if words else query.NullQuery
        loose = query.Or(words).normalize() if words else query.NullQuery
    else:
        strict = parsers[0].parse(text).normalize()
        loose = parsers[1].parse(text).normalize()
    return ParsedQuery(
        text=text,
        strict=strict,
        loose=loose,
        stems=frozenset(analyze(positive, stemmed=True)),
        forms=frozenset(analyze(positive, stemmed=False)),
        question=question and not any(op in text.split() for op in ("AND", "OR", "NOT")),
        words=tuple(words),
        roots=tuple(dict.fromkeys(analyze(positive, roots=True))),
    )


_OPERATORS = frozenset(("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"))


def plain_words(text: str, tokens: list[str]) -> bool:
    """Whether the query is words only, each one token: no quotes, parentheses or
    operators, nothing the tokenizer splits or drops."""
    if any(c in text for c in '"()'):
        return False
    written = text.split()
    return not _OPERATORS.intersection(written) and written == tokens


def _positive_text(text: str) -> str:
    """The query without operators and NOT-ed words (what snippets should mark)."""
    words, skip = [], False
    for word in text.replace("(", " ").replace(")", " ").split():
        if word == "NOT":
            skip = True
            continue
        if word in ("AND", "OR"):
            continue
        if not skip:
            words.append(word)
        skip = False
    return " ".join(words)
