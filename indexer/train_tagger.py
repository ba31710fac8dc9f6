"""Train the name tagger (``indexer/models/ner.crfsuite``) from ANERcorp: ``make train-tagger``.

    python -m indexer.train_tagger ../shared/ner/anercorp/train.conll [--corpus NEWS.jsonl.gz ...]
                                   [--dev 0.1] [--out MODEL]

With ``--corpus`` the word counts and word clusters the features use are first rebuilt
from those news corpora (``indexer/models/wordfreq.tsv.gz``, ``clusters.tsv.gz``).

Each CoNLL sentence is joined with spaces and read back through the extractor's own
tokenizer, so the tagger is trained on exactly the tokens it tags; a word inherits the
tag of the CoNLL token it comes from (MISC is left out: Mirsad has no facet for it). The
features include what the gazetteer and the rules find in the sentence
(``Extractor.feature_tags``, with the tagger off). Training is deterministic (L-BFGS from
zeros), so the same data and parameters give the same model.

``--dev F`` holds out the last fraction F of the sentences, trains on the rest and prints
mention-level P/R/F1 per type on it: that is how the parameters below were chosen; the
shipped model is trained on the whole train split with them. The test split is never read.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import Counter
from pathlib import Path

from indexer.extract import Extractor, tokenize
from indexer.gazetteer import fold_word
from indexer.tagger import CLUSTERS, LEXICON, MODEL, TYPES, Features, Tagger, spans
from search.arabic import WORD_RE

# c1 and c2 chosen on a 10% dev split of train, max_iterations by 5-fold cross-validation on
# train (README, "Facets: outlets, places, actors").
PARAMS = {"c1": 0.05, "c2": 0.05, "max_iterations": 300, "feature.possible_transitions": True,
          "feature.minfreq": 1}


def _corpus_texts(corpora: list[Path]):
    """Title and body of every record of JSONL(.gz) corpora, one string each."""
    for path in corpora:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            for line in f:
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                yield f"{d.get('title') or ''}\n{d.get('body') or ''}"


def _write_gz(path: Path, text: str) -> None:
    """Gzip ``text`` to ``path`` with no name or time in the header: the same data give
    the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
        f.write(text.encode("utf-8"))


def build_lexicon(corpora: list[Path], out: Path, min_count: int = 5) -> list[str]:
    """Count every word (folded by ``fold_word``) of the corpora's titles and bodies;
    write those seen ``min_count`` times or more, most frequent first. Returns them."""
    written: Counter = Counter()
    for text in _corpus_texts(corpora):
        written.update(WORD_RE.findall(text))
    counts: Counter = Counter()
    for word, n in written.items():
        counts[fold_word(word)] += n
    rows = sorted(((w, n) for w, n in counts.items() if n >= min_count), key=lambda x: (-x[1], x[0]))
    _write_gz(out, "".join(f"{w}\t{n}\n" for w, n in rows))
    return [w for w, _ in rows]


def build_clusters(corpora: list[Path], vocabulary: list[str], out: Path, words: int = 60_000,
                   contexts: int = 3_000, dims: int = 100) -> None:
    """Distributional word clusters: for the ``words`` commonest words, counts of their
    left and right neighbours among the ``contexts`` commonest, weighted by positive PMI,
    reduced by SVD to ``dims`` dimensions, clustered by k-means into 64 classes and each
    of those into 8 (seeded: the same corpora give the same clusters)."""
    import numpy as np
    from scipy import sparse  # the "train" extra: only make train-tagger needs scipy
    from scipy.cluster.vq import kmeans2
    from scipy.sparse.linalg import svds

    index = {w: i for i, w in enumerate(vocabulary[:words])}
    n = len(index)
    ids: list[int] = []
    seen: dict[str, int] = {}
    for text in _corpus_texts(corpora):
        for line in text.split("\n"):
            for w in WORD_RE.findall(line):
                k = seen.get(w)
                if k is None:
                    k = seen[w] = index.get(fold_word(w), n)
                ids.append(k)
            ids.append(n)  # a line break: no neighbours across it
    a = np.array(ids, dtype=np.int64)
    left, right = a[:-1], a[1:]
    blocks = []
    for word, ctx in ((left, right), (right, left)):  # right neighbours, then left ones
        m = (word < n) & (ctx < contexts)
        blocks.append(sparse.coo_matrix((np.ones(int(m.sum())), (word[m], ctx[m])), shape=(n, contexts)))
    counts = sparse.hstack(blocks).tocoo()
    total = counts.sum()
    rows, cols = np.asarray(counts.sum(1)).ravel(), np.asarray(counts.sum(0)).ravel()
    pmi = np.log(counts.data * total / (rows[counts.row] * cols[counts.col]))
    keep = pmi > 0
    ppmi = sparse.csr_matrix((pmi[keep], (counts.row[keep], counts.col[keep])), shape=counts.shape)
    u, s, _ = svds(ppmi, k=dims, random_state=0)
    x = u * np.sqrt(s)
    x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-9
    _, coarse = kmeans2(x, 64, minit="++", seed=0, iter=15)
    fine = np.zeros(n, dtype=int)
    for c in range(64):
        members = np.flatnonzero(coarse == c)
        if len(members) > 16:
            _, fine[members] = kmeans2(x[members], 8, minit="++", seed=0, iter=10)
    _write_gz(out, "".join(f"{w}\t{coarse[i]}\t{coarse[i] * 8 + fine[i]}\n" for w, i in index.items()))


def read_conll(path: Path) -> list[list[tuple[str, str]]]:
    """Sentences of ``token TAG`` lines; a blank line ends a sentence. A malformed line
    raises ValueError naming file:line."""
    sentences, current = [], []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        parts = line.rsplit(None, 1)
        if len(parts) != 2 or not (parts[1] == "O" or parts[1][:2] in ("B-", "I-")):
            raise ValueError(f"{path}:{lineno}: expected 'token TAG', got {line!r}")
        current.append((parts[0], parts[1]))
    if current:
        sentences.append(current)
    return sentences


def sentence_example(sentence: list[tuple[str, str]]) -> tuple[list, list[str]]:
    """(the extractor's tokens, their BIO tags) of one CoNLL sentence."""
    text, bounds, pos = [], [], 0
    for token, tag in sentence:
        bounds.append((pos, pos + len(token), tag))
        text.append(token)
        pos += len(token) + 1
    text = " ".join(text)
    tokens = tokenize(text)
    labels, k, prev_source = [], 0, None
    for t in tokens:
        while bounds[k][1] <= t[0]:
            k += 1
        tag = bounds[k][2]
        kind = tag[2:]
        if tag == "O" or kind not in TYPES:
            labels.append("O")
        elif tag.startswith("B-") and prev_source != k:
            labels.append("B-" + kind)
        else:
            labels.append("I-" + kind)
        prev_source = k
    return tokens, labels


def examples(sentences, extractor):
    """(keys, breaks, earlier passes' tags, BIO labels) of each sentence, for training."""
    out = []
    for sentence in sentences:
        tokens, labels = sentence_example(sentence)
        if not tokens:
            continue
        text = " ".join(tok for tok, _ in sentence)
        gaz = extractor.feature_tags(text, tokens)
        out.append(([t[6] for t in tokens], [t[3] for t in tokens], gaz, labels))
    return out


def mention_scores(gold: list[list[str]], predicted: list[list[str]]) -> dict[str, tuple[float, float, float]]:
    """Mention-level (exact span and type) precision, recall, F1 per type and overall."""
    counts = {t: [0, 0, 0] for t in TYPES + ("all",)}  # tp, predicted, gold
    for g, p in zip(gold, predicted):
        gs, ps = set(spans(g)), set(spans(p))
        for kind in TYPES:
            gk = {s for s in gs if s[2] == kind}
            pk = {s for s in ps if s[2] == kind}
            for key in (kind, "all"):
                counts[key][0] += len(gk & pk)
                counts[key][1] += len(pk)
                counts[key][2] += len(gk)
    out = {}
    for kind, (tp, np_, ng) in counts.items():
        p = tp / np_ if np_ else 0.0
        r = tp / ng if ng else 0.0
        out[kind] = (p, r, 2 * p * r / (p + r) if p + r else 0.0)
    return out


def train(data, out: Path, params: dict = PARAMS, features: Features | None = None) -> None:
    import pycrfsuite  # here, like the tagger: importing this module costs nothing

    features = features or Features()
    trainer = pycrfsuite.Trainer(verbose=False)
    for keys, breaks, gaz, labels in data:
        trainer.append(features.sequence(keys, breaks, gaz), labels)
    trainer.set_params(params)
    out.parent.mkdir(parents=True, exist_ok=True)
    trainer.train(str(out))


def tag_all(model: Path, data, features: Features | None = None) -> list[list[str]]:
    tagger = Tagger(model, features)
    return [tagger.tag(keys, breaks, gaz) for keys, breaks, gaz, _ in data]


def print_scores(scores) -> None:
    for kind, (p, r, f) in scores.items():
        print(f"{kind:5s} P {p:.3f}  R {r:.3f}  F1 {f:.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m indexer.train_tagger", description=__doc__.split("\n\n")[0])
    ap.add_argument("conll", type=Path, help="ANERcorp train.conll")
    ap.add_argument("--out", type=Path, default=MODEL, help="model file to write (default: %(default)s)")
    ap.add_argument("--corpus", type=Path, nargs="*", default=[],
                    help=f"JSONL(.gz) news corpora to count and cluster words in first ({LEXICON.name}, {CLUSTERS.name})")
    ap.add_argument("--dev", type=float, default=0.0, help="hold out this last fraction of sentences and score on it")
    ap.add_argument("--c1", type=float, default=PARAMS["c1"], help="L1 weight (default: %(default)s)")
    ap.add_argument("--c2", type=float, default=PARAMS["c2"], help="L2 weight (default: %(default)s)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.corpus:
        vocabulary = build_lexicon(args.corpus, LEXICON)
        print(f"wrote {LEXICON} ({len(vocabulary)} words)", file=sys.stderr)
        build_clusters(args.corpus, vocabulary, CLUSTERS)
        print(f"wrote {CLUSTERS}", file=sys.stderr)
    extractor = Extractor(tagger=None)
    sentences = read_conll(args.conll)
    data = examples(sentences, extractor)
    params = dict(PARAMS, c1=args.c1, c2=args.c2)
    if args.dev:
        cut = int(len(data) * (1 - args.dev))
        out = args.out.with_suffix(".dev.crfsuite") if args.out == MODEL else args.out
        train(data[:cut], out, params)
        print_scores(mention_scores([d[3] for d in data[cut:]], tag_all(out, data[cut:])))
        out.unlink()
    else:
        train(data, args.out, params)
        print(f"wrote {args.out} ({args.out.stat().st_size / 2**20:.1f} MB) from {len(data)} sentences"
              f" in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
