"""Table-driven tests of each step of the Arabic analysis chain."""
import pickle

import pytest

from search.arabic import (analyze, exact_analyzer, fold, is_stop, light_normalize, normalize,
                           stem_analyzer, stems, strip_marks, tokenize)


@pytest.mark.parametrize("text, words", [
    ("المُعَارَضَة السورية", ["المُعَارَضَة", "السورية"]),  # diacritics do not split a word
    ("بـ«جيش الإسلام»، لـ«الشرق الأوسط»", ["بـ", "جيش", "الإسلام", "لـ", "الشرق", "الأوسط"]),
    ("#حلب_تحترق اليوم", ["حلب", "تحترق", "اليوم"]),
    ("CNN و BBC عام 2018", ["CNN", "و", "BBC", "عام", "2018"]),
    ("١١ أكتوبر ٢٠١٧", ["١١", "أكتوبر", "٢٠١٧"]),
    ("“درع الفرات”", ["درع", "الفرات"]),
])
def test_tokenize(text, words):
    assert tokenize(text) == words


@pytest.mark.parametrize("raw, out", [
    ("المُعَارَضَة", "المعارضة"),  # fatha, damma, kasra... stripped
    ("مُحَمَّدٌ", "محمد"),  # shadda and tanween
    ("الرحمٰن", "الرحمن"),  # superscript alef
    ("بـــيروت", "بيروت"),  # tatweel
    ("صلى الله عليه وسلم ﷺ", "صلى الله عليه وسلم ﷺ"),  # letters untouched
])
def test_strip_marks(raw, out):
    assert strip_marks(raw) == out


@pytest.mark.parametrize("raw, out", [
    ("أحمد", "احمد"), ("إدلب", "ادلب"), ("آمن", "امن"), ("ٱلله", "الله"),  # alef forms
    ("مستشفى", "مستشفي"), ("على", "علي"),  # alef maksura
    ("حماة", "حماه"), ("المعارضة", "المعارضه"),  # teh marbuta
    ("ایران", "ايران"), ("کرکوک", "كركوك"),  # Persian ya and kaf
    ("٢٠١٤", "2014"), ("۲۰۱۴", "2014"),  # Arabic-Indic and Persian digits
    ("BBC", "bbc"),
])
def test_fold(raw, out):
    assert fold(raw) == out


@pytest.mark.parametrize("raw, out", [
    ("عَلَى", "عَلَى".replace("َ", "")), ("ﻻ", "لا"), ("٢٠١٧", "2017"), ("CNN", "cnn"),
])
def test_light_normalize_keeps_letters(raw, out):
    assert light_normalize(raw) == out


@pytest.mark.parametrize("word, stop", [
    ("في", True), ("فى", True), ("على", True), ("متى", True), ("كم", True), ("ماذا", True),
    ("الذي", True), ("ب", True),  # a lone letter left by بـ«
    ("التى", True), ("الذى", True), ("لدى", True),  # Egyptian final ى for ي
    ("علي", False),  # the name Ali is not the preposition على
    ("الموصل", False), ("داعش", False),
])
def test_stop_words(word, stop):
    assert is_stop(light_normalize(word)) is stop


@pytest.mark.parametrize("group", [
    ["الموصل", "بالموصل", "والموصل", "للموصل", "وبالموصل", "فالموصل", "وللموصل", "كالموصل"],
    ["إدلب", "ادلب", "بإدلب", "وإدلب", "لإدلب"],
    ["حماة", "حماه", "بحماة"],
    ["مستشفى", "مستشفي", "المستشفى", "بالمستشفى"],
    ["المُعَارَضَة", "المعارضة", "معارضة", "والمعارضة"],
    ["٢٠١٤", "2014"],
    ["اللاجئين", "اللاجئون", "لاجئ", "للاجئين", "لاجئين"],
    ["لبنان", "للبنان", "ولبنان"],
    ["تركيا", "لتركيا", "وتركيا"],
    ["الانتخابات", "انتخابات", "والانتخابات"],
    ["الوزير", "وزير"],
    # Snowball takes letters from the front of a clitic-free word; they are put back
    ["وزارة", "الوزارة", "بوزارة", "وزارات"],  # not زار
    ["سيارة", "السيارات", "سيارات", "بالسيارة"],  # not يارا
    ["البرنامج", "برنامج", "وبرنامج"],
    ["فريق", "الفريق", "فريقين", "فريقاً"],
    ["كاليفورنيا", "بكاليفورنيا", "لكاليفورنيا", "وكاليفورنيا"],  # كال is also a word's start
    # ات and the dual lose their whole ending, with or without the article
    ["تشريعات", "التشريعات", "تشريعية"],
    ["معاهدة", "المعاهدتين", "معاهدات"],
    # a final alef maqsura keeps its ي as a second reading: the plural and dual meet it
    ["مستوى", "مستويات", "المستويات", "مستويين", "بالمستوى", "مستوي"],
    ["منتدى", "منتديات", "المنتديات", "المنتدى"],
    ["ملتقى", "ملتقيات", "الملتقيات", "للملتقى"],
    ["مستشفى", "مستشفيات", "المستشفيات", "مستشفي"],
    # a place name kept whole still meets its clitic and spelling forms
    ["الكاميرون", "بالكاميرون", "والكاميرون", "للكاميرون"],
    ["الديوانية", "بالديوانية", "الديوانيه", "والديوانية"],
    ["بعقوبة", "ببعقوبة", "وبعقوبة", "بعقوبه"],
])
def test_clitic_and_spelling_forms_conflate(group):
    """Every written form shares a stem with the bare form (the query side)."""
    bare = set(stems(light_normalize(group[0])))
    for form in group[1:]:
        assert bare & set(stems(light_normalize(form))), (group[0], form, stems(light_normalize(form)))


@pytest.mark.parametrize("a, b", [
    ("الموصل", "وصل"),  # short words keep their letters: وصل is not و + صل
    ("حلب", "حلبة"),  # a four-letter word is not stripped of its ة
    ("حلب", "والحلبات"),  # nor a longer one down to three letters
    ("حلب", "بحلبة"),  # Snowball's own prefix stripping does not reach a root
    ("زار", "الوزارة"),  # visited / the ministry: Snowball reads the و of وزارة as a clitic
    ("زار", "وزارات"),
    ("سوريا", "السورية"),
    ("علي", "على"),
    # place names kept whole (search/words/whole_names.txt): not the ordinary word Snowball leaves
    ("الكاميرون", "كاميرات"),  # Cameroon / cameras
    ("القرارة", "القرارات"),  # an Algerian town / decisions
    ("المنشاة", "منشآت"),  # an Egyptian town / facilities
    ("الديوانية", "الديوان"),
    ("الرمادي", "الرماد"),  # Ramadi / the ash
    ("مايوت", "مايو"),  # Mayotte / May
    ("الكلابين", "الكلاب"),  # a town / the dogs
])
def test_precision_pairs_do_not_conflate(a, b):
    sa = set(stems(light_normalize(a))) if not is_stop(light_normalize(a)) else set()
    sb = set(stems(light_normalize(b))) if not is_stop(light_normalize(b)) else set()
    assert not sa & sb


@pytest.mark.parametrize("word, expected", [
    ("وزارة", "وزار"),  # Snowball alone: زار
    ("السيارات", "سيار"),  # Snowball alone on سيارات: يارا
    ("فريقين", "فريق"),  # Snowball alone: ريق
    ("تشريعات", "تشريع"),  # Snowball alone: تشريعا
    ("المعاهدتين", "معاهد"),  # Snowball alone on معاهدتين: معاهدت
    ("والحلبات", "حلبا"),  # the ات rule never leaves three letters: not حلب
    ("وصل", "وصل"),
    ("مستوى", "مستو"),  # the first reading stays Snowball's (the ya-spelled مستوي meets it)
])
def test_first_stem(word, expected):
    assert stems(light_normalize(word))[0] == expected


@pytest.mark.parametrize("word, expected", [
    ("مستوى", ("مستو", "مستوي")), ("المنتدى", ("منتد", "منتدي")), ("ملتقى", ("ملتق", "ملتقي")),
    ("مستشفى", ("مستشف", "مستشفي")),
    ("مبنى", ("مبني",)),  # four letters: kept whole already
    ("مستويات", ("مستوي",)), ("مستوي", ("مستو",)), ("عسكري", ("عسكر",)),  # no ى: one reading
])
def test_alef_maqsura_readings(word, expected):
    assert stems(light_normalize(word)) == expected


def test_short_words_keep_their_letters():
    assert stems(light_normalize("وصل")) == ("وصل",)


@pytest.mark.parametrize("word, expected", [
    ("يعتقد", "عقد"), ("اعتقد", "عقد"), ("والمعتقدات", "عقد"),  # forms Snowball keeps apart
    ("الكتاب", "كتب"), ("مكتبة", "كتب"), ("يكتبون", "كتب"),
    ("المُعَارَضَة", "عرض"),  # marks stripped before ISRI, which needs the ة
    ("الأمريكية", "امر"), ("آمن", "امن"),  # the root is folded like a stem (أ آ -> ا)
    ("مستشفى", "شفي"),  # ى -> ي before ISRI, as before Snowball
    ("حلب", "حلب"), ("كأس", "كاس"),  # three letters stay
    ("٢٠١٤", "2014"), ("CNN", "cnn"),
    ("على", None), ("فى", None), ("التي", None),  # stop words have no root
])
def test_roots(word, expected):
    assert analyze(word, roots=True) == ([expected] if expected else [])


@pytest.mark.parametrize("kind", ["stem", "exact", "root"])
@pytest.mark.parametrize("mode", ["index", "query"])
def test_fused_tokenizer_equals_the_filter_chain(seeds_dir, kind, mode):
    from search.arabic import chain_analyzer, root_analyzer

    text = "".join(p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt")))
    text += " المُعَارَضَة للبنان فى على ٢٠١٤ CNN #حلب_تحترق بـ«جيش ﻻ"
    analyzer = {"stem": stem_analyzer, "exact": exact_analyzer, "root": root_analyzer}[kind]()
    fused = [(t.text, t.pos, t.startchar, t.endchar)
             for t in analyzer(text, positions=True, chars=True, mode=mode)]
    chain = [(t.text, t.pos, t.startchar, t.endchar)
             for t in chain_analyzer(kind == "stem", roots=kind == "root")(text, positions=True, chars=True, mode=mode)]
    assert fused == chain and len(fused) > 1000


def test_analyzers_agree_with_analyze():
    text = "وأفادت بأن عمليات التحرير في الموصل"
    assert [t.text for t in stem_analyzer()(text)] == analyze(text, stemmed=True)
    assert [t.text for t in exact_analyzer()(text)] == analyze(text, stemmed=False)


def test_analyzer_keeps_positions_across_stop_words():
    positions = [(t.text, t.pos) for t in exact_analyzer()("هروب عناصر من الموصل", positions=True)]
    assert positions == [("هروب", 0), ("عناصر", 1), ("الموصل", 3)]


def test_ambiguous_clitic_readings_share_a_position():
    toks = [(t.text, t.pos) for t in stem_analyzer()("للبنان", positions=True)]
    assert {p for _, p in toks} == {0} and len(toks) == 2


@pytest.mark.parametrize("text, stemmed, expected", [
    ("هروب عناصر من الموصل", False, {"هروب": [0], "عناصر": [1], "الموصل": [3]}),  # من stopped, keeps its place
    ("بالموصل والموصل", True, {"موصل": [0, 1]}),
    ("للبنان", True, {"لبنان": [0], "بنان": [0]}),  # both clitic readings at one position
    ("المُعَارَضَة والمعارضة", False, {"المعارضه": [0], "والمعارضه": [1]}),
    ("المُعَارَضَة والمعارضة", True, {"معارض": [0, 1]}),  # diacritics and و+ال: one stem
    ("فى على التى ٢٠١٤", True, {"2014": [3]}),
    ("", True, {}),
])
def test_term_positions(text, stemmed, expected):
    assert term_positions(text, stemmed) == expected


def term_positions(text: str, stemmed: bool = True, roots: bool = False) -> dict[str, list[int]]:
    """Each index term of ``text`` with its positions, from ``search.term_ids``."""
    from search import term_ids

    return _positions(text, term_ids.ROOT if roots else term_ids.STEM if stemmed else term_ids.EXACT)


@pytest.mark.parametrize("kind", ["stem", "exact", "root"])
def test_term_positions_equal_the_analyzer(seeds_dir, kind):
    """The one-pass indexing path groups exactly the analyzer's tokens."""
    from search.arabic import root_analyzer

    text = "".join(p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt")))
    analyzer = {"stem": stem_analyzer, "exact": exact_analyzer, "root": root_analyzer}[kind]()
    grouped: dict[str, list[int]] = {}
    for t in analyzer(text, positions=True):
        grouped.setdefault(t.text, []).append(t.pos)
    assert term_positions(text, kind == "stem", roots=kind == "root") == grouped and len(grouped) > 300


@pytest.mark.parametrize("kind", ["stem", "exact", "root"])
def test_term_positions_of_joined_texts(seeds_dir, kind):
    """A document's title and body joined (the root field's value) have the terms of the
    whole text, read from each part's own words, which its fields read already."""
    from search.arabic import JoinedText

    texts = [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))]
    for title, body in [(texts[0].split("\n")[0], texts[1]), ("", texts[2]), (texts[3], ""), (texts[4], texts[4])]:
        whole = term_positions(title + "\n" + body, kind == "stem", roots=kind == "root")
        assert term_positions(JoinedText.of(title, body), kind == "stem", roots=kind == "root") == whole


def test_term_ids_survive_forgetting_the_words(corpus_records, monkeypatch):
    """Past its limit the word table begins again, before a text and never between a
    title and its body: the terms and positions stay the same."""
    from search import term_ids
    from search.arabic import JoinedText

    records = corpus_records[:200]
    columns = (term_ids.STEM, term_ids.EXACT, term_ids.ROOT)
    want = [_positions(JoinedText.of(r["title"], r["body"]), c) for r in records for c in columns]
    forgot = []
    monkeypatch.setattr(term_ids, "_WORD_LIMIT", 500)  # less than most articles' characters
    monkeypatch.setattr(term_ids, "_forget_words", lambda real=term_ids._forget_words: forgot.append(1) or real())
    assert [_positions(JoinedText.of(r["title"], r["body"]), c) for r in records for c in columns] == want
    assert len(forgot) > 100


def _positions(text, column) -> dict[str, list[int]]:
    from search import term_ids

    ids, positions = term_ids.term_ids(text, column)
    out: dict[str, list[int]] = {}
    for t, p in zip(ids.tolist(), positions.tolist()):
        out.setdefault(term_ids.TERMS[t], []).append(p)
    return out


def test_index_formats_write_what_whoosh_writes(corpus_records):
    """ArabicPositions/ArabicFrequency give Whoosh's own postings, on corpus articles;
    the root field's joined title and body too."""
    from whoosh.formats import Frequency, Positions

    from search.arabic import JoinedText
    from search.schema import build_schema

    schema = build_schema()
    for rec in corpus_records[::10]:
        title, body = rec.get("title") or "", rec.get("body") or ""
        for name, reference, text in (("title", Positions(), title), ("body", Positions(), body),
                                      ("title_exact", Frequency(), title), ("body_exact", Frequency(), body),
                                      ("root", type(schema["root"].format).__mro__[1](), JoinedText.of(title, body))):
            field = schema[name]
            ours = sorted(field.format.word_values(text, field.analyzer, mode="index"))
            assert ours == sorted(reference.word_values(str(text), field.analyzer, mode="index")), (rec["id"], name)


def test_analyzers_pickle():
    """Whoosh pickles the analyzer into the index: it must survive a round trip."""
    for make in (stem_analyzer, exact_analyzer):
        clone = pickle.loads(pickle.dumps(make()))
        assert [t.text for t in clone("بالموصل")] == [t.text for t in make()("بالموصل")]


def test_normalize_names():
    assert normalize("  الجيشُ   السوريّ ") == "الجيش السوري"


def test_whole_names_are_what_the_generator_writes():
    """``search/words/whole_names.txt`` is reproducible from the gazetteer and the corpora's
    word counts (``python -m indexer.whole_names``), and each name is its own stem."""
    from search import arabic
    from search.arabic import WHOLE_NAMES, _noun_stem

    from indexer.whole_names import whole_names

    saved, cache = arabic.WHOLE_NAMES, dict(arabic._STEM_CACHE)
    try:
        assert whole_names() == sorted(WHOLE_NAMES)
    finally:
        arabic.WHOLE_NAMES = saved
        arabic._STEM_CACHE.clear()
        arabic._STEM_CACHE.update(cache)
    assert {"كاميرون", "قراره", "منشاه", "ديوانيه", "بعقوبه"} <= WHOLE_NAMES
    assert all(_noun_stem(name) == name for name in WHOLE_NAMES)
    assert not {"سوريا", "العراق", "فرنسا", "موصل", "حلب"} & WHOLE_NAMES  # a place and its adjective still meet

