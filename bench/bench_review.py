"""Benchmark of ``xdt review`` on 700 applications.

    python bench/bench_review.py               # 700 applications (about a minute)
    python bench/bench_review.py --apps 200    # quicker

The batch: ``xdt batch samples/pdf`` (the 35 sample applications, real results, reports, evidence
cache and crops), each result copied 20 times under a new name with its scores shifted a little
(so the ranking is not 20 ties) and a manifest listing all 700 against the sample sources — what
a 700-application batch OUT looks like to the review. Cached under bench/_work/.

Measured (server time = the ``Server-Timing`` header the app sets around each request):

1. start-up of ``xdt review OUT`` (a subprocess, as a user starts it) until it listens and until
   the first page is answered — on a fresh database, and again with 12,000 decisions on 300
   applications in the log (their fingerprints then come from the database's snapshot cache);
2. the application list (700 rows, 12,000 decisions) — target ≤ 300 ms;
3. an application page, first view (report rendering of the evidence, crops from the batch's
   crop cache) and again (rendered sections kept) — target ≤ 150 ms;
4. recording a decision (stale-view check, insert, fsync of the WAL, the answer's fragments)
   — target ≤ 30 ms.
Figures vary by ±15 % on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

WORK = HERE / "_work" / "review"
COPIES_OF = "samples/pdf"


def base_batch() -> Path:
    out = WORK / "base"
    if not (out / ".complete").exists():
        if out.exists():
            shutil.rmtree(out)
        from xdt_rules.cli import main

        t0 = time.perf_counter()
        assert main(["batch", str(ROOT / COPIES_OF), "--out", str(out), "--ocr", "off"]) == 0
        (out / ".complete").write_text("ok", encoding="utf-8")
        print(f"xdt batch {COPIES_OF}: {time.perf_counter() - t0:.1f} s")
    return out


def big_batch(apps: int) -> Path:
    """``apps`` results made from the samples' (copies under new names, scores shifted)."""
    from xdt_rules.batch.resume import AppRecord, Manifest, load_manifest, save_manifest
    from xdt_rules.batch.summary import collect, write_summary
    from xdt_rules.models import ApplicationResult
    from xdt_rules.screen import result_json

    base = base_batch()
    out = WORK / f"out-{apps}"
    if (out / ".complete").exists():
        return out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    os.symlink(base / ".cache", out / ".cache")
    source = load_manifest(base)
    originals = [ApplicationResult.model_validate_json((base / f"{n}.json").read_bytes()) for n in source.order]
    rng = random.Random(7)
    manifest = Manifest()
    for index in range(apps):
        original = originals[index % len(originals)]
        name = f"{original.application}_{index // len(originals):02d}"
        factor = 1.0 - rng.random() * 0.2
        result = original.model_copy(deep=True)
        result.application = name
        for item in result.items:
            item.score = round(item.score * factor, 4)
        for element in result.elements:
            element.score = round(sum(i.score for i in result.items if i.id.split(".")[0] == element.id), 4)
        result.total.score = round(sum(e.score for e in result.elements), 4)
        (out / f"{name}.json").write_text(result_json(result), encoding="utf-8")
        shutil.copyfile(base / f"{original.application}.html", out / f"{name}.html")
        record = source.applications[original.application]
        manifest.applications[name] = AppRecord(**{**record.model_dump(), "name": name,
                                                   "source": str((ROOT / record.source).resolve()),
                                                   "outputs": [f"{name}.html", f"{name}.json"]})
        manifest.order.append(name)
    save_manifest(out, manifest)
    write_summary(out, collect(out, manifest))
    (out / ".complete").write_text("ok", encoding="utf-8")
    return out


def fill_log(out: Path, db: Path, *, apps: int, per_app: int) -> int:
    """``per_app`` decisions on each of the first ``apps`` applications, anchored to their real
    fingerprints, as reviewers would have left them (two reviewers, some overrides)."""
    from xdt_rules.review.outdir import fingerprints
    from xdt_rules.review.store import Store

    store = Store(db)
    names = json.loads((out / ".xdt-batch" / "manifest.json").read_text(encoding="utf-8"))["order"][:apps]
    rows = 0
    store._db.execute("BEGIN IMMEDIATE")  # one transaction for the whole fill (setup, not what is measured)
    for name in names:
        data = json.loads((out / f"{name}.json").read_bytes())
        prints = fingerprints(data)
        for n, item in enumerate(list(prints)[:per_app]):
            p = prints[item]
            for reviewer in (("张三",) if n % 3 else ("张三", "李四")):
                store._db.execute(
                    "INSERT INTO decisions (at_ms, reviewer, application, item, action, from_status, from_score,"
                    " to_status, to_score, comment, rules_version, evidence_hash, prelim_status, prelim_score,"
                    " max_score, base_seq) VALUES (?, ?, ?, ?, 'confirm', ?, ?, ?, ?, '', ?, ?, ?, ?, ?, 0)",
                    (1_700_000_000_000 + rows, reviewer, name, item, p["status"], p["score"], p["status"], p["score"],
                     data["rules_version"], p["hash"], p["status"], p["score"], p["max"]))
                rows += 1
    store._db.execute("COMMIT")
    store.close()
    return rows


def startup(out: Path, db: Path) -> tuple[float, float]:
    """Seconds from launching ``xdt review`` to its listening, and to the first answered page."""
    from test_review_support import Client

    # as on a user's machine: compiled modules are kept (this sandbox sets PYTHONDONTWRITEBYTECODE)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "xdt_rules", "review", str(out), "--db", str(db), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert proc.stdout is not None
        url = None
        for line in proc.stdout:
            found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
            if found:
                url = found.group(1)
                break
        listening = time.perf_counter() - t0
        assert url, "the server did not start"
        Client(url).login("基准")
        answered = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return listening, answered


def timing(answer) -> float:  # noqa: ANN001
    return float(answer.headers["server-timing"].split("dur=")[1])


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms (n={len(ordered)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apps", type=int, default=700)
    parser.add_argument("--decisions", type=int, default=200, help="decisions recorded over HTTP")
    args = parser.parse_args()

    from test_review_support import Client

    from xdt_rules.review.server import ThreadedServer
    from xdt_rules.review.service import ReviewService

    out = big_batch(args.apps)
    runs = WORK / "runs"
    shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir(parents=True)
    results: list[tuple[str, str, str]] = []

    def started(db: Path, label: str) -> None:
        """Three starts, the median (one start is at the mercy of whatever else the machine does)."""
        runs_of = sorted(startup(out, db) for _ in range(3))
        listening, answered = runs_of[1]
        results.append((label, f"listening {listening:.2f} s, first list page answered {answered:.2f} s "
                               f"(median of 3)", "< 2 s"))

    started(runs / "fresh.sqlite3", "start-up, fresh database")

    db = runs / "review.sqlite3"
    logged = fill_log(out, db, apps=min(300, args.apps), per_app=30)
    startup(out, db)  # the first start with this log computes the fingerprints once and keeps them
    started(db, f"start-up, {logged:,} decisions on 300 applications")

    service = ReviewService(out, db=db)
    service.warm()  # as `xdt review` does in the background while the first reviewer signs in
    server = ThreadedServer(service)
    url = server.start()
    try:
        client = Client(url)
        client.login("基准")
        list_times = [timing(client.get("/")) for _ in range(15)]
        results.append((f"application list, {args.apps} rows", summary(list_times), "≤ 300 ms"))
        sorted_times = [timing(client.get("/?sort=confirmed&dir=desc&only=flags")) for _ in range(5)]
        results.append(("application list, sorted and filtered", summary(sorted_times), "≤ 300 ms"))

        names = service.out.order
        sample = [names[i] for i in range(0, len(names), max(1, len(names) // 12))][:12]
        first = [timing(client.get(f"/a/{n}")) for n in sample]
        again = [timing(client.get(f"/a/{n}")) for n in sample]
        results.append(("application page, first view (evidence rendered, crops from cache)", summary(first),
                        "≤ 150 ms"))
        results.append(("application page, again", summary(again), "≤ 150 ms"))

        decide_times = []
        targets = [(n, item) for n in names[-20:] for item in list(service.out.entries[n].items)]
        for n, item in targets[: args.decisions]:
            answer = client.decide(n, item)
            assert answer.status == 200, answer.text
            decide_times.append(timing(answer))
        results.append(("recording a decision (check, insert, WAL fsync, fragments)", summary(decide_times),
                        "≤ 30 ms"))
    finally:
        server.stop()
        service.close()

    print(f"\nxdt review — {args.apps} applications (copies of the {COPIES_OF} results), "
          f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print("| 测量 / measure | 结果 / result | 目标 / target |")
    print("| --- | --- | --- |")
    for measure, value, target in results:
        print(f"| {measure} | {value} | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
