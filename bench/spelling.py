"""`python -m bench.spelling INDEX`: how often the suggester finds the word a typo came from.

100 misspellings made from the 2,000 commonest indexed word forms of five letters or more
(one insertion, deletion, substitution or transposition each, seeded; a misspelling that
is itself an indexed form is skipped), looked up with the generation's speller; prints
how many got the right word back and the time per lookup. Not part of `make test`.
"""
from __future__ import annotations

import argparse
import random
import sys
import time

from search.index import IndexHandle

LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"


def typo(rng: random.Random, word: str) -> str:
    kind, i = rng.randrange(4), rng.randrange(len(word))
    if kind == 0:
        return word[:i] + rng.choice(LETTERS) + word[i:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    if kind == 2:
        return word[:i] + rng.choice(LETTERS.replace(word[i], "")) + word[i + 1:]
    i = min(i, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("index", help="an index directory")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--http", action="store_true",
                    help="also search each misspelling through /api/search of `mirsad serve` (client-measured)")
    args = ap.parse_args(argv)
    gen = IndexHandle(args.index).get()
    speller = gen.speller(wait=True)
    counts = dict(gen.store.term_counts("body_exact"))
    common = sorted((w for w in counts if len(w) >= 5), key=lambda w: -counts[w])[:2000]
    rng = random.Random(args.seed)
    cases = []
    while len(cases) < args.count:
        word = rng.choice(common)
        wrong = typo(rng, word)
        if wrong != word and wrong not in counts:
            cases.append((word, wrong))
    t = time.perf_counter()
    right = sum(speller.closest(wrong) == word for word, wrong in cases)
    ms = (time.perf_counter() - t) * 1000 / len(cases)
    print(f"{right} of {len(cases)} misspellings get the right word back ({ms:.2f} ms a lookup; "
          f"{speller.words:,} forms in the speller)")
    if args.http:
        from bench.speed import http  # noqa: PLC0415 - only this option serves the index

        answers: dict = {}
        latency = http(args.index, [wrong for _word, wrong in cases], clients=1, workers=3, rounds=1, answers=answers)
        corrected = sum(bool((answers.get(wrong) or {}).get("corrected")) for _word, wrong in cases)
        print(f"through /api/search: p50 {latency['p50_ms']} ms, p95 {latency['p95_ms']} ms, "
              f"{latency['errors']} errors; {corrected} answered with their correction's results")
    return 0


if __name__ == "__main__":
    sys.exit(main())
