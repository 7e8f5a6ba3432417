"""Scoring quality on the labelled samples: item statuses vs gold, and how totals order the samples.

    python bench/scoring_quality.py                 # PDF and DOCX variants
    python bench/scoring_quality.py --variant pdf --mismatches

For every sample application (``samples/<variant>/<app>/``) it runs the whole per-application
pipeline (ingest → evidence → rules; no files written) and compares with ``samples/gold``:

* met/partial vs gold implemented (precision, recall, F1, binary accuracy), planned/negated/
  not_found each vs the rest, 4-class accuracy, and the share of gold planned/negated/absent
  items scored as met/partial;
* totals against the reviewer's reference total (points of the gold-implemented items):
  Spearman rank correlation, pairs ordered alike, and the named expectations (the strong
  manufacturer on top; plan-heavy, criteria-pasting and weak applications in the lower half);
* how long scoring (facts + durable-rules + results) takes per application.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xdt_rules.framework import load_framework  # noqa: E402
from xdt_rules.gold import load_gold_dir  # noqa: E402
from xdt_rules.ingest import ExtractOptions  # noqa: E402
from xdt_rules.scoring.engine import engine_for  # noqa: E402
from xdt_rules.scoring.quality import (  # noqa: E402
    GOLD_LABELS,
    STATUSES,
    Agreement,
    pairwise_order,
    reference_total,
    spearman,
)
from xdt_rules.screen import collect_application, plain_reader, screen_application  # noqa: E402

# What a reviewer expects of the named samples (substrings of the application names).
TOP = ("strong",)
LOW = ("plan_heavy", "parrot", "weak")


def run_variant(variant: str, samples: Path, golds: dict, catalogue, ocr: str, show_mismatches: bool) -> dict:
    framework = load_framework()
    read = plain_reader(framework, ExtractOptions(ocr=ocr))
    started = time.perf_counter()
    engine_for(framework.rules)  # compile once, so per-application times are steady
    compile_ms = (time.perf_counter() - started) * 1000
    agreement = Agreement()
    totals: dict[str, float] = {}
    reference: dict[str, float] = {}
    score_ms: list[float] = []
    screen_s: list[float] = []
    folders = sorted(p for p in (samples / variant).iterdir() if p.is_dir() and p.name in golds)
    for folder in folders:
        app = collect_application(folder)
        started = time.perf_counter()
        outcome = screen_application(app, framework, read=read)
        screen_s.append(time.perf_counter() - started)
        score_ms.append(outcome.seconds.get("score", 0.0) * 1000)
        gold = golds[folder.name]
        agreement.add(outcome.result, gold)
        totals[folder.name] = outcome.result.total.score
        reference[folder.name] = reference_total(gold, catalogue)
    print(f"\n=== {variant.upper()}: {len(folders)} applications, {agreement.total()} items ===")
    if not folders:
        return {}
    impl = agreement.implemented_scores()
    print(f"met/partial vs gold implemented: P={impl['precision']:.3f} R={impl['recall']:.3f} F1={impl['f1']:.3f} "
          f"accuracy={impl['accuracy']:.3f} (tp {impl['tp']}, predicted {impl['predicted']}, gold {impl['actual']})")
    for label, status in (("planned", "planned"), ("negated", "negated"), ("absent", "not_found")):
        s = agreement.label_scores(label)
        print(f"{status:>9} vs gold {label:<8}: P={s['precision']:.3f} R={s['recall']:.3f} F1={s['f1']:.3f} "
              f"(tp {s['tp']}, predicted {s['predicted']}, gold {s['actual']})")
    print(f"4-class accuracy: {agreement.accuracy():.3f}; gold planned/negated/absent scored met/partial: "
          f"{agreement.false_implemented_rate():.1%}")
    print("\nconfusion (rows gold, columns status):")
    print(f"{'':>12}" + "".join(f"{s:>10}" for s in STATUSES))
    for g in GOLD_LABELS:
        print(f"{g:>12}" + "".join(f"{agreement.confusion[(g, s)]:>10}" for s in STATUSES))
    print("\ntotals (tool vs reviewer reference = points of gold-implemented items):")
    ranked = sorted(totals, key=lambda a: -totals[a])
    for rank, name in enumerate(ranked, 1):
        print(f"{rank:>3}. {name:<36} tool {totals[name]:6.2f}   reference {reference[name]:6.2f}")
    rho = spearman([totals[a] for a in ranked], [reference[a] for a in ranked])
    agree, pairs = pairwise_order(totals, reference)
    print(f"Spearman rho = {rho:.3f}; pairs ordered like the reference (reference gap > 5 points): {agree}/{pairs}")
    lower_half = set(ranked[len(ranked) // 2:])
    checks = []
    for name in ranked:
        if any(t in name for t in TOP):
            checks.append((f"{name} ranks first", ranked[0] == name))
        if any(t in name for t in LOW):
            checks.append((f"{name} in the lower half", name in lower_half))
    for text, ok in checks:
        print(f"  [{'ok' if ok else 'FAIL'}] {text}")
    print(f"\nscoring (facts + durable-rules + results) per application: mean {statistics.mean(score_ms):.1f} ms, "
          f"max {max(score_ms):.1f} ms (rules compiled once per process: {compile_ms:.0f} ms); "
          f"whole screen per application: mean {statistics.mean(screen_s):.2f} s")
    if show_mismatches:
        print("\nmismatches (application, item, gold → status, reasons):")
        for m in agreement.mismatches:
            scan = " [scan_only]" if m.scan_only else ""
            print(f"  {m.application:<30} {m.item:<6} {m.gold:>11} → {m.status:<9} {'；'.join(m.reasons)}{scan}")
    return {"agreement": agreement, "rho": rho, "checks": checks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=Path, default=ROOT / "samples")
    parser.add_argument("--variant", choices=["pdf", "docx", "all"], default="all")
    parser.add_argument("--ocr", choices=["auto", "off"], default="auto")
    parser.add_argument("--mismatches", action="store_true", help="list every item whose status disagrees with gold")
    args = parser.parse_args(argv)
    catalogue = load_framework().catalogue
    golds = load_gold_dir(args.samples / "gold", catalogue)
    if not golds:
        print(f"no gold labels in {args.samples / 'gold'}")
        return 1
    variants = ["pdf", "docx"] if args.variant == "all" else [args.variant]
    for variant in variants:
        if (args.samples / variant).is_dir():
            run_variant(variant, args.samples, golds, catalogue, args.ocr, args.mismatches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
