"""Related forms (search/related.py): the 4-gram table and what it answers."""
import numpy as np
import pytest

from search.related import MIN_DICE, TOP, RelatedForms, grams, weight


@pytest.mark.parametrize("term, expected", [
    ("متزايد", {"#متز", "متزا", "تزاي", "زايد", "ايد#"}),
    ("حلب", {"#حلب", "حلب#"}),
    ("ab", {"#ab#"}),
])
def test_grams(term, expected):
    assert grams(term) == expected


VOCABULARY = ["يتزايد", "متزامن", "زايد", "متزايد", "حلبه", "حلب", "مستحاث", "مستحث", "قلعه"]


@pytest.mark.parametrize("stem, expected", [
    # 3 of 5 grams shared: Dice 0.6; زايد 2 of 3 + 5: 0.5; متزامن 2 of 5 + 5: 0.4 (kept)
    ("متزايد", [("يتزايد", 0.6), ("زايد", 0.5), ("متزامن", 0.4)]),
    ("مستحاث", [("مستحث", 4 / 9)]),  # two spellings of one word (المستحاثات / مستحثات)
    ("مستحث", [("مستحاث", 4 / 9)]),
    ("حلب", []),  # stems under four letters have no related forms: حلب never scores by حلبة
    ("قلعه", []),  # nothing alike in the vocabulary (and never itself)
    ("تزايد", [("يتزايد", 2 / 3), ("متزايد", 2 / 3), ("زايد", 4 / 7)]),  # a stem the index lacks; ties in vocabulary order
])
def test_related_forms(stem, expected):
    table = RelatedForms.from_terms(VOCABULARY)
    got = table.of(stem)
    assert [t for t, _ in got] == [t for t, _ in expected]
    assert [d for _, d in got] == pytest.approx([d for _, d in expected])


def test_at_most_top_forms_closest_first():
    vocabulary = [f"كتاب{c}" for c in "ابتثجحخدذرزسشص"] + ["كتاب"]
    got = RelatedForms.from_terms(vocabulary).of("كتاب")
    assert len(got) == TOP and all(d >= MIN_DICE for _, d in got)
    assert [d for _, d in got] == sorted((d for _, d in got), reverse=True)
    assert "كتاب" not in [t for t, _ in got]


def test_weight_never_exceeds_the_word_itself():
    assert weight(0.4) == pytest.approx(0.8)
    assert weight(0.5) == weight(0.9) == 1.0


def test_table_of_an_index(seed_gen):
    """A generation builds the table from its stemmed body vocabulary, once."""
    table = seed_gen.related_forms()
    assert seed_gen.related_forms() is table
    assert len(table.terms) > 500
    assert all(table.index.get(t) == i for i, t in enumerate(table.terms))
    assert table.rows.words == sorted(table.rows.words)  # looked up by bisection, no dict built
    for stem in table.terms[::50]:
        for form, dice in table.of(stem):
            shared = len(grams(stem) & grams(form))
            assert dice == pytest.approx(2 * shared / (len(grams(stem)) + len(grams(form))))
            assert dice >= MIN_DICE and form != stem


def test_a_table_with_grams_out_of_order_answers_the_same(tmp_path):
    """An older build saved its grams in first-seen order: looked up through a dict then,
    with the same answers as the sorted table."""
    from search.related import FILES, RelatedForms

    terms = sorted({"حلب", "حلبه", "حلبات", "موصل", "موصلي", "مستوي", "مستويات", "منتدي", "منتديات", "كتاب", "كتابه"})
    table = RelatedForms.from_terms(terms)
    table.save(tmp_path)
    grams_file, starts_file = tmp_path / FILES[1], tmp_path / FILES[3]
    words = grams_file.read_text(encoding="utf-8").split("\n")
    starts = np.load(starts_file)
    rows = [table.members[starts[r]:starts[r + 1]] for r in range(len(words))][::-1]  # reversed order
    grams_file.write_text("\n".join(words[::-1]), encoding="utf-8")
    np.save(starts_file, np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64))
    np.save(tmp_path / FILES[4], np.concatenate(rows).astype(np.int32))
    older = RelatedForms.load(tmp_path)
    assert not older.rows._sorted
    assert sum(bool(table.of(stem)) for stem in terms) >= 4
    for stem in terms + ["حلبي", "منتديات"]:
        assert older.of(stem) == table.of(stem)
