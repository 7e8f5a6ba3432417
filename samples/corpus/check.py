#!/usr/bin/env python3
"""Check corpus documents: the source builds, the gold covers all 36 items, every quote is verbatim.

    python samples/corpus/check.py                 # every document in samples/corpus/
    python samples/corpus/check.py 101_news_tea    # some documents

It reads only the source and gold files (never the matcher, keywords or rules), so a person
writing and labelling a document can run it without seeing what the tool would find.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

CORPUS = Path(__file__).resolve().parent
ROOT = CORPUS.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "samples"))

from build_samples import load_source, source_units  # noqa: E402

from xdt_rules.catalogue import load_catalogue_file  # noqa: E402
from xdt_rules.datapaths import framework_dir  # noqa: E402
from xdt_rules.gold import load_gold_file  # noqa: E402


def check(name: str, catalogue) -> list[str]:
    problems: list[str] = []
    src_path = CORPUS / "sources" / f"{name}.yaml"
    gold_path = CORPUS / "gold" / f"{name}.yaml"
    try:
        spec = load_source(src_path)
    except Exception as exc:  # noqa: BLE001 — report every document's problem, then go on
        return [f"source: {exc}"]
    if spec.voice is None:
        problems.append("source: voice missing (application | news | form)")
    if not spec.origin:
        problems.append("source: origin missing (the public sources of the facts)")
    if not spec.region:
        problems.append("source: region missing")
    if not gold_path.exists():
        return problems + ["gold: file missing"]
    try:
        gold = load_gold_file(gold_path, catalogue)
    except Exception as exc:  # noqa: BLE001
        return problems + [f"gold: {exc}"]
    if gold.application != name:
        problems.append(f"gold: application is {gold.application}, expected {name}")
    units = source_units(spec)
    texts = [u.text for u in units]
    for item_id, item in gold.items.items():
        for quote in item.evidence:
            hits = [u for u in units if quote in u.text]
            if not hits:
                problems.append(f"gold {item_id}: quote not found verbatim: {quote[:60]}")
            elif item.scan_only != all(u.scan for u in hits):
                problems.append(f"gold {item_id}: scan_only is {item.scan_only} but the quote is "
                                f"{'only' if all(u.scan for u in hits) else 'not only'} on a scanned page")
    chars = sum(len(t) for t in texts)
    labels = Counter(i.label for i in gold.items.values())
    print(f"{name}: {spec.voice}, {chars} chars, " + ", ".join(f"{k} {v}" for k, v in sorted(labels.items())))
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*")
    args = ap.parse_args(argv)
    names = args.names or sorted(p.stem for p in (CORPUS / "sources").glob("*.yaml"))
    catalogue = load_catalogue_file(framework_dir() / "framework.yaml")
    bad = 0
    for name in names:
        for problem in check(name, catalogue):
            print(f"  {name}: {problem}")
            bad += 1
    print(f"{len(names)} documents, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
