"""Evidence detection vs the samples' gold labels (logic in xdt_rules.evidence.quality).

    python bench/evidence_quality.py                 # DOCX and PDF, no OCR (scan-only gold items left out)
    python bench/evidence_quality.py --ocr           # PDF pages without a text layer are OCR'd first
    python bench/evidence_quality.py --misses        # list every wrong item with its sentence
    python bench/evidence_quality.py --json out.json
    python bench/evidence_quality.py --sets 01-11,12-17   # summary per set of samples (by number)

Targets: micro-F1 ≥ 0.90; ≤ 5 % of gold planned/negated/absent items reported implemented — on
every set: 01–11 were developed against, 12–17 (and any later ones) are hold-out sets written
without seeing the matcher, so a fix that only helps one set is overfitting.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xdt_rules.evidence.quality import DETECTED_ORDER, GOLD_LABELS, VariantReport, evaluate  # noqa: E402

DEFAULT_SETS = "01-11,12-17,18-23,24-29,30-99"


def sample_sets(spec: str, applications: list[str]) -> dict[str, list[str]]:
    """Named sets of applications by the number their name starts with ("01-11" → 01_… to 11_…)."""
    out: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        lo, _, hi = part.partition("-")
        low, high = int(lo), int(hi or lo)
        members = [a for a in applications if a[:2].isdigit() and low <= int(a.split("_", 1)[0]) <= high]
        if members:
            out[part] = members
    return out


def summary_line(name: str, report: VariantReport) -> str:
    return (f"{name:>8} {len(report.applications):>4} {_fmt(report.f1):>6} {_fmt(report.precision):>6} "
            f"{_fmt(report.recall):>6} {report.false_implemented:>4}/{report.not_implemented_total:<4} "
            f"{_fmt(report.false_implemented_share):>6}")


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def show(report: VariantReport, misses: bool) -> None:
    print(f"\n=== {report.variant.upper()} — {len(report.applications)} 份申报 / applications"
          f"{'（含 OCR）' if report.ocr else f'（未 OCR，跳过扫描页评价项 {report.skipped_scan_only} 个）'}")
    print(f"{'item':8} {'tp':>3} {'fp':>3} {'fn':>3} {'P':>6} {'R':>6} {'F1':>6}")
    for s in report.items:
        if s.tp + s.fp + s.fn:
            print(f"{s.item_id:8} {s.tp:3} {s.fp:3} {s.fn:3} {_fmt(s.precision):>6} {_fmt(s.recall):>6} {_fmt(s.f1):>6}")
    print(f"micro: tp={report.tp} fp={report.fp} fn={report.fn}  P={_fmt(report.precision)} "
          f"R={_fmt(report.recall)} F1={_fmt(report.f1)}")
    print(f"gold planned/negated/absent reported implemented: {report.false_implemented}/"
          f"{report.not_implemented_total} = {_fmt(report.false_implemented_share)}")
    print("confusion (rows gold, columns detected):")
    print(f"{'':12}" + "".join(f"{d[:11]:>12}" for d in DETECTED_ORDER))
    for g in GOLD_LABELS:
        print(f"{g:12}" + "".join(f"{report.confusion[g][d]:12}" for d in DETECTED_ORDER))
    for err in report.errors:
        print("error:", err)
    if misses:
        for m in report.misses:
            print(f"  {m.application} {m.item_id} gold={m.gold} detected={m.detected}: {' | '.join(m.evidence)[:160]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", default=str(ROOT / "samples"))
    parser.add_argument("--variant", choices=["docx", "pdf"], action="append")
    parser.add_argument("--ocr", action="store_true")
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--sets", default=DEFAULT_SETS, help=f"comma-separated number ranges (default {DEFAULT_SETS})")
    args = parser.parse_args()
    reports = []
    summaries: list[str] = []
    for variant in args.variant or ["docx", "pdf"]:
        t0 = time.perf_counter()
        report = evaluate(args.samples, variant, ocr=args.ocr)
        show(report, args.misses)
        print(f"({time.perf_counter() - t0:.1f} s)")
        reports.append(report)
        for name, members in sample_sets(args.sets, report.applications).items():
            summaries.append(f"{variant:>5} " + summary_line(name, evaluate(args.samples, variant, ocr=args.ocr,
                                                                             applications=members)))
        summaries.append(f"{variant:>5} " + summary_line("all", report))
    print(f"\n{'':5} {'set':>8} {'apps':>4} {'F1':>6} {'P':>6} {'R':>6} {'false impl':>9} {'share':>6}")
    print("\n".join(summaries))
    if args.json:
        Path(args.json).write_text(json.dumps([r.model_dump() for r in reports], ensure_ascii=False, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
