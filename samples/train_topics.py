#!/usr/bin/env python3
"""Train the topic model (``keywords/_topics.json``) on the project's labelled documents.

    pip install -e ".[train]"                                  # scikit-learn, for training only
    python samples/train_topics.py --batches 1,2,3             # the samples + corpus batches 1–3
    python samples/train_topics.py --batches 1,2,3 --cv-only   # cross-validated figures, nothing written

Every labelled document (samples/sources + gold, samples/corpus/sources + gold of the given
batches) is cut into sentences (paragraphs and table cells at 。！？；), as the finder reads them. A unit is about an item when a
gold quote of that item (labelled implemented, planned or negated) lies in it or it lies in the
quote. One logistic regression per item over ``topic_features`` (xdt_rules.evidence.topics); its
threshold is chosen on document-grouped cross-validation (best F1, at least ``--min-threshold``).
Weights smaller than ``--prune`` are dropped, so the file stays small; scoring at run time needs
no scikit-learn. The same inputs give the same file.

Never train on a batch before its first-sight measurement is in samples/corpus/LEDGER.md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from build_samples import BlockSpec, SourceSpec, corpus_batch, load_source  # noqa: E402

from xdt_rules.catalogue import load_catalogue_file  # noqa: E402
from xdt_rules.datapaths import framework_dir, keywords_dir  # noqa: E402
from xdt_rules.evidence.normalize import normalize_key  # noqa: E402
from xdt_rules.evidence.topics import MODEL_FILE, topic_features  # noqa: E402
from xdt_rules.gold import load_gold_file  # noqa: E402

_SENTENCE = re.compile(r"[^。！？；!?;]+[。！？；!?;]*")
TOPIC_LABELS = ("implemented", "planned", "negated")
MODES = TOPIC_LABELS  # what the mode model tells apart
MODE_CONFIDENCE = 0.6  # below this the mode model's guess is not used


def _block_units(block: BlockSpec) -> Iterator[str]:
    kind = block.kind
    if kind in ("p", "center", "right", "title"):
        yield from (s for s in _SENTENCE.findall(str(getattr(block, kind)).replace("¦", "")) if s.strip())
    elif kind == "table" and block.table is not None:
        for row in block.table.rows:  # cell by cell, as the finder reads them
            for cell in row:
                yield from (s for s in _SENTENCE.findall(str(cell)) if s.strip())
    elif kind == "scan" and block.scan is not None:
        for inner in block.scan.blocks:
            yield from _block_units(inner)


def units_of(spec: SourceSpec) -> list[str]:
    """The sentences and table rows of a document, as the tool reads them."""
    out: list[str] = []
    for f in spec.files:
        if f.kind == "xlsx":
            for sheet in f.sheets:
                out += [s for row in sheet.rows for c in row if c is not None for s in _SENTENCE.findall(str(c))
                        if s.strip()]
        else:
            for block in f.blocks:
                out += list(_block_units(block))
    return out


def documents(batches: list[int]) -> list[tuple[str, list[str], dict[str, list[str]]]]:
    """(name, units, item → normalised quotes) for the samples and the corpus batches."""
    catalogue = load_catalogue_file(framework_dir() / "framework.yaml")
    folders = [(HERE / "sources", HERE / "gold", None), (HERE / "corpus" / "sources", HERE / "corpus" / "gold", batches)]
    out = []
    for sources, golds, wanted in folders:
        for path in sorted(sources.glob("*.yaml")):
            if wanted is not None and corpus_batch(path.stem) not in wanted:
                continue
            gold_path = golds / path.name
            if not gold_path.exists():
                continue
            gold = load_gold_file(gold_path, catalogue)
            quotes = {item: [(normalize_key(q), g.label) for q in g.evidence]
                      for item, g in gold.items.items() if g.label in TOPIC_LABELS and g.evidence}
            out.append((path.stem, units_of(load_source(path)), quotes))
    return out


def _quoted(key: str, quote: str) -> bool:
    return bool(quote) and (quote in key or key in quote)


def labelled_units(docs, items: list[str]):  # noqa: ANN001, ANN201
    """Units with, per item, whether a gold quote of it is there; and the units quoted with one label
    only (for the mode model): (text, group, label)."""
    texts, groups, y, modes = [], [], [], []
    for n, (_, units, quotes) in enumerate(docs):
        for unit in units:
            key = normalize_key(unit)
            if len(key) < 4:
                continue
            texts.append(unit)
            groups.append(n)
            y.append([int(any(_quoted(key, q) for q, _ in quotes.get(item, ()))) for item in items])
            labels = {label for item_quotes in quotes.values() for q, label in item_quotes if _quoted(key, q)}
            if len(labels) == 1:
                modes.append((unit, n, labels.pop()))
    return texts, groups, y, modes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", default="", help="corpus batches to train on, e.g. 1,2,3 (default: samples only)")
    # 1.0: on batches 1-8 the same grouped-CV F1 as 2.0, a higher precision and a quarter fewer weights
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    parser.add_argument("--min-threshold", type=float, default=0.3)
    parser.add_argument("--prune", type=float, default=0.15,
                        help="drop weights smaller than this (0.05 gave the same corpus figures from a file three times "
                             "as large)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cv-only", action="store_true")
    parser.add_argument("--out", type=Path, default=keywords_dir() / MODEL_FILE)
    args = parser.parse_args()

    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    catalogue = load_catalogue_file(framework_dir() / "framework.yaml")
    items = catalogue.item_ids
    docs = documents(batches)
    texts, groups, labels, modes = labelled_units(docs, items)
    y = np.array(labels)
    print(f"{len(docs)} 份文档 / documents, {len(texts)} 个句子或表行 / units, "
          f"{int(y.sum())} 个正例 / positives")

    def fit(train_texts, train_y):  # noqa: ANN001, ANN202
        vectorizer = CountVectorizer(analyzer=topic_features, binary=True, min_df=2)
        matrix = vectorizer.fit_transform(train_texts)
        models = []
        for j in range(len(items)):
            column = train_y[:, j]
            if column.sum() == 0:
                models.append(None)
                continue
            model = LogisticRegression(C=args.c, max_iter=2000, solver="liblinear")
            model.fit(matrix, column)
            models.append(model)
        return vectorizer, models

    def predict(vectorizer, models, some_texts):  # noqa: ANN001, ANN202
        matrix = vectorizer.transform(some_texts)
        out = np.zeros((len(some_texts), len(items)))
        for j, model in enumerate(models):
            if model is not None:
                out[:, j] = model.predict_proba(matrix)[:, 1]
        return out

    # document-grouped cross-validation: out-of-fold probabilities for every unit
    oof = np.zeros(y.shape)
    texts_arr = np.array(texts, dtype=object)
    for train, test in GroupKFold(n_splits=args.folds).split(texts, y, groups):
        vectorizer, models = fit(list(texts_arr[train]), y[train])
        oof[test] = predict(vectorizer, models, list(texts_arr[test]))
    thresholds = []
    tp = fp = fn = 0
    for j in range(len(items)):
        best = (0.0, max(args.min_threshold, 0.5))
        for cut in np.arange(args.min_threshold, 0.96, 0.05):
            pred = oof[:, j] >= cut
            t = int((pred & (y[:, j] == 1)).sum())
            f = int((pred & (y[:, j] == 0)).sum())
            m = int((~pred & (y[:, j] == 1)).sum())
            f1 = 2 * t / (2 * t + f + m) if t else 0.0
            if f1 > best[0]:
                best = (f1, float(round(cut, 2)))
        thresholds.append(best[1])
        pred = oof[:, j] >= best[1]
        tp += int((pred & (y[:, j] == 1)).sum())
        fp += int((pred & (y[:, j] == 0)).sum())
        fn += int((~pred & (y[:, j] == 1)).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    print(f"交叉验证（按文档分组）/ grouped CV, sentence level: P {p:.3f} R {r:.3f} F1 {2 * p * r / (p + r):.3f}")
    # the mode of a sentence that is about some item: achieved, planned or lacking
    mode_texts = [t for t, _, _ in modes]
    mode_y = np.array([MODES.index(label) for _, _, label in modes])
    mode_groups = [g for _, g, _ in modes]

    def fit_modes(train_texts, train_y):  # noqa: ANN001, ANN202
        vectorizer = CountVectorizer(analyzer=topic_features, binary=True, min_df=2)
        matrix = vectorizer.fit_transform(train_texts)
        model = LogisticRegression(C=args.c, max_iter=3000)
        model.fit(matrix, train_y)
        return vectorizer, model

    mode_arr = np.array(mode_texts, dtype=object)
    right = 0
    confident = confident_right = 0
    for train, test in GroupKFold(n_splits=args.folds).split(mode_texts, mode_y, mode_groups):
        vectorizer, model = fit_modes(list(mode_arr[train]), mode_y[train])
        proba = model.predict_proba(vectorizer.transform(list(mode_arr[test])))
        guess = proba.argmax(axis=1)
        right += int((guess == mode_y[test]).sum())
        sure = proba.max(axis=1) >= MODE_CONFIDENCE
        confident += int(sure.sum())
        confident_right += int((sure & (guess == mode_y[test])).sum())
    print(f"方式模型 / mode model: {len(mode_texts)} 句, grouped CV accuracy {right / len(mode_texts):.3f}; "
          f"p ≥ {MODE_CONFIDENCE}: {confident} 句, accuracy {confident_right / max(confident, 1):.3f}")
    if args.cv_only:
        return 0

    vectorizer, models = fit(texts, y)
    vocabulary = vectorizer.get_feature_names_out()
    weights: dict[str, list[list[float]]] = {}
    bias = []
    kept = 0
    for j, model in enumerate(models):
        if model is None:
            bias.append(-30.0)
            continue
        bias.append(round(float(model.intercept_[0]), 4))
        for index in np.flatnonzero(np.abs(model.coef_[0]) >= args.prune):
            weights.setdefault(str(vocabulary[index]), []).append([j, round(float(model.coef_[0][index]), 4)])
            kept += 1
    mode_vectorizer, mode_model = fit_modes(mode_texts, mode_y)
    mode_vocabulary = mode_vectorizer.get_feature_names_out()
    mode_weights: dict[str, list[list[float]]] = {}
    for index in range(len(mode_vocabulary)):
        column = mode_model.coef_[:, index]
        if np.abs(column).max() >= args.prune:
            mode_weights[str(mode_vocabulary[index])] = [round(float(v), 4) for v in column]
    trained_on = sorted(name for name, _, _ in docs)
    data = {
        "about": "xdt-rules topic model: per item, a logistic regression over character 2/3-grams and Latin words "
                 "(samples/train_topics.py). Weights are data; retrain instead of editing.",
        "version": f"c{args.c}-p{args.prune}-{len(trained_on)}docs",
        "trained_on": trained_on,
        "cv": {"precision": round(p, 4), "recall": round(r, 4)},
        "items": items,
        "bias": bias,
        "thresholds": thresholds,
        "weights": dict(sorted(weights.items())),
        "modes": {"labels": list(MODES), "bias": [round(float(b), 4) for b in mode_model.intercept_],
                  "confidence": MODE_CONFIDENCE, "weights": dict(sorted(mode_weights.items()))},
    }
    args.out.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"写入 / wrote {args.out}: {len(weights)} 个特征 / features, {kept} 个权重 / weights, "
          f"{args.out.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
