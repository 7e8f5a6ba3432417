#!/usr/bin/env python3
"""Build the OCR samples: image-only versions of sample applications, and a few screenshots.

* ``samples/ocr/pdf/<app>/申报书.pdf`` — the same 申报书 as ``samples/pdf/<app>/申报书.pdf`` but every
  page is a scanned-looking image (rendered by ``samples/build_samples.py`` with the WenQuanYi Zen
  Hei font, slight skew, blur, paper tone and noise), stored as grayscale JPEG: no text layer at
  all. Comparing evidence found on these with evidence found on the text versions measures what
  OCR loses (``bench/bench_ocr.py``).
* ``samples/ocr/images/`` — a system-list screenshot (PNG) (web admin page, table with row lines
  but no column rules), an e-invoice (数电发票, a ruled form) and a photographed certificate
  (JPEG; tilted, uneven light, decorative frame). Next to each, ``<name>.txt`` holds the text drawn on
  it, line by line, for tests and the bench.

Rendering needs the CJK font ``/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc`` (Debian package
``fonts-wqy-zenhei``); tests only read the committed files and need no font.

Sizes: 150 dpi grayscale JPEG (quality 55) keeps a page near 150 KB; the whole folder stays well
under 5 MB. Output is deterministic (reportlab invariant mode, seeded noise) for the same
Pillow/libjpeg/reportlab versions.

Usage::

    python samples/ocr/build_ocr_samples.py               # everything into samples/ocr/
    python samples/ocr/build_ocr_samples.py --out /tmp/o  # somewhere else
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent
ROOT = SAMPLES.parent
for extra in (SAMPLES, ROOT):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import build_samples as bs  # noqa: E402  (samples/build_samples.py: layout + page rendering)
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFilter, ImageFont  # noqa: E402
from reportlab.lib.utils import ImageReader  # noqa: E402
from reportlab.pdfgen import canvas as rl_canvas  # noqa: E402

# 01: vendor products and a ruled system table; 06: the system list exists ONLY in a table.
OCR_APPS = ("01_strong_manufacturer", "06_table_only_chemical")
DOCUMENT = "申报书"
DPI = 150
JPEG_QUALITY = 55
FONT_PATH = bs.SCAN_FONT


def _font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), px, index=0)


def _jpeg_gray(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.convert("L").save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=False)
    return buf.getvalue()


# =========================================================================== image-only PDFs


def image_only_pdf(app: str, out: Path, dpi: int = DPI) -> Path:
    """Every page of ``app``'s 申报书 as a grayscale scan, one full-page JPEG per PDF page."""
    spec = bs.load_source(SAMPLES / "sources" / f"{app}.yaml")
    doc = next(f for f in spec.files if f.name == DOCUMENT)
    pages = bs.layout_file(doc)
    path = out / "pdf" / app / f"{DOCUMENT}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    c = rl_canvas.Canvas(str(path), pagesize=(bs.PAGE_W, bs.PAGE_H), pageCompression=1)
    c.setTitle(f"{spec.company} {DOCUMENT}（扫描件）")
    c.setAuthor(spec.company)
    c.setCreator("xdt-rules samples/ocr/build_ocr_samples.py")
    for page in pages:
        jpeg = _jpeg_gray(bs.render_page_image(page, dpi, scanned=True))
        c.drawImage(ImageReader(io.BytesIO(jpeg)), 0, 0, bs.PAGE_W, bs.PAGE_H)
        c.showPage()
    c.save()
    return path


_LEADER = re.compile(r"[.·…]{3,}")


def page_reference(page: bs.Page) -> str:
    """The text drawn on a page in reading order (lines top to bottom, left to right within a
    line), without table-of-contents dot leaders: what a perfect OCR would read."""
    ops = [op for op in page.ops if isinstance(op, bs.TextOp) and op.text.strip()]
    lines: list[list[bs.TextOp]] = []
    for op in sorted(ops, key=lambda o: (o.baseline, o.x)):
        if lines and abs(lines[-1][0].baseline - op.baseline) <= op.size * 0.5:
            lines[-1].append(op)
        else:
            lines.append([op])
    text = "\n".join("".join(op.text for op in sorted(line, key=lambda o: o.x)) for line in lines)
    return _LEADER.sub("", text)


def page_texts(app: str) -> list[str]:
    """:func:`page_reference` for every page of ``app``'s 申报书."""
    spec = bs.load_source(SAMPLES / "sources" / f"{app}.yaml")
    doc = next(f for f in spec.files if f.name == DOCUMENT)
    return [page_reference(page) for page in bs.layout_file(doc)]


# =========================================================================== screenshots


@dataclass
class Canvas:
    img: Image.Image
    lines: list[str]

    @property
    def draw(self) -> ImageDraw.ImageDraw:
        return ImageDraw.Draw(self.img)

    def text(self, xy: tuple[float, float], text: str, px: int, fill: int = 20, anchor: str = "la",
             record: bool = True) -> None:
        self.draw.text(xy, text, font=_font(px), fill=fill, anchor=anchor)
        if record:
            self.lines.append(text)


SYSTEMS_01 = [
    ("企业资源计划（ERP）", "用友U8 Cloud", "2019-06", "采购、销售、库存、成本、财务", "已上线"),
    ("产品生命周期管理（PLM）", "西门子Teamcenter", "2021-11", "图文档、BOM、变更、项目", "已上线"),
    ("制造执行系统（MES）", "鼎捷MES", "2022-08", "计划排产、报工、质量、设备", "已上线"),
    ("仓库管理系统（WMS）", "鼎捷WMS", "2023-03", "原材料库、成品库、条码", "已上线"),
    ("质量管理系统（QMS）", "自主开发+SPC模块", "2023-05", "来料检、过程检、SPC", "已上线"),
    ("设备物联平台", "树根互联根云平台", "2022-10", "设备联网、状态监测", "已上线"),
    ("协同办公", "钉钉", "2019-01", "审批、考勤、公告", "已上线"),
    ("高级计划排程（APS）", "待选型", "2026-06", "多品种小批量智能排产", "规划中"),
]


def system_list_screenshot() -> Canvas:
    """A web admin page: dark title bar, breadcrumb, a table with row lines but no column rules."""
    w, h = 1280, 720
    cv = Canvas(Image.new("L", (w, h), 246), [])
    d = cv.draw
    d.rectangle([0, 0, w, 56], fill=48)
    cv.text((24, 28), "鼎晟数字工厂管理平台", 22, fill=250, anchor="lm")
    cv.text((w - 24, 28), "管理员 周建明", 16, fill=220, anchor="rm")
    cv.text((32, 84), "首页 / 信息化管理 / 信息系统台账", 16, fill=110, anchor="lm")
    d.rectangle([24, 108, w - 24, h - 24], fill=255, outline=225)
    cv.text((48, 140), "信息系统台账", 20, fill=30, anchor="lm")
    cv.text((w - 48, 140), "共 8 条", 16, fill=110, anchor="rm")
    cols = [48, 300, 520, 660, 1060]
    header = ("系统名称", "供应商/产品", "上线时间", "覆盖环节", "状态")
    top = 172
    d.rectangle([40, top, w - 40, top + 44], fill=236)
    row = [header[i] for i in range(5)]
    for x, label in zip(cols, row):
        cv.text((x, top + 22), label, 16, fill=40, anchor="lm", record=False)
    cv.lines.append("  ".join(row))
    y = top + 44
    for system in SYSTEMS_01:
        for x, value in zip(cols, system):
            status = value in ("已上线", "规划中")
            if status:  # a status badge
                fill = 200 if value == "已上线" else 225
                d.rounded_rectangle([x - 8, y + 10, x + 62, y + 38], radius=6, fill=fill)
            cv.text((x, y + 24), value, 16, fill=30, anchor="lm", record=False)
        cv.lines.append("  ".join(system))
        y += 48
        d.line([40, y, w - 40, y], fill=228, width=1)
    return cv


def invoice_image() -> Canvas:
    """A 数电发票 (fully digital e-invoice) for the MES implementation service, as a ruled form."""
    w, h = 1400, 860
    cv = Canvas(Image.new("L", (w, h), 255), [])
    d = cv.draw
    cv.text((w / 2, 60), "电子发票（增值税专用发票）", 34, fill=60, anchor="mm")
    d.line([w / 2 - 230, 88, w / 2 + 230, 88], fill=90, width=2)
    d.line([w / 2 - 230, 94, w / 2 + 230, 94], fill=90, width=2)
    cv.text((1000, 44), "发票号码：22532000000031415926", 18, anchor="lm")
    cv.text((1000, 76), "开票日期：2022年12月08日", 18, anchor="lm")
    left, right = 60, w - 60
    ink = 70
    # buyer / seller block
    d.rectangle([left, 120, right, 250], outline=ink, width=2)
    d.line([w / 2, 120, w / 2, 250], fill=ink, width=2)
    cv.text((left + 20, 150), "购买方信息", 18, anchor="lm")
    cv.text((left + 20, 190), "名称：昆明鼎晟精密机械制造有限公司", 18, anchor="lm")
    cv.text((left + 20, 226), "统一社会信用代码/纳税人识别号：91530100MA6K2XXX7Q", 18, anchor="lm")
    cv.text((w / 2 + 20, 150), "销售方信息", 18, anchor="lm")
    cv.text((w / 2 + 20, 190), "名称：鼎捷数智股份有限公司昆明分公司", 18, anchor="lm")
    cv.text((w / 2 + 20, 226), "统一社会信用代码/纳税人识别号：91530100MA6N8XXX2D", 18, anchor="lm")
    # item table: a full grid
    cols = [left, 460, 600, 680, 760, 930, 1100, 1200, right]
    rows = [250, 300, 350, 400, 450, 500]
    for y in rows:
        d.line([left, y, right, y], fill=ink, width=2)
    for x in cols:
        d.line([x, rows[0], x, rows[3]], fill=ink, width=2)
    d.line([left, rows[3], left, rows[-1]], fill=ink, width=2)
    d.line([right, rows[3], right, rows[-1]], fill=ink, width=2)
    header = ["项目名称", "规格型号", "单位", "数量", "单价", "金额", "税率", "税额"]
    items = [
        ["*信息技术服务*MES系统实施服务", "", "项", "1", "301886.79", "301886.79", "6%", "18113.21"],
        ["合计", "", "", "", "", "¥301886.79", "", "¥18113.21"],
    ]
    for r, values in enumerate([header, *items]):
        cy = (rows[r] + rows[r + 1]) / 2
        for c, value in enumerate(values):
            if value:
                cv.text((cols[c] + 12, cy), value, 18, anchor="lm", record=False)
        cv.lines.append("  ".join(v for v in values if v))
    cv.text((left + 12, (rows[3] + rows[4]) / 2), "价税合计（大写）  叁拾贰万元整", 18, anchor="lm")
    cv.text((930, (rows[3] + rows[4]) / 2), "（小写）¥320000.00", 18, anchor="lm")
    cv.text((left + 12, (rows[4] + rows[5]) / 2), "备注：MES系统实施服务（合同编号DS-XX-2022-0416），已验收", 18, anchor="lm")
    cv.text((left, 540), "开票人：李敏", 18, anchor="lm")
    return cv


def certificate_photo() -> Canvas:
    """A phone photo of a 数字化水平评测 certificate: frame, tilt, uneven light, blur, noise."""
    w, h = 1200, 860
    cv = Canvas(Image.new("L", (w, h), 250), [])
    d = cv.draw
    d.rectangle([40, 40, w - 40, h - 40], outline=120, width=10)
    d.rectangle([62, 62, w - 62, h - 62], outline=150, width=3)
    cv.text((w / 2, 150), "中小企业数字化水平评测证书", 46, fill=35, anchor="mm")
    cv.text((w / 2, 220), "证书编号：SZHPC-2024-5301-0386", 20, fill=60, anchor="mm")
    body = [
        "昆明鼎晟精密机械制造有限公司：",
        "经评测，贵单位在中小企业数字化水平评测中",
        "达到三级（数字化水平评测三级）。",
        "评测时间：2024年11月",
    ]
    y = 320
    for line in body:
        cv.text((150, y), line, 32, fill=30, anchor="lm")
        y += 70
    cv.text((w - 150, 690), "评测机构：XXXX数字化服务中心", 26, fill=40, anchor="rm")
    cv.text((w - 150, 740), "2024年11月20日", 26, fill=40, anchor="rm")
    # photographed: tilt, a light gradient, slight blur, sensor noise (seeded: deterministic)
    img = cv.img.rotate(-1.8, resample=Image.BICUBIC, fillcolor=190, expand=False)
    arr = np.asarray(img).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    light = 0.82 + 0.18 * (xx / w) * (1 - 0.4 * yy / h)
    arr = arr * light
    rng = np.random.default_rng(20241120)
    arr += rng.normal(0.0, 5.0, arr.shape)
    cv.img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L").filter(ImageFilter.GaussianBlur(0.8))
    return cv


PHOTOS = {"certificate_photo"}
SCREENSHOTS = {
    "system_list": system_list_screenshot,
    "invoice": invoice_image,
    "certificate_photo": certificate_photo,
}


def write_screenshot(name: str, out: Path) -> Path:
    cv = SCREENSHOTS[name]()
    folder = out / "images"
    folder.mkdir(parents=True, exist_ok=True)
    if name in PHOTOS:  # a phone photo is a JPEG; screenshots are lossless PNG
        path = folder / f"{name}.jpg"
        cv.img.save(path, "JPEG", quality=70, optimize=True)
    else:
        path = folder / f"{name}.png"
        cv.img.save(path, "PNG", optimize=True)
    (folder / f"{name}.txt").write_text("\n".join(cv.lines) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="生成 OCR 样例（扫描版申报书与截图）/ build the OCR samples")
    ap.add_argument("--out", type=Path, default=HERE, help="输出目录 / output folder (default: samples/ocr)")
    ap.add_argument("--dpi", type=int, default=DPI, help="扫描分辨率 / scan resolution")
    args = ap.parse_args(argv)
    if not FONT_PATH.exists():
        print(f"需要中文字体 {FONT_PATH}（apt install fonts-wqy-zenhei）/ CJK font missing", file=sys.stderr)
        return 1
    written = [image_only_pdf(app, args.out, args.dpi) for app in OCR_APPS]
    written += [write_screenshot(name, args.out) for name in SCREENSHOTS]
    total = 0
    for path in written:
        size = path.stat().st_size
        total += size
        print(f"{path.relative_to(args.out)}  {size / 1024:.0f} KB")
    print(f"合计 / total {total / 1048576:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
