"""Arabic text analysis: the one normalizer and the one analysis chain of Mirsad.

The chain is Lucene-shaped: tokenize -> normalize -> stop -> fold (exact field), stem
(stemmed field) or root (root field, used only in ranking). Every step is a plain
function with a table-driven test in ``tests/test_arabic.py``; the Whoosh filters at
the bottom only wrap them.

Whoosh pickles analyzers into the index, so the filters hold no state: the Snowball
and ISRI stemmers and the caches live at module level.
"""
from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

from pyarabic import araby
from whoosh.analysis import Filter, RegexTokenizer, Token, Tokenizer

# The version of the terms a text is indexed as. Raised whenever a change here gives a
# word other index terms: the builder records it, and an index built with another
# version still answers (with the stems it holds) but says it should be rebuilt
# (``Generation.analysis_current``; ``mirsad index --unless-current`` rebuilds it).
ANALYSIS_VERSION = 5

# --- character tables -------------------------------------------------------------

# Tashkeel (fatha..sukun, tanween, shadda), superscript alef, Quranic annotation marks,
# the honorific/Quranic signs above letters (U+0610-061A) and tatweel.
_MARK_CHARS = "".join(araby.TASHKEEL) + araby.MINI_ALEF + araby.TATWEEL
MARKS_RE = re.compile(
    "[" + re.escape(_MARK_CHARS) + "\u0610-\u061a\u064b-\u065f\u06d6-\u06ed\u08d3-\u08ff]"
)

_DIGITS = {e: w for e, w in zip(araby.NUMBERS_EAST, "0123456789")}
_DIGITS.update({p: w for p, w in zip(araby.NUMBERS_PERS, "0123456789")})
_DIGITS.update({"\u06f4": "4", "\u06f5": "5", "\u06f6": "6"})  # Urdu-shaped Persian digits

# Applied to every token: Persian letters and digits. ى stays until after the stop list
# (على is a stop word, the name علي is not); ة and the hamza-alefs stay until after
# Snowball, whose suffix rules need them (folding first gives المعارضة -> معارضه).
LIGHT = str.maketrans({"ی": "ي", "ک": "ك", **_DIGITS})
PRE_STEM = str.maketrans({"ى": "ي"})

# The full fold used for exact-form matching and for every stem's output.
FOLD = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ی": "ي", "ک": "ك", **_DIGITS}
)

# Module-level caches (Whoosh pickles the filters, so they must not hold them).
_CACHE_LIMIT = 500_000

ARABIC_LETTER_RE = re.compile("[\u0621-\u064a\u0671-\u06d3]")
# A word: letters/digits, with diacritics and tatweel inside it (Whoosh's default \w+
# would split المُعَارَضَة at every mark).
WORD_PATTERN = r"(?:[^\W_]|[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u08d3-\u08ff])+"
WORD_RE = re.compile(WORD_PATTERN)


_DIGIT_TABLE = str.maketrans(_DIGITS)


def fold_digits(text: str) -> str:
    """Arabic-Indic and Persian digits -> ASCII digits."""
    return text.translate(_DIGIT_TABLE)


def strip_marks(text: str) -> str:
    """Remove tashkeel, Quranic marks and tatweel."""
    return MARKS_RE.sub("", text)


_PRESENTATION_RE = re.compile("[\ufb50-\ufeff]")
_LIGHT_CACHE: dict[str, str] = {}


def light_normalize(token: str) -> str:
    """Marks stripped, presentation forms decomposed, digits to ASCII, lower case.

    Letters keep their written form (أ, ة, ى survive): this is the input the stop list
    expects.
    """
    out = _LIGHT_CACHE.get(token)
    if out is None:
        out = token
        if _PRESENTATION_RE.search(out):
            out = unicodedata.normalize("NFKC", out)
        out = strip_marks(out).translate(LIGHT).lower()
        if len(_LIGHT_CACHE) < _CACHE_LIMIT:
            _LIGHT_CACHE[token] = out
    return out


def fold(text: str) -> str:
    """The full orthographic fold: أ إ آ ٱ -> ا, ى -> ي, ة -> ه, ی ک -> ي ك, digits."""
    return strip_marks(text).translate(FOLD).lower()


def normalize(text: str) -> str:
    """Fold a whole text or name for comparison: marks, letters, digits, spaces."""
    if _PRESENTATION_RE.search(text):
        text = unicodedata.normalize("NFKC", text)
    return " ".join(fold(text).split())


def tokenize(text: str) -> list[str]:
    """The words of a text, as written."""
    return WORD_RE.findall(text)


# --- stop words -------------------------------------------------------------------
# Checked on light-normalized forms, *before* folding, as Lucene does: على (on) is a
# stop word, علي (the name Ali) is not, although both fold to علي.
_STOP_TEXT = """
في فى من إلى الى الي إلي على عن مع عند لدى لدي حتى منذ مذ خلال بين بعد قبل حول ضد دون
عبر نحو لدى تحت فوق أمام امام وراء بين ضمن إثر اثر جراء
و ف ثم أو او أم ام بل لكن لكنّ لكن ولكن إلا الا غير سوى
أن إن ان أنّ إنّ كأن لأن لان لكي كي لو لولا إذا اذا إذ اذ إذن لقد قد لم لن لا ما ليس ليست
هل أي اي أين اين متى كيف كم ماذا لماذا لما مما ممن عما عمن فيم بم أيّ أية اية
هو هي هم هن هما أنا انا نحن أنت انت أنتم انتم أنتما انتن
هذا هذه هذان هاتان هؤلاء ذلك تلك ذلكم أولئك اولئك هنا هناك هنالك
الذي التي الذين اللذان اللتان اللاتي اللواتي اللائي
كان كانت كانوا يكون تكون أصبح اصبح صار ظل
له لها لهم لهن لنا لي لك لكم به بها بهم فيه فيها فيهم منه منها منهم عنه عنها عنهم
عليه عليها عليهم إليه اليه إليها اليها إليهم اليهم معه معها معهم
كل بعض أي جميع كلا كلتا نفس ذات
إنه انه إنها انها أنه أنها
وفي وفى ومن وعلى وعن وإلى والى ومع وهو وهي وهذا وهذه وذلك وأن وان وإن ولا وما وقد ولم ولن
فقد فإن فان فهو فهي فلا فما كما بما لما
يا أيها ايها
ال اسم عدد اذكر اذكري ماهو ماهي
"""
STOP_WORDS = frozenset(light_normalize(w) for w in _STOP_TEXT.split())


def is_stop(token: str) -> bool:
    """True for a function word or a lone Arabic letter (the ب of بـ«جيش»).

    A final ى where the stop word has ي (Egyptian التى, الذى) is the same word. Only
    that direction: على is a stop word, the name علي is not."""
    if token in STOP_WORDS:
        return True
    if len(token) == 1:
        return ARABIC_LETTER_RE.match(token) is not None
    return token[-1] == "ى" and token[:-1] + "ي" in STOP_WORDS


# --- stemming ---------------------------------------------------------------------

_ARTICLE_RE = re.compile("^(?:[وف]?[بك]?ال|[وف]?لل)")
_CLITICS = "وفبكل"
_TWO_CLITICS = frozenset(a + b for a in "وف" for b in "بكل")
_FINAL_HAMZA = str.maketrans({"أ": "ء", "إ": "ء", "ؤ": "ء", "ئ": "ء"})
_HAMZA_SEATS = str.maketrans({"ؤ": "و", "ئ": "ي"})

_snowball = None  # module level: Whoosh pickles filters, and a Stemmer does not pickle
_STEM_CACHE: dict[str, tuple[str, ...]] = {}


def _snowball_stem(word: str) -> str:
    global _snowball
    if _snowball is None:
        try:
            import Stemmer  # PyStemmer, the C backend

            _snowball = Stemmer.Stemmer("arabic").stemWord
        except ImportError:  # pragma: no cover - pure-Python fallback
            import snowballstemmer

            _snowball = snowballstemmer.stemmer("arabic").stemWord
    return _snowball(word)


def _post_fold(stem: str) -> str:
    """Fold a stem's output the way Snowball folds its own: final hamza to ء, seats
    inside the word, then the common fold."""
    if stem and stem[-1] in "أإؤئ":
        stem = stem[:-1] + stem[-1].translate(_FINAL_HAMZA)
    return stem.translate(_HAMZA_SEATS).translate(FOLD)


def _whole_names() -> frozenset[str]:
    """``words/whole_names.txt``: place names kept whole (``indexer.whole_names``)."""
    path = Path(__file__).with_name("words") / "whole_names.txt"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


WHOLE_NAMES = _whole_names()


def bare_form(word: str) -> str:
    """A word folded as a stem is, without its article or clitic + article (بالقاهرة ->
    قاهره): what ``WHOLE_NAMES`` lists."""
    w = light_normalize(word).translate(PRE_STEM)
    m = _ARTICLE_RE.match(w)
    return _post_fold(w[m.end():] if m and len(w) - m.end() >= 3 else w)


def _noun_stem(bare: str) -> str:
    """Stem a word already free of its clitics (the caller removed و ف ب ك ل ال).

    Every clitic form reaches Snowball as the same bare word, so all conflate. Words of
    four letters or fewer keep their letters, so حلبة stays apart from حلب.

    Snowball is trusted with suffixes only. Clitics are removed by our rule, so letters
    it takes from the front of the bare word are put back: it reads the و of وزارة, the
    ب of برنامج, the ف of فريق, the س of سيارات and the كال of كاليفورنيا as clitics
    (وزارة -> زار, سيارات -> يارا). On a word without the article it removes only the
    ت of ات and of the dual تين/تان; the rest of the ending goes too, so تشريعات and
    تشريعية share a stem, and المعاهدتين and معاهدة, unless three letters would be left
    (والحلبات is not حلب). A stem of three letters is kept only when it starts the word
    (بحلبة -> حلب is not). A place name whose stem would be an ordinary word's
    (``WHOLE_NAMES``: الكاميرون is not كاميرات) stays whole.
    """
    whole = _post_fold(bare)
    if len(bare) < 5 or whole in WHOLE_NAMES:
        return whole
    stem = _post_fold(_snowball_stem(bare))
    if not whole.startswith(stem):
        at = whole.find(stem)
        if at > 0:
            stem = whole[:at + len(stem)]
    if len(stem) >= 5 and ((whole.endswith("ات") and stem == whole[:-1])
                           or (whole.endswith(("تين", "تان")) and stem == whole[:-2])):
        stem = stem[:-1]
    if len(stem) >= 4 or (len(stem) == 3 and whole.startswith(stem)):
        return stem
    return whole


def stems(token: str) -> tuple[str, ...]:
    """The stem(s) of one light-normalized token, most likely first.

    A clitic reading that is ambiguous yields every reading, indexed at the same
    position: للبنان is ل + لبنان, للموصل is ل + ال + موصل; بحلب may be ب + حلب.
    Latin words and numbers are returned as they are.
    """
    cached = _STEM_CACHE.get(token)
    if cached is not None:
        return cached
    if not ARABIC_LETTER_RE.search(token):
        result: tuple[str, ...] = (token,)
    else:
        result = _arabic_stems(token.translate(PRE_STEM))
        if token.endswith("ى"):
            result = _alef_maqsura(token, result)
    if len(_STEM_CACHE) < _CACHE_LIMIT:
        _STEM_CACHE[token] = result
    return result


def _arabic_stems(word: str) -> tuple[str, ...]:
    out: list[str] = []
    m = _ARTICLE_RE.match(word)
    if m and len(word) - m.end() >= 3:
        rest = word[m.end():]
        out.append(_noun_stem(rest))
        if m.group().endswith("لل"):
            out.append(_noun_stem("ل" + rest))  # ل + لبنان, ل + ال + لاجئين
        elif m.group().endswith("كال"):
            out.append(_noun_stem(word[m.end() - 3:]))  # (و)كاليفورنيا, not ك + ال + يفورنيا
    elif len(word) <= 3:
        out.append(_post_fold(word))  # وصل stays وصل
    else:
        out.append(_noun_stem(word))
        if word[:2] in _TWO_CLITICS and len(word) - 2 >= 3:
            out.append(_noun_stem(word[2:]))
        if word[0] in _CLITICS and len(word) - 1 >= 3:
            out.append(_noun_stem(word[1:]))
    return tuple(dict.fromkeys(out))


def _alef_maqsura(token: str, result: tuple[str, ...]) -> tuple[str, ...]:
    """A word written with a final alef maqsura (مستوى) also reads as its stem with the ي
    kept: Snowball takes that ي for a nisba ending (مستو), while the plural and the dual
    keep it (مستويات, مستويين -> مستوي), so without the second reading the singular never
    meets them. The first reading stays: the ya-spelled singular (Egyptian مستوي) and the
    nisba keep finding it. Only when Snowball removed just that letter, from a stem of four
    letters or more (مستشفى, منتدى, ملتقى; not مبنى, kept whole anyway)."""
    main = result[0]
    folded = _post_fold(token.translate(PRE_STEM))
    if len(main) >= 4 and folded.endswith(main + "ي"):
        return (main, main + "ي", *result[1:])
    return result


def stem(token: str) -> str:
    """The first (most likely) stem of a token, after light normalization."""
    return stems(light_normalize(token))[0]


# surface word -> (stems, exact form), both empty for a stop word: the whole chain
# (normalize -> stop -> stem or fold) for one word, computed once per written form.
# Every analysis path below goes through it.
_WORD_CACHE: dict[str, tuple[tuple[str, ...], str]] = {}


def _word_terms(word: str) -> tuple[tuple[str, ...], str]:
    entry = _WORD_CACHE.get(word)
    if entry is None:
        tok = light_normalize(word)
        entry = ((), "") if not tok or is_stop(tok) else (stems(tok), tok.translate(FOLD))
        if len(_WORD_CACHE) < _CACHE_LIMIT:
            _WORD_CACHE[word] = entry
    return entry


# --- roots ------------------------------------------------------------------------
# ISRI (Taghva et al. 2005, NLTK's implementation) reduces a word to its root: اعتقد,
# يعتقد and معتقدات all give عقد, forms no stem of Snowball's joins. Roots join too
# much to decide what matches (الموصل and وصل share one); they only add to the score
# of a document that matches anyway (``search.engine``). ISRI normalizes hamzas
# itself and needs ة for its suffix rules: it gets the light-normalized word, and
# its output is folded like a stem.
def _isri_stemmer():
    """NLTK's ISRIStemmer without running ``nltk/__init__``, which imports most of NLTK
    (and SciPy when it is installed: 1.4 s of every ``mirsad search``). The two packages
    above the module are stand-ins for the time of the import, so a later ``import nltk``
    still gets the real package."""
    if "nltk" in sys.modules:
        from nltk.stem.isri import ISRIStemmer
        return _plain_patterns(ISRIStemmer())
    import importlib.util
    import types

    spec = importlib.util.find_spec("nltk")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("nltk is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    stand_ins = {}
    for name, path in (("nltk", root), ("nltk.stem", root / "stem")):
        module = types.ModuleType(name)
        module.__path__ = [str(path)]
        stand_ins[name] = sys.modules[name] = module
    try:
        from nltk.stem.isri import ISRIStemmer
        return _plain_patterns(ISRIStemmer())
    finally:
        for name in stand_ins:
            if sys.modules.get(name) is stand_ins[name]:
                del sys.modules[name]


def _plain_patterns(stemmer):
    """ISRI's three character-class patterns compiled by ``re``: NLTK 3.10 wraps its
    patterns in ``nltk.redos`` (the ``regex`` engine with a timeout per call), which
    made roots a tenth of a build's analysis. A character class cannot backtrack, so
    the timeout guards nothing here; the patterns are NLTK's own, recompiled."""
    for name in ("re_short_vowels", "re_hamza", "re_initial_hamza"):
        pattern = getattr(stemmer, name)
        setattr(stemmer, name, re.compile(pattern.pattern))
    return stemmer


_ISRI = _isri_stemmer()
_ROOT_CACHE: dict[str, str] = {}


def root(token: str) -> str:
    """The folded ISRI root of a light-normalized token."""
    out = _ROOT_CACHE.get(token)
    if out is None:
        out = _ISRI.stem(token.translate(PRE_STEM)).translate(FOLD) or token.translate(FOLD)
        if len(_ROOT_CACHE) < _CACHE_LIMIT:
            _ROOT_CACHE[token] = out
    return out


_WORD_ROOT_CACHE: dict[str, str] = {}


def _word_root(word: str) -> str:
    """The root of a written word; "" for a stop word."""
    out = _WORD_ROOT_CACHE.get(word)
    if out is None:
        out = root(light_normalize(word)) if _word_terms(word)[1] else ""
        if len(_WORD_ROOT_CACHE) < _CACHE_LIMIT:
            _WORD_ROOT_CACHE[word] = out
    return out


def analyze(text: str, stemmed: bool = True, roots: bool = False) -> list[str]:
    """Index terms of a text in order, as the analyzers produce them (for tests, queries
    and snippets; alternatives of one word are all included). ``roots``: the root
    field's terms instead."""
    terms: list[str] = []
    for word in tokenize(text):
        if roots:
            r = _word_root(word)
            if r:
                terms.append(r)
            continue
        alternatives, exact = _word_terms(word)
        if stemmed:
            terms.extend(alternatives)
        elif exact:
            terms.append(exact)
    return terms


class JoinedText(str):
    """Texts joined by a line break (a document's title and body in the root field) that
    keeps its parts: ``search.term_ids`` reads each part's words, which the parts' own
    fields read already, instead of the whole text anew."""

    parts: tuple[str, ...] = ()

    @classmethod
    def of(cls, *parts: str) -> "JoinedText":
        joined = cls("\n".join(parts))
        joined.parts = parts
        return joined


# --- Whoosh filters ---------------------------------------------------------------


class LightNormalizeFilter(Filter):
    """tokens -> light_normalize (marks, digits, presentation forms, lower case)."""

    def __call__(self, tokens):
        for t in tokens:
            t.text = light_normalize(t.text)
            if t.text:
                yield t


class ArabicStopFilter(Filter):
    """Drops stop words, keeping the positions of the words around them."""

    def __call__(self, tokens):
        for t in tokens:
            if not is_stop(t.text):
                yield t


class FoldFilter(Filter):
    """tokens -> fold (the exact-form field)."""

    def __call__(self, tokens):
        for t in tokens:
            t.text = t.text.translate(FOLD)
            yield t


class RootFilter(Filter):
    """tokens -> root (the root field)."""

    def __call__(self, tokens):
        for t in tokens:
            t.text = root(t.text)
            yield t


# Joins the readings of one query word into one token; search.query splits it into an
# OR (a term) or into phrase variants (a phrase).
ALT_SEP = "\x1f"


class ArabicStemFilter(Filter):
    """tokens -> stems; ambiguous clitic readings share the token's position when
    indexing, and travel as one ALT_SEP-joined token in a query."""

    def __call__(self, tokens):
        for t in tokens:
            alternatives = stems(t.text)
            if t.mode == "query":
                t.text = ALT_SEP.join(alternatives)
                yield t
                continue
            t.text = alternatives[0]
            yield t
            for alt in alternatives[1:]:
                t.text = alt
                yield t


class ArabicTokenizer(Tokenizer):
    """The whole chain (tokenize -> light_normalize -> stop -> fold or stem) in one loop.

    Token for token the same as the filters above (``chain_analyzer``; tested on corpus
    text), without a generator per filter: Whoosh spends a good part of indexing in the
    analyzer, and this halves that part.
    """

    roots = False  # a class default: indexes pickled before the root field lack the attribute

    def __init__(self, stemmed: bool = True, roots: bool = False):
        self.stemmed = stemmed
        self.roots = roots

    def __eq__(self, other):
        return self.__class__ is other.__class__ and (self.stemmed, self.roots) == (other.stemmed, other.roots)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        query = mode == "query"
        stemmed = self.stemmed
        for pos, match in enumerate(WORD_RE.finditer(value) if tokenize else [_Whole(value)]):
            alternatives, exact = _word_terms(match.group())
            if not exact:  # a stop word
                continue
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = match.group()
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar = start_char + match.start()
                t.endchar = start_char + match.end()
            if self.roots:
                t.text = _word_root(match.group())
                yield t
                continue
            if not stemmed:
                t.text = exact
                yield t
                continue
            if query:
                t.text = ALT_SEP.join(alternatives)
                yield t
                continue
            for alt in alternatives:
                t.text = alt
                yield t


class _Whole:
    """A match-like wrapper for tokenize=False: the whole value is one word."""

    def __init__(self, value: str):
        self.value = value

    def group(self) -> str:
        return self.value

    def start(self) -> int:
        return 0

    def end(self) -> int:
        return len(self.value)


def chain_analyzer(stemmed: bool = True, roots: bool = False):
    """The analysis chain as separate Whoosh filters (the reference for ArabicTokenizer)."""
    last = RootFilter() if roots else ArabicStemFilter() if stemmed else FoldFilter()
    return RegexTokenizer(WORD_PATTERN) | LightNormalizeFilter() | ArabicStopFilter() | last


def stem_analyzer():
    """The analyzer of the stemmed fields (title, body)."""
    return ArabicTokenizer(stemmed=True)


def exact_analyzer():
    """The analyzer of the exact-form fields (title_exact, body_exact)."""
    return ArabicTokenizer(stemmed=False)


def root_analyzer():
    """The analyzer of the root field (title and body together, ranking only)."""
    return ArabicTokenizer(stemmed=False, roots=True)
