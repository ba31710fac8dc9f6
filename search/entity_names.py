"""Entity-aware search: a query that is the name of a known place or actor.

Outlets write the same actor differently (داعش, تنظيم الدولة, الدولة الإسلامية) and readers
type English names (Mosul, Erdogan, ISIS). The extraction already resolved every mention
to one facet value, so a query that *is* one of an entity's names — its Arabic name, an
alias or its English label, as the generation's labels hold them — also matches the
documents tagged with that entity (``search.engine``), and is ranked by all its names.

Names are compared folded: Arabic marks, tatweel, alef forms, alef maqsura, teh marbuta
and a leading ال of each word as the shared scorer folds them; Latin letters without case
or accents.
"""
from __future__ import annotations

import json
import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path

from search.store import fresh_file

_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ی": "ي", "ک": "ك"})
_PUNCT = re.compile(r"[\"'«»“”()\[\].,،:;؛!?؟\-_/]+")
FACETS = ("place", "actor")  # a query names these; outlets and countries are filters
# Saved with a generation (``save``): folding 260k names takes 2 s. One sorted line per
# name, ``key<TAB>pairs as JSON``, looked up by bisection: parsing the whole table as one
# JSON object (OLD_FILE, what earlier builds wrote, still read) took 0.2 s of every CLI call.
FILE = "table-entity-names.tsv"
OLD_FILE = "table-entity-names.json"


def name_key(text: str) -> str:
    """A name folded for comparison (``الموصل`` = ``موصل``; ``Erdoğan`` = ``erdogan``)."""
    text = unicodedata.normalize("NFKD", _PUNCT.sub(" ", text))
    text = "".join(c for c in text if not unicodedata.combining(c) or "\u0600" <= c <= "\u06ff")
    words = _MARKS.sub("", text).translate(_FOLD).casefold().split()
    return " ".join(w[2:] if w.startswith("ال") and len(w) > 3 else w for w in words)


@dataclass
class EntityNames:
    """folded name -> the (facet, value) pairs it names: a dict (``from_labels``) or the
    saved table's sorted lines (``load``)."""

    table: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    lines: list[str] | None = None

    @property
    def by_key(self) -> dict[str, list[tuple[str, str]]]:
        """The whole table as a dict (the lines parsed: for tests and merges, not lookups)."""
        if self.lines is None:
            return self.table
        out = {}
        for line in self.lines:
            key, pairs = line.split("\t", 1)
            out[key] = [tuple(p) for p in json.loads(pairs)]
        return out

    @classmethod
    def from_labels(cls, labels: dict[str, dict[str, dict]]) -> "EntityNames":
        """From a generation's labels: ``{facet: {value: {"ar", "en", "aliases"?, "type"?}}}``.
        A person's English family name alone (Erdogan) names them too, when no other
        person of the labels has it."""
        table: dict[str, list[tuple[str, str]]] = {}
        surnames: dict[str, list[tuple[str, str]]] = {}
        for facet in FACETS:
            for value, label in sorted(labels.get(facet, {}).items()):  # one order, however the labels were merged
                for name in (value, label.get("ar", ""), label.get("en", ""), *label.get("aliases", ())):
                    key = name_key(name) if name else ""
                    if len(key) >= 2 and (facet, value) not in table.get(key, ()):
                        table.setdefault(key, []).append((facet, value))
                en = name_key(label.get("en", "")).split()
                if label.get("type") == "person" and len(en) > 1 and len(en[-1]) > 3:
                    surnames.setdefault(en[-1], []).append((facet, value))  # Erdogan, Putin
        for key, owners in surnames.items():
            if len(owners) == 1 and key not in table:  # two people called Assad: neither
                table[key] = owners
        return cls(table)

    def save(self, directory: Path) -> None:
        table = self.by_key
        lines = (f"{key}\t{json.dumps(table[key], ensure_ascii=False, separators=(',', ':'))}" for key in sorted(table))
        fresh_file(Path(directory) / FILE).write_text("\n".join(lines), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "EntityNames | None":
        """The saved table, or None when the generation has none."""
        try:
            text = (Path(directory) / FILE).read_text(encoding="utf-8")
            return cls(lines=text.split("\n") if text else [])
        except OSError:
            pass
        try:  # an earlier build's one JSON object
            return cls(json.loads((Path(directory) / OLD_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    def lookup(self, text: str) -> list[tuple[str, str]]:
        """The entities ``text`` names as a whole (none for a longer or other query)."""
        key = name_key(text)
        if self.lines is None:
            return [tuple(pair) for pair in self.table.get(key, ())]
        at = bisect_left(self.lines, key + "\t")  # a tab sorts before every character of a key
        if at < len(self.lines) and self.lines[at].startswith(key + "\t"):
            return [tuple(pair) for pair in json.loads(self.lines[at].split("\t", 1)[1])]
        return []
