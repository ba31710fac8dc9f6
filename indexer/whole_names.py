"""Regenerate ``search/words/whole_names.txt``: place names the stemmer keeps whole.

Snowball takes the ending off many place names, and what is left is an ordinary word's
stem: الكاميرون becomes كامير, the stem of كاميرات (cameras); القاهرة becomes قاهر,
بعقوبة becomes بعقوب (بعقوبات, with sanctions), الكلابين becomes كلاب (dogs). Searching
the place then finds the word and the other way round. A place name of the gazetteer
whose stem is shared by at least ``MIN_OTHERS`` occurrences of other words in the
corpora's word counts, and by a quarter as many as the place's own forms (its name and
its adjective: سوريا and السوري, Syria and Syrian, should meet, and a few فرنسوا do not
outweigh فرنسا and الفرنسي), (``indexer/models``) is listed, as its folded form without the article; a name
that is also a common word (``~`` in the gazetteer) is not: its ordinary readings are
the commoner ones.

    python -m indexer.whole_names        # rewrites search/words/whole_names.txt
"""
from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from indexer.gazetteer import load
from indexer.tagger import word_counts
from search import arabic
from search.arabic import bare_form, light_normalize, stems

OUT = Path(__file__).resolve().parents[1] / "search" / "words" / "whole_names.txt"
MIN_OTHERS = 20  # occurrences of other words sharing the stem
MIN_WORD = 5  # a corpus word counts when it occurs this often
MIN_SHARE = 0.25  # ... and at least this share of the place's own forms' (فرنسوا beside فرنسا, الفرنسي: no)


def _own_forms(stem: str) -> set[str]:
    """The nisba adjective's forms on a place's stem (سوري, سوريين of سوريا; فرنسي of
    فرنسا): the place's own word, which should keep meeting it."""
    if stem.endswith("ي"):
        return {stem + e for e in ("", "ه", "ين", "ون", "ان", "ات")}
    return {stem + e for e in ("ي", "يه", "يين", "يون", "يان", "يات")}


def whole_names() -> list[str]:
    arabic.WHOLE_NAMES = frozenset()  # the stems Snowball gives, before any name is kept whole
    arabic._STEM_CACHE.clear()
    by_stem: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for word, n in word_counts().items():
        if n >= MIN_WORD:
            by_stem[stems(light_normalize(word))[0]].append((n, word))
    out = set()
    for entity in load().places:
        for name in (entity.name, *entity.aliases):
            if name.startswith("~") or " " in name:
                continue
            bare = bare_form(name)
            stem = stems(light_normalize(name))[0]
            if stem == bare:
                continue
            own = _own_forms(stem)
            family = others = 0
            for n, w in by_stem.get(stem, ()):
                if bare_form(w).startswith(bare) or bare_form(w) in own:
                    family += n
                else:
                    others += n
            if others >= MIN_OTHERS and others >= MIN_SHARE * family:
                out.add(bare)
    return sorted(out)


def main() -> int:
    names = whole_names()
    header = ("# Place names the stemmer keeps whole (folded, without the article): written by\n"
              "# `python -m indexer.whole_names` from the gazetteer and the corpora's word counts.\n")
    OUT.write_text(header + "\n".join(names) + "\n", encoding="utf-8")
    print(f"{len(names)} names -> {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
