"""The gazetteer: outlets, places and actors, loaded from the human-edited files here.

Every file is UTF-8 text, one entity per line, columns separated by `` | ``, lists
inside a column separated by ``;``, ``#`` starts a comment line. A name or alias written
with a leading ``~`` is also a common word: it is matched only right after a cue word
(مدينة، بلدة، ريف، نادي…). The columns of each
file are listed in ``COLUMNS`` (and in the file's header). A malformed line raises
``GazetteerError`` naming ``file:line``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from search.arabic import normalize

HERE = Path(__file__).parent

COLUMNS = {
    "outlets.txt": ("name", "en", "codes", "domains", "signatures"),
    "places.txt": ("name", "en", "kind", "country", "aliases"),
    "actors.txt": ("name", "en", "type", "aliases"),
}
LIST_COLUMNS = {"codes", "domains", "signatures", "aliases"}
PLACE_KINDS = {"country", "governorate", "city", "town", "village", "region", "sea", "river", "capital", "area", "district", "continent", "mountain"}
ACTOR_TYPES = {"armed_group", "state_force", "government", "party", "international", "coalition", "operation", "person", "organization", "militia", "media"}


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
    needs_cue: bool = False  # the name is also a common word (a leading "~" in the file)

    def as_json(self) -> dict:
        out = {"name": self.name, "en": self.en, "aliases": list(self.aliases)}
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
        if "en" in row and not row["en"]:
            raise GazetteerError(f"{where}: the English name of {row['name']!r} is empty")
        if "kind" in row and row["kind"] not in PLACE_KINDS:
            raise GazetteerError(f"{where}: unknown place kind {row['kind']!r} (one of {', '.join(sorted(PLACE_KINDS))})")
        if "type" in row and row["type"] not in ACTOR_TYPES:
            raise GazetteerError(f"{where}: unknown actor type {row['type']!r} (one of {', '.join(sorted(ACTOR_TYPES))})")
        row["_where"] = where
        rows.append(row)
    return rows


def _load(path: Path) -> list[dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise GazetteerError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    return parse_table(text, str(path))


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
        return {normalize(o.name): o for o in self.outlets}


def load(directory: Path = HERE) -> Gazetteer:
    """Load and cross-check the three files of ``directory``."""
    directory = Path(directory)
    gaz = Gazetteer()
    seen: dict[tuple[str, str], str] = {}
    for row in _load(directory / "outlets.txt"):
        gaz.outlets.append(Entity(row["name"], row["en"], "outlet", codes=row["codes"],
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
            key = (fname, normalize(row["name"].lstrip("~")))
            if key in seen:
                raise GazetteerError(f"{row['_where']}: {row['name']!r} is already defined at {seen[key]}")
            seen[key] = row["_where"]
            name = row["name"].lstrip("~").strip()
            target.append(Entity(name, row["en"], kind, aliases=row["aliases"], country=row.get("country", ""),
                                 needs_cue=row["name"].startswith("~")))
    countries = {p.name for p in gaz.places if p.type == "country"}
    for row, place in zip(place_rows, gaz.places):
        if place.country and place.country not in countries:
            raise GazetteerError(f"{row['_where']}: {place.name!r} names country {place.country!r}, which is not a country in the file")
    return gaz
