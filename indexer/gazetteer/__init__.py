"""The gazetteer: outlets, places and actors, loaded from the human-edited files here.

Every file is UTF-8 text, one entity per line, columns separated by `` | ``, lists
inside a column separated by ``;``, ``#`` starts a comment line. A name or alias written
with a leading ``~`` is also a common word: it is matched only right after a cue word
(مدينة، بلدة، ريف، نادي…). The columns of each
file are listed in ``COLUMNS`` (and in the file's header). A malformed line raises
``GazetteerError`` naming ``file:line``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from search.arabic import light_normalize, normalize

HERE = Path(__file__).parent
WORDS = HERE / "words"

COLUMNS = {
    "outlets.txt": ("name", "en", "codes", "domains", "signatures", "aliases"),
    "places.txt": ("name", "en", "kind", "country", "aliases"),
    "actors.txt": ("name", "en", "type", "aliases"),
}
LIST_COLUMNS = {"codes", "domains", "signatures", "aliases"}
PLACE_KINDS = {"country", "governorate", "city", "town", "village", "region", "sea", "river", "capital", "area", "district", "continent", "mountain"}
ACTOR_TYPES = {"armed_group", "state_force", "government", "party", "international", "coalition", "operation", "person", "organization", "militia", "media"}


def cue_level(name: str) -> int:
    """How a gazetteer name that is also a common word is recognized: 0 (not one: always
    a name), 1 (``~name``: after a cue word, a place after a preposition too, or where
    the tagger reads these words as a name), 2 (``~~name``, a very common word: only
    after a cue word)."""
    return 2 if name.startswith("~~") else 1 if name.startswith("~") else 0


_MEDIAL_YA = re.compile("ى(?=[\u0621-\u064a])")


class GazetteerError(ValueError):
    """A malformed gazetteer line: ``file:line: message``."""


@dataclass(frozen=True)
class Entity:
    name: str
    en: str
    type: str  # outlet | a place kind | an actor type
    aliases: tuple[str, ...] = ()
    country: str = ""  # places: canonical Arabic name of the country
    codes: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    signatures: tuple[str, ...] = ()
    needs_cue: int = 0  # the name is also a common word: 1 for a leading "~", 2 for "~~" (see cue_level)

    def as_json(self) -> dict:
        out = {"name": self.name, "en": self.en, "aliases": [a.lstrip("~") for a in self.aliases]}
        if self.type != "outlet":
            out["kind" if self.country or self.type in PLACE_KINDS else "type"] = self.type
        if self.country:
            out["country"] = self.country
        return out


def parse_table(text: str, filename: str) -> list[dict]:
    """Rows of a gazetteer file as dicts of its columns."""
    columns = COLUMNS[Path(filename).name]
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        where = f"{filename}:{lineno}"
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in line.split("|")]
        if len(cells) != len(columns):
            raise GazetteerError(f"{where}: expected {len(columns)} columns ({' | '.join(columns)}), found {len(cells)}")
        row = {}
        for col, cell in zip(columns, cells):
            row[col] = tuple(v.strip() for v in cell.split(";") if v.strip()) if col in LIST_COLUMNS else cell
        if not row["name"]:
            raise GazetteerError(f"{where}: the name column is empty")
        for name in (row["name"], *row.get("aliases", ())):
            if _MEDIAL_YA.search(name):
                raise GazetteerError(f"{where}: {name!r} has ى inside a word (a typing error for ي)")
        if "en" in row and not row["en"]:
            raise GazetteerError(f"{where}: the English name of {row['name']!r} is empty")
        if "kind" in row and row["kind"] not in PLACE_KINDS:
            raise GazetteerError(f"{where}: unknown place kind {row['kind']!r} (one of {', '.join(sorted(PLACE_KINDS))})")
        if "type" in row and row["type"] not in ACTOR_TYPES:
            raise GazetteerError(f"{where}: unknown actor type {row['type']!r} (one of {', '.join(sorted(ACTOR_TYPES))})")
        row["_where"] = where
        rows.append(row)
    return rows


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise GazetteerError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def _load(path: Path) -> list[dict]:
    return parse_table(_read(path), str(path))


@dataclass
class Gazetteer:
    outlets: list[Entity] = field(default_factory=list)
    places: list[Entity] = field(default_factory=list)
    actors: list[Entity] = field(default_factory=list)

    @cached_property
    def outlet_by_code(self) -> dict[str, Entity]:
        return {c.lower(): o for o in self.outlets for c in o.codes}

    @cached_property
    def outlet_by_name(self) -> dict[str, Entity]:
        return {normalize(n): o for o in self.outlets for n in (o.name, *o.aliases)}


def load(directory: Path = HERE) -> Gazetteer:
    """Load and cross-check the three files of ``directory``."""
    directory = Path(directory)
    gaz = Gazetteer()
    seen: dict[tuple[str, str], str] = {}
    for row in _load(directory / "outlets.txt"):
        gaz.outlets.append(Entity(row["name"], row["en"], "outlet", aliases=row["aliases"], codes=row["codes"],
                                  domains=row["domains"], signatures=row["signatures"]))
    place_rows: list[dict] = []
    for fname, target in (("places.txt", gaz.places), ("actors.txt", gaz.actors)):
        path = directory / fname
        if not path.exists():
            continue
        rows = _load(path)
        if fname == "places.txt":
            place_rows = rows
        for row in rows:
            kind = row.get("kind") or row.get("type")
            # one name may stand for two entities (عمان: Oman; عمّان: Amman), not twice for one
            key = (fname, normalize(row["name"].lstrip("~")), row["en"])
            if key in seen:
                raise GazetteerError(f"{row['_where']}: {row['name']!r} is already defined at {seen[key]}")
            seen[key] = row["_where"]
            name = row["name"].lstrip("~").strip()
            target.append(Entity(name, row["en"], kind, aliases=row["aliases"], country=row.get("country", ""),
                                 needs_cue=cue_level(row["name"])))
    countries = {p.name for p in gaz.places if p.type == "country"}
    for row, place in zip(place_rows, gaz.places):
        if place.country and place.country not in countries:
            raise GazetteerError(f"{row['_where']}: {place.name!r} names country {place.country!r}, which is not a country in the file")
    return gaz


# --- word lists -------------------------------------------------------------------

# The one fold of every word list and of the text words compared with them: marks,
# digits and alef forms folded, teh marbuta to heh, but ى kept apart from ي, so the
# preposition على never equals the name علي (the full fold used for gazetteer names
# makes them one word).
_WORD_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه"})


def fold_word(word: str) -> str:
    """A word as the word lists compare it (``على`` and ``علي`` stay apart)."""
    return light_normalize(word).translate(_WORD_FOLD)


# file -> (columns, allowed values of the second column or None)
WORD_FILES = {
    "place_cues.txt": (("word",), None),
    "titles.txt": (("title", "strength"), {"strong", "weak", "org"}),
    "title_adjectives.txt": (("word",), None),
    "name_stops.txt": (("word",), None),
    "name_particles.txt": (("word",), None),
    "nationalities.txt": (("word",), None),
    "force_heads.txt": (("word", "kind"), {"army", "ministry", "government", "police", "authorities", "organization"}),
    "given_names.txt": (("word",), None),
    "role_words.txt": (("word",), None),
    "media_cues.txt": (("word",), None),
    "weak_place_cues.txt": (("word",), None),
    "actor_cues.txt": (("word",), None),
    "facility_heads.txt": (("word",), None),
    "org_heads.txt": (("word",), None),
    "org_name_heads.txt": (("word",), None),
    "collectives.txt": (("word",), None),
}


@dataclass(frozen=True)
class WordLists:
    """The extraction rules' word lists, each entry folded by ``fold_word``.

    A list entry ending in ي also matches the Egyptian spelling with a final ى
    (سامي / سامى), unless that spelling is a name stop word (على).
    """
    place_cues: frozenset[str]
    titles: dict[str, str]  # folded title (words joined by a space) -> strength
    title_adjectives: frozenset[str]
    name_stops: frozenset[str]
    name_particles: frozenset[str]
    nationalities: frozenset[str]
    force_heads: dict[str, str]  # folded word -> kind
    given_names: frozenset[str]
    role_words: frozenset[str]
    media_cues: frozenset[str]
    weak_place_cues: frozenset[str]
    actor_cues: frozenset[str]
    facility_heads: frozenset[str]
    org_heads: frozenset[str]
    org_name_heads: frozenset[str]
    collectives: frozenset[str]


def parse_words(text: str, filename: str) -> list[tuple[str, ...]]:
    """Rows of a word-list file, folded; a malformed or repeated entry raises
    ``GazetteerError`` naming ``file:line``."""
    columns, allowed = WORD_FILES[Path(filename).name]
    rows: list[tuple[str, ...]] = []
    seen: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        where = f"{filename}:{lineno}"
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = tuple(c.strip() for c in line.split("|"))
        if len(cells) != len(columns):
            raise GazetteerError(f"{where}: expected {len(columns)} columns ({' | '.join(columns)}), found {len(cells)}")
        entry = " ".join(fold_word(w) for w in cells[0].split())
        if not entry:
            raise GazetteerError(f"{where}: the {columns[0]} column is empty")
        if allowed is not None and cells[1] not in allowed:
            raise GazetteerError(f"{where}: unknown {columns[1]} {cells[1]!r} (one of {', '.join(sorted(allowed))})")
        if entry in seen:
            raise GazetteerError(f"{where}: {cells[0]!r} is already listed at {seen[entry]}")
        seen[entry] = where
        rows.append((entry, *cells[1:]))
    return rows


def load_words(directory: Path = WORDS) -> WordLists:
    """Load and validate the word lists of ``directory``."""
    directory = Path(directory)
    table: dict[str, list[tuple[str, ...]]] = {}
    for name in WORD_FILES:
        table[name[:-4]] = parse_words(_read(directory / name), str(directory / name))
    stops = frozenset(r[0] for r in table["name_stops"])

    def with_variants(entries):
        out = set()
        for e in entries:
            out.add(e)
            if e.endswith("ي") and e[:-1] + "ى" not in stops:
                out.add(e[:-1] + "ى")
        return out

    def words(name):
        return frozenset(with_variants(r[0] for r in table[name]))

    def mapping(name):
        return {v: r[1] for r in table[name] for v in with_variants([r[0]])}

    return WordLists(
        place_cues=words("place_cues"), titles=mapping("titles"), title_adjectives=words("title_adjectives"),
        name_stops=stops, name_particles=words("name_particles"), nationalities=words("nationalities"),
        force_heads=mapping("force_heads"), given_names=words("given_names"), role_words=words("role_words"),
        media_cues=words("media_cues"), weak_place_cues=words("weak_place_cues"), actor_cues=words("actor_cues"),
        facility_heads=words("facility_heads"),
        org_heads=words("org_heads"), org_name_heads=words("org_name_heads"), collectives=words("collectives"),
    )
