"""Evidence quality on the real-text corpus (samples/corpus), measured through ``xdt batch``.

    python bench/corpus_quality.py --batch 1                 # build batch 1, screen it, compare with gold
    python bench/corpus_quality.py --batch 1,2,3 --misses    # every wrong item with the rules' reasons
    python bench/corpus_quality.py --batch 4 --record "first sight"   # add the figures to LEDGER.md

The corpus documents are built from their sources (samples/build_samples.py) into
bench/_work/corpus/ and screened as PDF and DOCX with the real batch (OCR as configured by
default). Figures, by voice and overall:

- core F1 (items of elements 1–3) and outcomes F1 (elements 4–5): "has it" = met/partial
  against gold implemented;
- false "has it": gold planned/negated/absent reported met/partial (and of the stated lacks);
- Spearman ρ of the tool's totals against the gold totals (points of gold-implemented items);
- flags: share of items marked needs_confirmation, and the share of wrong calls among them;
- naive keyword presence (any keyword of the item anywhere in the text) as the floor to beat.

The honest figure of a batch is its first sight: measured once, before anything is tuned on it,
and recorded with ``--record``. Later figures on the same batch are regression checks.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "samples"))

CORPUS = ROOT / "samples" / "corpus"
WORK = HERE / "_work" / "corpus"
LEDGER = CORPUS / "LEDGER.md"
VOICES = ("application", "news", "form")


def names_of(batches: list[int]) -> list[str]:
    from build_samples import corpus_batch

    return sorted(p.stem for p in (CORPUS / "sources").glob("*.yaml") if corpus_batch(p.stem) in batches)


def build(names: list[str], tag: str) -> Path:
    """The documents built into WORK/<tag>-<digest>/{pdf,docx}/<name>/ (reused while sources are unchanged)."""
    import build_samples

    digest = hashlib.sha256((ROOT / "samples" / "build_samples.py").read_bytes())
    for name in names:
        digest.update((CORPUS / "sources" / f"{name}.yaml").read_bytes())
    root = WORK / f"{tag}-{digest.hexdigest()[:12]}"
    marker = root / ".complete"
    if not marker.exists():
        for name in names:
            spec = build_samples.load_source(CORPUS / "sources" / f"{name}.yaml")
            build_samples.build_application(spec, root)
        marker.write_text("ok", encoding="utf-8")
    return root


def screen(folder: Path, out: Path, jobs: int, keywords: str | None = None) -> dict:
    from xdt_rules.batch.runner import BatchOptions, run_batch
    from xdt_rules.models import ApplicationResult

    report = run_batch(folder, out, BatchOptions(jobs=jobs, quiet=True, keywords=keywords))
    if report.failed:
        for failure in report.failures:
            print(f"  失败 / failed: {failure.application}: {failure.reason}")
    return {p.stem: ApplicationResult.model_validate_json(p.read_bytes()) for p in out.glob("*.json")
            if p.stem[:1].isdigit()}


def naive_results(folder: Path, framework) -> dict:  # noqa: ANN001 - a Framework
    """Keyword presence: an item "has it" when any of its terms or entities occurs anywhere."""
    from xdt_rules.evidence.normalize import normalize_key
    from xdt_rules.ingest import ExtractOptions, extract

    spellings: dict[str, set[str]] = {}
    for entry in framework.keywords.entries:
        if entry.kind in ("term", "entity") and len(entry.key) >= 2:
            spellings.setdefault(entry.item_id, set()).add(entry.key)
    found = {}
    for app in sorted(p for p in folder.iterdir() if p.is_dir()):
        text = ""
        for file in sorted(app.iterdir()):
            try:
                text += "\n".join(b.text for b in extract(file, ExtractOptions(ocr="off")).blocks)
            except Exception:  # noqa: BLE001 - a baseline: an unreadable file adds nothing
                continue
        key = normalize_key(text)
        found[app.name] = {item: any(s in key for s in words) for item, words in spellings.items()}
    return found


def figures_of(results: dict, golds: dict, framework, voice_of: dict, voice: str | None):  # noqa: ANN001, ANN201
    from xdt_rules.scoring.quality import CorpusFigures

    figures = CorpusFigures()
    for name, result in sorted(results.items()):
        if name in golds and (voice is None or voice_of[name] == voice):
            figures.add(result, golds[name], framework.catalogue)
    return figures


def naive_figures(found: dict, golds: dict, framework, voice_of: dict, voice: str | None) -> dict:  # noqa: ANN001
    from xdt_rules.scoring.quality import CORE_ELEMENTS, BinaryCounts

    core, outcomes = BinaryCounts(), BinaryCounts()
    for name, items in found.items():
        if name not in golds or (voice is not None and voice_of[name] != voice):
            continue
        for item_id, gold in golds[name].items.items():
            group = core if framework.catalogue.item(item_id).element_id in CORE_ELEMENTS else outcomes
            group.add(items.get(item_id, False), gold.label == "implemented")
    return {"core_f1": core.f1, "outcomes_f1": outcomes.f1}


def line(label: str, s: dict) -> str:
    return (f"{label:<22} {s['applications']:>3}  core {s['core_f1']:.2f} (P {s['core_p']:.2f} R {s['core_r']:.2f})  "
            f"outcomes {s['outcomes_f1']:.2f} (P {s['outcomes_p']:.2f} R {s['outcomes_r']:.2f})  "
            f"false has-it {100 * s['false_has_it']:.1f}% (lacks {100 * s['lacks_has_it']:.1f}%)  "
            f"ρ {s['spearman']:.2f}  flags {100 * s['flags']:.0f}% holding {100 * s['wrong_flagged']:.0f}% of wrong  "
            f"mean total {s['tool_mean_total']:.1f} vs gold {s['gold_mean_total']:.1f}")


def code_version() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "xdt_rules", "keywords", "rules"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def record(batch_label: str, variant: str, s: dict, naive: dict, note: str) -> None:
    row = (f"| {dt.date.today().isoformat()} | {batch_label} | {variant} | {code_version()} | {s['applications']} | "
           f"{s['core_f1']:.2f} ({s['core_p']:.2f}/{s['core_r']:.2f}) | "
           f"{s['outcomes_f1']:.2f} ({s['outcomes_p']:.2f}/{s['outcomes_r']:.2f}) | "
           f"{100 * s['false_has_it']:.1f} % ({100 * s['lacks_has_it']:.1f} %) | {s['spearman']:.2f} | "
           f"{100 * s['flags']:.0f} % / {100 * s['wrong_flagged']:.0f} % | "
           f"{naive['core_f1']:.2f} / {naive['outcomes_f1']:.2f} | {note} |\n")
    with LEDGER.open("a", encoding="utf-8") as fh:
        fh.write(row)
    print(f"记入 / recorded in {LEDGER.relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", required=True, help="batch numbers, e.g. 1 or 1,2,3")
    parser.add_argument("--variant", choices=["pdf", "docx"], action="append")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--misses", action="store_true", help="list every wrong item with the rules' reasons")
    parser.add_argument("--naive", action="store_true", help="also measure naive keyword presence")
    parser.add_argument("--record", metavar="NOTE", help="append the overall figures to LEDGER.md")
    parser.add_argument("--keywords", metavar="DIR", help="another keywords folder (e.g. with a topic model trained "
                                                          "without this batch)")
    args = parser.parse_args()

    from build_samples import load_source

    from xdt_rules.framework import load_framework
    from xdt_rules.gold import load_gold_file

    batches = sorted({int(b) for b in args.batch.split(",")})
    names = names_of(batches)
    if not names:
        print("没有这些批次的文档 / no documents in these batches", file=sys.stderr)
        return 1
    framework = load_framework(keywords=args.keywords)
    golds = {n: load_gold_file(CORPUS / "gold" / f"{n}.yaml", framework.catalogue) for n in names}
    voice_of = {n: load_source(CORPUS / "sources" / f"{n}.yaml").voice for n in names}
    tag = "b" + "-".join(str(b) for b in batches)
    root = build(names, tag)
    for variant in args.variant or ["pdf", "docx"]:
        out = root / (f"out-{variant}" if not args.keywords else f"out-{variant}-{Path(args.keywords).name}")
        results = screen(root / variant, out, args.jobs, args.keywords)
        naive = naive_results(root / variant, framework) if args.naive or args.record else None
        print(f"\n=== 批次 / batch {args.batch} · {variant.upper()} · {len(results)} 份 · 代码 {code_version()}"
              + (f" · 关键词 {args.keywords}" if args.keywords else ""))
        for voice in (*VOICES, None):
            figures = figures_of(results, golds, framework, voice_of, voice)
            if not figures.applications:
                continue
            s = figures.summary()
            print(line(voice or "all", s))
            if naive is not None:
                n = naive_figures(naive, golds, framework, voice_of, voice)
                print(f"{'  naive keywords':<22}      core {n['core_f1']:.2f}  outcomes {n['outcomes_f1']:.2f}")
        overall = figures_of(results, golds, framework, voice_of, None)
        if args.misses:
            for m in overall.mismatches:
                print(f"  {m.application} {m.item} gold={m.gold} tool={m.status}: {'；'.join(m.reasons)[:120]}")
        if args.record and naive is not None:
            by_voice = [(v, figures_of(results, golds, framework, voice_of, v)) for v in VOICES]
            voices = ", ".join(f"{v} {f.summary()['core_f1']:.2f}/{f.summary()['outcomes_f1']:.2f}"
                               for v, f in by_voice if f.applications)
            record(",".join(str(b) for b in batches), variant, overall.summary(),
                   naive_figures(naive, golds, framework, voice_of, None),
                   f"{args.record}; by voice core/outcomes: {voices}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
