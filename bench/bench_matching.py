"""Throughput of matching + context on generated dense Chinese text (target ≥ 1 MB/s per core).

    python bench/bench_matching.py [--mb 2] [--profile]

Three measurements, CPU time of this process (the per-core figure even when other work shares
the machine):
- the text of the sample applications in samples/ (if present), with cold memo caches;
- generated dense Chinese text: application-like sentences (system names, vendor products, cues,
  plans, negations, quantities) shuffled with a fixed seed into paragraph blocks of 3–10 sentences,
  once keyword-dense and once with half keyword-free filler. The generated text repeats its 24
  sentences, so the per-process memo caches (jieba word checks, criteria copies) help it more
  than they help real text.
The keyword set and finder are built before timing (a process does that once); jieba's first
initialisation is timed separately.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xdt_rules.models import Block, Document  # noqa: E402

# Sentences without any keyword, as in the company-profile and management chapters of an application.
FILLER = [
    "公司高度重视人才培养，每年组织员工参加各类技能培训和安全教育，企业文化建设成效明显。",
    "厂区占地面积120亩，建有标准化厂房三栋，办公楼一栋，配套设施齐全，交通便利。",
    "产品销往全国二十多个省市，并出口东南亚、南亚等国家和地区，与多家大型企业建立了长期合作关系。",
    "公司坚持以市场为导向、以质量求生存、以创新求发展的经营理念，先后获得省级守合同重信用企业等荣誉。",
    "近年来，面对复杂多变的市场环境，公司管理层团结带领全体员工攻坚克难，经营业绩保持稳步增长。",
    "公司现有管理人员四十余人，专业技术人员八十余人，其中高级职称十二人，中级职称三十五人。",
]
SENTENCES = [
    "公司于2021年上线用友U8 Cloud，覆盖采购、销售、库存、财务全流程。",
    "2022年计划建设的WMS已于2023年上线，实现原材料和成品的条码化管理。",
    "下一步，公司将建设MES系统，实现生产过程透明化。",
    "目前公司已上线ＥＲＰ，但MES尚未建设，生产报工仍以人工纸质记录为主。",
    "设计部使用SolidWorks和中望CAD进行三维设计，关键零件采用ANSYS进行仿真分析。",
    "车间52台关键设备通过物联网网关接入树根互联平台，运行数据实时上传。",
    "生产效率提升23%，运营成本降低12%，产品研制周期缩短30天，年节约126吨标煤。",
    "行业普遍采用MES系统，政策鼓励企业上云用云。",
    "公司实现无纸化办公，厂区无线网络全覆盖，不断完善信息化管理制度。",
    "通过财务机器人实现自动对账，全面推行数电发票，5G专网覆盖主要车间。",
    "公司入选云南省数字化转型典型案例，带动上下游15家企业开展数字化改造。",
    "ERP、MES与PLM系统实现数据互通，焊接机器人替代人工完成高温岗位作业。",
    "公司在天猫、京东和抖音开设旗舰店，2024年线上销售额达到1860万元。",
    "公司位于北京东路，主营业务为精密减速机的研发、生产和销售，现有员工356人。",
    "公司高度重视人才培养，每年组织员工参加各类技能培训和安全教育，企业文化建设成效明显。",
    "厂区占地面积120亩，建有标准化厂房三栋，办公楼一栋，配套设施齐全，交通便利。",
    "产品销往全国二十多个省市，并出口东南亚、南亚等国家和地区，与多家大型企业建立了长期合作关系。",
    "制造执行糸统已全面上线，金碟云星空与企业资源计\n划系统完成对接。",
]


def build(mb: float, seed: int = 7, filler: float = 0.0) -> list[Document]:
    """Paragraph blocks of shuffled sentences; ``filler`` is the share of keyword-free sentences."""
    rng = random.Random(seed)
    target = int(mb * 1_000_000)
    docs: list[Document] = []
    blocks: list[Block] = []
    size = 0
    while size < target:
        text = "".join(rng.choice(FILLER if rng.random() < filler else SENTENCES) for _ in range(rng.randint(3, 10)))
        blocks.append(Block(index=len(blocks), kind="paragraph", text=text, page=len(blocks) // 12 + 1))
        size += len(text.encode("utf-8"))
        if len(blocks) == 400:
            docs.append(_doc(len(docs), blocks))
            blocks = []
    if blocks:
        docs.append(_doc(len(docs), blocks))
    return docs


def _doc(n: int, blocks: list[Block]) -> Document:
    return Document(path=f"bench{n}.pdf", name=f"bench{n}.pdf", sha256=f"{n:064d}", size=0, file_type="pdf",
                    extractor_version="bench", blocks=blocks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=2.0, help="MB of UTF-8 text (default 2)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    from xdt_rules.evidence import find_evidence, finder_for
    from xdt_rules.evidence.tokens import tokenizer
    from xdt_rules.framework import load_framework

    t0 = time.perf_counter()
    framework = load_framework()
    keywords = framework.keywords
    finder_for(framework)
    t1 = time.perf_counter()
    tokenizer(keywords)
    t2 = time.perf_counter()
    print(f"keyword set + finder: {t1 - t0:.2f} s; jieba init: {t2 - t1:.2f} s")
    samples = ROOT / "samples"
    if samples.is_dir() and not args.profile:
        # Real application text first, while the per-process memo caches are still cold.
        from xdt_rules.ingest import ExtractOptions, extract

        paths = sorted(p for p in samples.glob("*/*/*") if p.suffix in (".pdf", ".docx") and "ocr" not in p.parts)
        docs = [extract(p, ExtractOptions(ocr="off")) for p in paths]
        nbytes = sum(len(b.text.encode("utf-8")) for d in docs for b in d.blocks)
        nchars = sum(len(b.text) for d in docs for b in d.blocks)
        c3 = time.process_time()
        mentions = find_evidence(docs, framework)
        secs = time.process_time() - c3
        print(f"\nsamples/ ({len(docs)} PDF/DOCX files, cold caches): {nbytes / 1e6:.2f} MB UTF-8 ({nchars:,} chars)")
        print(f"  mentions: {len(mentions):,} ({len(mentions) / (nchars / 1000):.1f} per 1000 chars)")
        print(f"  matching + context: {secs:.2f} CPU s → {nbytes / 1e6 / secs:.2f} MB/s, {nchars / secs / 1e3:.0f}k chars/s per core")
    profiles = [("keyword-dense (15 of 18 sentences carry evidence)", 0.0), ("application-like (half filler)", 0.5)]
    if args.profile:
        docs = build(args.mb)
        import cProfile
        import pstats

        cProfile.runctx("find_evidence(docs, framework)", globals(), locals(), "/tmp/bench.prof")
        pstats.Stats("/tmp/bench.prof").sort_stats("cumulative").print_stats(25)
        return 0
    for label, filler in profiles:
        docs = build(args.mb, filler=filler)
        nbytes = sum(len(b.text.encode("utf-8")) for d in docs for b in d.blocks)
        nchars = sum(len(b.text) for d in docs for b in d.blocks)
        t3, c3 = time.perf_counter(), time.process_time()
        mentions = find_evidence(docs, framework)
        t4, c4 = time.perf_counter(), time.process_time()
        secs = c4 - c3  # CPU seconds of this process: the per-core figure, even when other work shares the cores
        print(f"\n{label}: {nbytes / 1e6:.2f} MB UTF-8 ({nchars:,} chars, {sum(len(d.blocks) for d in docs)} blocks)")
        print(f"  mentions: {len(mentions):,} ({len(mentions) / (nchars / 1000):.1f} per 1000 chars)")
        print(f"  matching + context: {secs:.2f} CPU s ({t4 - t3:.2f} s wall) → {nbytes / 1e6 / secs:.2f} MB/s, "
              f"{nchars / secs / 1e3:.0f}k chars/s per core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
