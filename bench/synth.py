"""A realistic synthetic batch for benchmarks: N applications × 30–60 dense Chinese pages.

Each application is a folder with a 申报书 (PDF, or DOCX for about one in five) and two or three
佐证材料 PDFs (contract, invoice, acceptance report). Pages are dense (~1,400 characters),
written with reportlab's built-in CID font STSong-Light (a real text layer, no font file).
Every sixth page of a PDF 申报书 (~17 %) holds a ruled table of systems (名称 / 厂商 / 上线时间 / 状态), which
sends the ingestion to its table path. Texts mix implemented systems with vendors and dates,
plans, admitted gaps and quantified outcomes; a few consultancies' boilerplate paragraphs are
shared by groups of applications, so the duplicate-passage check has something to find.

Deterministic for a given seed. ``python bench/synth.py OUT --apps 20`` writes a batch.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

GENERATOR_VERSION = 3
CHARS_PER_LINE = 42
LINES_PER_PAGE = 44

SYSTEMS = [
    ("企业资源计划系统（ERP）", ["用友U8 Cloud", "金蝶云星空", "SAP Business One", "浪潮GS"]),
    ("制造执行系统（MES）", ["鼎捷MES", "黑湖智造", "西门子Opcenter", "新核云MES"]),
    ("产品生命周期管理系统（PLM）", ["金蝶PLM", "华天软件PLM", "西门子Teamcenter"]),
    ("仓库管理系统（WMS）", ["富勒WMS", "唯智WMS", "用友WMS"]),
    ("计算机辅助设计（CAD）", ["中望CAD", "AutoCAD", "SolidWorks"]),
    ("客户关系管理系统（CRM）", ["纷享销客", "销售易CRM", "Salesforce"]),
    ("供应链管理系统（SCM）", ["用友SCM", "金蝶供应链云"]),
    ("质量管理系统（QMS）", ["鼎捷QMS", "盘古QMS"]),
    ("设备管理系统（EAM）", ["树根互联根云", "海尔卡奥斯"]),
    ("办公自动化系统（OA）", ["泛微OA", "致远OA", "钉钉"]),
]
SCOPES = ["采购、销售、库存、财务全流程", "生产计划、排产、报工与质量追溯", "研发设计与工艺管理", "仓储出入库与物流配送",
          "客户跟进、商机与售后服务", "设备台账、点检、保养与维修"]
EFFECTS = ["业务数据实时共享，月末结账时间由5天缩短至1天", "订单交付周期缩短18%", "库存周转率提升22%",
           "产品一次合格率由96.2%提升至99.1%", "设备综合效率（OEE）提升15个百分点", "单位产品能耗下降12%",
           "管理人员减少8人，年节约人工成本约96万元", "新产品研发周期由9个月缩短至6个月"]
INDICATORS = ["生产效率", "产品合格率", "单位能耗", "运营成本", "订单准时交付率", "研发周期", "库存周转天数", "营业收入"]
FILLER = [
    "公司始建于二〇〇三年，位于昆明市经济技术开发区，占地面积八十余亩，现有员工四百二十人，其中专业技术人员一百一十余人",
    "主要产品包括高原特色农产品深加工系列、精细化工中间体以及配套包装材料，产品销往全国二十多个省区并出口东南亚",
    "公司先后获得国家高新技术企业、云南省专精特新中小企业、昆明市企业技术中心等称号，拥有发明专利十二项、实用新型专利三十五项",
    "近三年公司营业收入分别为二点一亿元、二点六亿元和三点二亿元，利润总额稳步增长，资产负债率保持在合理区间",
    "公司建立了完善的质量管理体系、环境管理体系和职业健康安全管理体系，并通过了两化融合管理体系评定",
    "在数字化转型过程中，公司成立了由总经理任组长的数字化转型领导小组，设立信息中心统筹推进各项工作",
    "公司与云南大学、昆明理工大学等高校建立了长期产学研合作关系，共同开展关键工艺技术攻关和人才培养",
    "生产车间按照精益生产理念进行了布局优化，物料流转路径缩短，在制品数量明显下降，现场管理水平显著提高",
    "公司重视信息安全管理，部署了防火墙、入侵检测和数据备份系统，定期开展网络安全培训与应急演练",
    "下一步，公司将继续加大数字化投入，推动数据要素在研发、生产、经营各环节的深度应用，提升企业核心竞争力",
]
# Boilerplate of a few consultancies: each shared by a group of applications.
BOILERPLATE = [
    "我公司坚持以数字化转型为核心战略，围绕研发设计、生产制造、经营管理、市场营销等关键环节，系统推进新一代信息技术与制造业深度融合，"
    "构建了覆盖全业务流程的数字化管理体系，实现了数据驱动的精益生产和科学决策，企业核心竞争力显著增强，为同行业中小企业提供了可借鉴的经验。",
    "通过本次数字化改造，企业打通了设计、采购、生产、仓储、销售、服务等业务环节的数据壁垒，形成了以数据为核心的协同运营模式，"
    "各业务系统之间实现了主数据统一和业务流程贯通，管理透明度和决策效率大幅提升，数字化转型成效已在行业内形成示范效应。",
    "企业数字化转型工作得到了各级主管部门的大力支持和充分肯定，多次接待省内外同行企业参观交流，并积极向产业链上下游企业输出数字化转型经验，"
    "带动了一批配套企业同步开展数字化改造，有力提升了区域产业集群的整体数字化水平和协同创新能力。",
]


def _sentences(rng: random.Random, app_index: int) -> list[str]:
    """Paragraphs of one application: achievements, plans, gaps, outcomes, filler, boilerplate."""
    paragraphs: list[str] = []
    owned = rng.sample(SYSTEMS, rng.randint(3, 8))
    for name, vendors in owned:
        year, month = rng.randint(2018, 2023), rng.randint(1, 12)
        paragraphs.append(f"公司于{year}年{month}月上线{rng.choice(vendors)}{name}，覆盖{rng.choice(SCOPES)}，"
                          f"{rng.choice(EFFECTS)}。系统运行稳定，已成为日常管理不可缺少的工具。")
    for name, _ in rng.sample([s for s in SYSTEMS if s not in owned], 2):
        if rng.random() < 0.5:
            paragraphs.append(f"公司计划于{rng.randint(2025, 2027)}年启动{name}建设，目前正在开展需求调研和方案论证。")
        else:
            paragraphs.append(f"目前公司尚未建设{name}，相关业务仍以纸质单据和电子表格方式管理。")
    for indicator in rng.sample(INDICATORS, 4):
        paragraphs.append(f"数字化改造完成后，{indicator}较改造前{rng.choice(['提升', '下降'])}{rng.randint(5, 40)}%，成效明显。")
    paragraphs.append(BOILERPLATE[app_index % len(BOILERPLATE)] if app_index % 4 else BOILERPLATE[0])
    return paragraphs


def _page_text(rng: random.Random, content: list[str]) -> list[str]:
    """One dense page: content paragraphs interleaved with filler, wrapped into lines."""
    lines: list[str] = []
    while len(lines) < LINES_PER_PAGE:
        if content and rng.random() < 0.35:
            paragraph = content.pop(0)
        else:
            paragraph = "，".join(rng.sample(FILLER, 3)) + "。"
        paragraph = "　　" + paragraph
        for start in range(0, len(paragraph), CHARS_PER_LINE):
            lines.append(paragraph[start:start + CHARS_PER_LINE])
    return lines[:LINES_PER_PAGE]


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def _draw_table(c, font: str, rng: random.Random, top: float) -> float:  # noqa: ANN001 - reportlab canvas
    rows = [["系统名称", "厂商/产品", "上线时间", "状态"]]
    for name, vendors in rng.sample(SYSTEMS, 6):
        rows.append([name, rng.choice(vendors), f"{rng.randint(2018, 2024)}年{rng.randint(1, 12)}月",
                     rng.choice(["已上线", "已上线", "建设中", "计划"])])
    widths = [170, 130, 90, 70]
    x0, row_h = 50, 20
    c.setFont(font, 9)
    for r, row in enumerate(rows):
        y = top - r * row_h
        x = x0
        for w, cell in zip(widths, row, strict=True):
            c.rect(x, y - row_h, w, row_h, stroke=1, fill=0)
            c.drawString(x + 3, y - 14, cell)
            x += w
    return top - len(rows) * row_h - 20


def write_pdf(path: Path, rng: random.Random, pages: int, content: list[str], *, tables: bool) -> int:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    font = _font()
    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=A4, pageCompression=1)
    c.setTitle(path.stem)
    content = list(content)
    for page in range(pages):
        top = 800.0
        lines = _page_text(rng, content)
        if tables and page % 6 == 1:
            top = _draw_table(c, font, rng, top)
            lines = lines[: int((top - 50) / 16)]
        c.setFont(font, 11)
        for line in lines:
            c.drawString(50, top, line)
            top -= 16
        c.setFont(font, 9)
        c.drawString(280, 30, f"— {page + 1} —")
        c.showPage()
    c.save()
    return pages


def write_docx(path: Path, rng: random.Random, pages: int, content: list[str]) -> None:
    from docx import Document

    doc = Document()
    doc.add_heading("中小企业数字化转型“小灯塔”企业申报书", level=1)
    content = list(content)
    for page in range(pages):
        doc.add_heading(f"{page + 1}、企业数字化转型情况", level=2)
        lines = _page_text(rng, content)
        for start in range(0, len(lines), 4):
            doc.add_paragraph("".join(lines[start:start + 4]).replace("　　", ""))
        if page % 3 == 1:
            table = doc.add_table(rows=1, cols=4)
            for cell, text in zip(table.rows[0].cells, ["系统名称", "厂商/产品", "上线时间", "状态"]):
                cell.text = text
            for name, vendors in rng.sample(SYSTEMS, 5):
                cells = table.add_row().cells
                for cell, text in zip(cells, [name, rng.choice(vendors), f"{rng.randint(2018, 2024)}年", "已上线"]):
                    cell.text = text
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))


def generate_batch(out: Path, apps: int, *, seed: int = 20240601) -> dict[str, int]:
    """Write ``apps`` application folders into ``out``; returns PDF page counts per application."""
    pages_by_app: dict[str, int] = {}
    for index in range(apps):
        rng = random.Random(seed * 1000 + index)
        name = f"{index + 1:03d}_申报企业"
        folder = out / name
        total = rng.randint(30, 60)
        contract_pages = rng.randint(2, 4)
        main_pages = total - contract_pages - 1
        content = _sentences(rng, index)
        pdf_pages = 0
        if index % 5 == 4:
            write_docx(folder / "申报书.docx", rng, main_pages, content)
        else:
            pdf_pages += write_pdf(folder / "申报书.pdf", rng, main_pages, content, tables=True)
        pdf_pages += write_pdf(folder / "佐证材料" / "系统采购合同.pdf", rng, contract_pages,
                               [content[0], "甲方与乙方经友好协商，就软件系统采购及实施服务达成如下协议。"], tables=False)
        pdf_pages += write_pdf(folder / "佐证材料" / "发票.pdf", rng, 1, ["增值税电子普通发票 软件服务费"], tables=False)
        pages_by_app[name] = pdf_pages
    return pages_by_app


def generate_long_pdf(path: Path, pages: int = 300, *, seed: int = 7) -> Path:
    rng = random.Random(seed)
    write_pdf(path, rng, pages, _sentences(rng, 0) * 6, tables=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--apps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    pages = generate_batch(args.out, args.apps, seed=args.seed)
    print(f"{len(pages)} applications, {sum(pages.values())} PDF pages → {args.out}")


if __name__ == "__main__":
    main()
