"""`make eval-entities`: the name tagger and the whole extraction on ANERcorp.

1. Mention-level P/R/F1 per type (PERS, ORG, LOC) of the shipped tagger on ``test.conll``.
2. ``mirsad extract`` on ``test-articles.jsonl`` scored by ``../shared/tools/score_entities.py``
   against ``test-gold.jsonl`` (places vs LOC, actors vs PERS + ORG).
3. The seeds against ``../shared/gold/seeds.jsonl``.

``--folds K`` cross-validates on train.conll instead: K contiguous folds, each scored
by a model trained on the others, the scorer's counts summed (``--models DIR`` keeps
the fold models there and reuses them, to compare changes that need no retraining).

``--dev`` instead trains a model on the first 90% of ``train.conll`` and scores both
ways on the last 10%, made into pseudo-articles of 20 sentences like the test split's:
what every choice of the tagger and the combination was measured on (the test split is
read only for the report, never for choosing).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from indexer.extract import Extractor
from indexer.tagger import MODEL, spans, strip_clitics
from indexer.train_tagger import PARAMS, examples, mention_scores, print_scores, read_conll, tag_all, train

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MIRSAD_SHARED", ROOT.parent / "shared"))
ANER = SHARED / "ner" / "anercorp"
SCORER = SHARED / "tools" / "score_entities.py"
_ATTACH = set(".,،:;؛!?؟)]»\"")


def pseudo_articles(sentences, size: int = 20) -> tuple[list[dict], list[dict]]:
    """(articles, gold) from CoNLL sentences, ``size`` sentences an article, in the
    layout of ANERcorp's test-articles.jsonl / test-gold.jsonl."""
    articles, gold = [], []
    for n in range(0, len(sentences), size):
        lines, places, actors = [], [], []
        for sentence in sentences[n:n + size]:
            words = [t for t, _ in sentence]
            tags = [tag for _, tag in sentence]
            line = ""
            for w in words:
                line += w if (not line or w in _ATTACH) else " " + w
            lines.append(line)
            for a, b, kind in spans(tags):
                # clitics off the first word, as in test-gold.jsonl (وسوريا -> سوريا)
                name = " ".join([strip_clitics(words[a])] + words[a + 1:b + 1])
                target = places if kind == "LOC" else actors if kind in ("PERS", "ORG") else None
                if target is not None and name not in target:
                    target.append(name)
        doc_id = f"dev-{n // size:03d}"
        articles.append({"id": doc_id, "title": "", "body": "\n".join(lines)})
        gold.append({"id": doc_id, "outlet": "", "places": places, "actors": actors})
    return articles, gold


def write_jsonl(path: Path, rows) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def score(gold: Path, articles: Path, env: dict | None = None, show: bool = False) -> str:
    extracted = subprocess.run([sys.executable, str(ROOT / "mirsad.py"), "extract", str(articles)],
                               check=True, capture_output=True, text=True, cwd=ROOT, env=env).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        f.write(extracted)
    out = subprocess.run([sys.executable, str(SCORER), str(gold), f.name], check=True, capture_output=True,
                         text=True).stdout
    os.unlink(f.name)
    return out if show else "\n".join(line for line in out.splitlines() if not line.startswith("  "))


_COUNTS = re.compile(r"^(places|actors): .*\(tp=(\d+) fp=(\d+) fn=(\d+)\)", re.M)


def cross_validate(folds: int, models: Path | None = None, show: bool = False,
                   params: dict | None = None) -> None:
    """The scorer's counts summed over ``folds`` folds of train.conll."""
    extractor = Extractor(tagger=None)
    sentences = read_conll(ANER / "train.conll")
    totals = {"places": [0, 0, 0], "actors": [0, 0, 0]}
    size = -(-len(sentences) // folds)
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(folds):
            held = sentences[k * size:(k + 1) * size]
            model = (models or Path(tmp)) / f"fold{k + 1}of{folds}.crfsuite"
            if not model.exists():
                model.parent.mkdir(parents=True, exist_ok=True)
                train(examples(sentences[:k * size] + sentences[(k + 1) * size:], extractor), model,
                      params or PARAMS)
            articles, gold = pseudo_articles(held)
            write_jsonl(Path(tmp) / "articles.jsonl", articles)
            write_jsonl(Path(tmp) / "gold.jsonl", gold)
            out = score(Path(tmp) / "gold.jsonl", Path(tmp) / "articles.jsonl",
                        env=dict(os.environ, MIRSAD_TAGGER_MODEL=str(model)), show=show)
            if show:
                print(out)
            for facet, *counts in _COUNTS.findall(out):
                totals[facet] = [x + int(c) for x, c in zip(totals[facet], counts)]
            print(f"fold {k + 1}/{folds} done", file=sys.stderr)
    print(f"{folds}-fold cross-validation on train.conll, score_entities.py:")
    for facet, (tp, fp, fn) in totals.items():
        p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
        print(f"{facet}: precision={p:.3f} recall={r:.3f} f1={2 * p * r / max(p + r, 1e-9):.3f} (tp={tp} fp={fp} fn={fn})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.eval_entities", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dev", action="store_true", help="train on 90%% of train.conll, score on the other 10%%")
    ap.add_argument("--show", action="store_true", help="list the scorer's misses and extras")
    ap.add_argument("--folds", type=int, default=0, help="cross-validate on train.conll in this many folds")
    ap.add_argument("--models", type=Path, help="with --folds: keep the fold models in this folder and reuse them")
    ap.add_argument("--c1", type=float, default=PARAMS["c1"], help="with --folds: the CRF's L1 weight (default: %(default)s)")
    ap.add_argument("--c2", type=float, default=PARAMS["c2"], help="with --folds: the CRF's L2 weight (default: %(default)s)")
    args = ap.parse_args(argv)
    if args.folds:
        cross_validate(args.folds, args.models, args.show, dict(PARAMS, c1=args.c1, c2=args.c2))
        return 0
    extractor = Extractor(tagger=None)
    if args.dev:
        sentences = read_conll(ANER / "train.conll")
        cut = int(len(sentences) * 0.9)
        with tempfile.TemporaryDirectory() as tmp:
            model = Path(tmp) / "dev.crfsuite"
            train(examples(sentences[:cut], extractor), model)
            dev = examples(sentences[cut:], extractor)
            print(f"tagger, mention level, dev split ({len(dev)} sentences of train.conll):")
            print_scores(mention_scores([d[3] for d in dev], tag_all(model, dev)))
            articles, gold = pseudo_articles(sentences[cut:])
            write_jsonl(Path(tmp) / "dev-articles.jsonl", articles)
            write_jsonl(Path(tmp) / "dev-gold.jsonl", gold)
            print(f"\nextraction on {len(articles)} dev pseudo-articles, score_entities.py:")
            print(score(Path(tmp) / "dev-gold.jsonl", Path(tmp) / "dev-articles.jsonl",
                        env=dict(os.environ, MIRSAD_TAGGER_MODEL=str(model)), show=args.show))
        return 0
    test = examples(read_conll(ANER / "test.conll"), extractor)
    print(f"tagger ({MODEL.relative_to(ROOT)}), mention level, ANERcorp test ({len(test)} sentences):")
    print_scores(mention_scores([d[3] for d in test], tag_all(MODEL, test)))
    print("\nextraction on ANERcorp test-articles.jsonl, score_entities.py against test-gold.jsonl:")
    print(score(ANER / "test-gold.jsonl", ANER / "test-articles.jsonl", show=args.show))
    print("seeds, score_entities.py against gold/seeds.jsonl:")
    print(score(SHARED / "gold" / "seeds.jsonl", SHARED / "seeds", show=args.show))
    return 0


if __name__ == "__main__":
    sys.exit(main())
