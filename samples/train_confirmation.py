#!/usr/bin/env python3
"""Train the confirmation model (``rules/<framework>/confirmation.json``): which verdicts need a person.

    pip install -e ".[train]"                                        # scikit-learn, for training only
    python samples/train_confirmation.py --batches 1-16              # corpus batches 1–16
    python samples/train_confirmation.py --batches 1-16 --cv-only    # leave-one-batch-out figures only

Each corpus batch is built and screened as PDF with the real batch (the same folders and results as
``bench/corpus_quality.py``); every item of every result is one example: its features
(:func:`xdt_rules.scoring.confirm.features`) and whether the verdict was wrong against gold ("has it" =
met/partial vs gold implemented). A logistic regression estimates the chance of a wrong verdict; the
threshold flags ``--share`` of the training items. Leave-one-batch-out figures (flags, share of the
wrong verdicts among the flagged) are printed beside those of the rules' own ``needs_confirmation``.
Same inputs, same file.

Never train on a batch before its first-sight measurement is in samples/corpus/LEDGER.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "bench"))

from corpus_quality import CORPUS, build, code_version, names_of, screen  # noqa: E402

from xdt_rules.framework import load_framework  # noqa: E402
from xdt_rules.gold import load_gold_file  # noqa: E402
from xdt_rules.scoring.confirm import evidenced_share, features  # noqa: E402

MODEL_FILE = "confirmation.json"
DIGITS = 4


def batch_list(text: str) -> list[int]:
    out: set[int] = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return sorted(out)


def examples(batches: list[int], jobs: int):  # noqa: ANN201
    """(features, wrong, rules' own confirmation, batch) of every item of every screened document."""
    framework = load_framework()
    # the rules' own needs_confirmation, to compare with
    asks = {(item_id, rule.key): rule.needs_confirmation
            for item_id, rules in framework.rules.items.items() for rule in rules.all_rules()}
    rows = []
    for batch in batches:
        names = names_of([batch])
        if not names:
            continue
        root = build(names, f"b{batch}")
        results = screen(root / "pdf", root / "out-pdf", jobs)
        for name in sorted(results):
            gold = load_gold_file(CORPUS / "gold" / f"{name}.yaml", framework.catalogue)
            items = results[name].items
            share = evidenced_share(items)
            for item in items:
                has = item.status in ("met", "partial")
                wrong = has != (gold.items[item.id].label == "implemented")
                rules_confirm = any(asks.get((item.id, key), False) for key in item.rules_fired)
                rows.append((features(item, share), int(wrong), int(rules_confirm), batch))
    return rows


def fit(rows, c: float, share: float):  # noqa: ANN001, ANN201
    import numpy as np
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = DictVectorizer(sort=True)
    x = vec.fit_transform([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    model = LogisticRegression(C=c, max_iter=5000, solver="lbfgs").fit(x, y)
    risks = model.predict_proba(x)[:, 1]
    threshold = float(np.quantile(risks, 1 - share))
    return vec, model, threshold


def cross_validate(rows, c: float, share: float) -> None:  # noqa: ANN001
    import numpy as np

    batches = sorted({r[3] for r in rows})
    total = np.zeros(5)
    for held in batches:
        train = [r for r in rows if r[3] != held]
        test = [r for r in rows if r[3] == held]
        vec, model, threshold = fit(train, c, share)
        risks = model.predict_proba(vec.transform([r[0] for r in test]))[:, 1]
        flagged = risks >= threshold
        wrong = np.array([r[1] for r in test]) == 1
        rules = np.array([r[2] for r in test]) == 1
        counts = [len(test), wrong.sum(), flagged.sum(), (flagged & wrong).sum(), (rules & wrong).sum()]
        total += counts
        print(f"  batch {held:2d}: {len(test):4d} items, {wrong.sum():3d} wrong · model flags {flagged.mean():4.0%} "
              f"holding {counts[3] / max(counts[1], 1):4.0%} · rules flag {rules.mean():4.0%} holding "
              f"{counts[4] / max(counts[1], 1):4.0%}")
    print(f"  all: model flags {total[2] / total[0]:.1%} holding {total[3] / total[1]:.1%} of the wrong verdicts; "
          f"rules hold {total[4] / total[1]:.1%} (leave one batch out)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", required=True, help="corpus batches, e.g. 1-16 or 1,2,3")
    parser.add_argument("--share", type=float, default=0.24, help="share of items to flag (default 0.24)")
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength (default 1.0)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cv-only", action="store_true", help="print the cross-validated figures, write nothing")
    args = parser.parse_args()
    batches = batch_list(args.batches)
    rows = examples(batches, args.jobs)
    print(f"{len(rows)} items of {len(rows) // 36} documents, {sum(r[1] for r in rows)} wrong verdicts")
    cross_validate(rows, args.c, args.share)
    if args.cv_only:
        return 0
    vec, model, threshold = fit(rows, args.c, args.share)
    weights = {name: round(float(w), DIGITS) for name, w in zip(vec.get_feature_names_out(), model.coef_[0])
               if round(float(w), DIGITS) != 0}
    framework = load_framework()
    target = Path(framework.rules.source).parent / MODEL_FILE
    data = {
        "description": "需人工确认的学习模型：估计初判有误的可能（logistic），高于 threshold 的项需人工确认。"
                       "由 samples/train_confirmation.py 训练。",
        "trained_on": f"corpus batches {args.batches} ({len(rows) // 36} documents), code {code_version()}, "
                      f"C={args.c}, share={args.share}",
        "intercept": round(float(model.intercept_[0]), DIGITS),
        "threshold": round(threshold, DIGITS),
        "share": args.share,
        "weights": dict(sorted(weights.items())),
    }
    target.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"written {target} ({len(weights)} weights, threshold {threshold:.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
