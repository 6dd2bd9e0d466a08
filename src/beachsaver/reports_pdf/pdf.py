"""Drawing the summary PDF with fpdf2: Noto Sans KR embedded (subset), a bar chart drawn with the
library's own rectangles and lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from beachsaver.core.time import SEOUL, to_utc

#: Noto Sans CJK collections (Debian: fonts-noto-cjk); face 1 of the collection is Noto Sans CJK KR.
REGULAR_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/local/share/fonts/NotoSansCJK-Regular.ttc",
)
BOLD_FONTS = tuple(p.replace("Regular", "Bold") for p in REGULAR_FONTS)
KR_FACE = 1
FAMILY = "NotoSansKR"

PRIMARY = (0x00, 0x77, 0xC8)
PRIMARY_LIGHT = (0x4D, 0xB3, 0xE6)
TEXT = (0x22, 0x22, 0x22)
MUTED = (0x66, 0x66, 0x66)
RULE = (0xDD, 0xDD, 0xDD)
BACKGROUND = (0xF9, 0xFA, 0xFB)


class FontMissing(RuntimeError):
    pass


@dataclass
class BeachFigure:
    beach_id: int
    beach_name: str
    reports: int
    kg_cleaned: Decimal


@dataclass
class Summary:
    org_id: int
    org_name: str
    org_code: str
    start: date
    end: date
    investigation_reports: int = 0
    cleaning_reports: int = 0
    collection_requests: int = 0
    litres_estimated: Decimal = Decimal("0")
    kg_cleaned: Decimal = Decimal("0")
    kg_collected: Decimal = Decimal("0")
    depots_collected: int = 0
    depots_waiting: int = 0
    top_beaches: list[BeachFigure] = field(default_factory=list)
    generated_at: datetime | None = None


LABELS: dict[str, dict[str, str]] = {
    "ko": {
        "title": "해양쓰레기 정화 요약 보고서",
        "organisation": "조직",
        "period": "기간",
        "generated": "작성",
        "reports": "보고서 건수",
        "investigation_reports": "조사 보고서",
        "cleaning_reports": "청소 보고서",
        "collection_requests": "수거 요청",
        "amounts": "처리량",
        "litres_estimated": "추정 쓰레기량 (L)",
        "kg_cleaned": "청소량 (kg)",
        "kg_collected": "수거량 (kg)",
        "depots_collected": "수거 완료 집하장",
        "depots_waiting": "수거 대기 집하장",
        "chart": "해변별 청소량 (kg, 상위 {n}곳)",
        "top_beaches": "상위 해변",
        "rank": "순위",
        "beach": "해변",
        "count": "보고서",
        "no_data": "이 기간에 청소 기록이 없습니다.",
        "footer": "Beach-Saver · {page}쪽",
    },
    "en": {
        "title": "Marine litter clean-up summary",
        "organisation": "Organisation",
        "period": "Period",
        "generated": "Generated",
        "reports": "Reports",
        "investigation_reports": "Investigation reports",
        "cleaning_reports": "Cleaning reports",
        "collection_requests": "Collection requests",
        "amounts": "Amounts",
        "litres_estimated": "Litter estimated (L)",
        "kg_cleaned": "Cleaned (kg)",
        "kg_collected": "Collected (kg)",
        "depots_collected": "Depots collected",
        "depots_waiting": "Depots waiting",
        "chart": "Cleaned per beach (kg, top {n})",
        "top_beaches": "Top beaches",
        "rank": "Rank",
        "beach": "Beach",
        "count": "Reports",
        "no_data": "No clean-up was recorded in this period.",
        "footer": "Beach-Saver · page {page}",
    },
}


@lru_cache(maxsize=1)
def font_files() -> tuple[str, str]:
    """(regular, bold) font collection paths; ``FontMissing`` when Noto Sans CJK is not installed."""
    regular = next((p for p in REGULAR_FONTS if Path(p).is_file()), None)
    if regular is None:
        raise FontMissing("Noto Sans CJK is not installed (Debian package fonts-noto-cjk)")
    bold = next((p for p in BOLD_FONTS if Path(p).is_file()), regular)
    return regular, bold


def _amount(value: Decimal | float | int) -> str:
    number = Decimal(str(value)).quantize(Decimal("0.01"))
    text = f"{number:,.2f}"
    return text[:-3] if text.endswith(".00") else text


def _count(value: int) -> str:
    return f"{value:,}"


def render(summary: Summary, lang: str = "ko") -> bytes:
    """The summary as PDF bytes."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    labels = LABELS.get(lang, LABELS["ko"])
    regular, bold = font_files()

    class Document(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FAMILY, "", 8)
            self.set_text_color(*MUTED)
            self.cell(0, 6, labels["footer"].format(page=self.page_no()), align="C")

    pdf = Document(orientation="P", unit="mm", format="A4")
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font(FAMILY, "", regular, collection_font_number=KR_FACE)
    pdf.add_font(FAMILY, "B", bold, collection_font_number=KR_FACE)
    pdf.set_title(labels["title"])
    pdf.set_author("Beach-Saver")
    pdf.set_creator("Beach-Saver")
    pdf.set_lang("ko-KR" if lang == "ko" else "en")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    # ---- title block
    pdf.set_fill_color(*PRIMARY)
    pdf.rect(pdf.l_margin, pdf.t_margin, width, 2, style="F")
    pdf.ln(5)
    pdf.set_text_color(*TEXT)
    pdf.set_font(FAMILY, "B", 18)
    pdf.cell(0, 10, labels["title"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 10)
    pdf.set_text_color(*MUTED)
    generated = summary.generated_at or datetime.now(SEOUL)
    meta = [
        (labels["organisation"], f"{summary.org_name} ({summary.org_code})"),
        (labels["period"], f"{summary.start.isoformat()} ~ {summary.end.isoformat()}"),
        (labels["generated"], to_utc(generated).astimezone(SEOUL).strftime("%Y-%m-%d %H:%M KST")),
    ]
    for name, value in meta:
        pdf.cell(28, 6, name)
        pdf.cell(0, 6, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)

    def section(title: str) -> None:
        pdf.set_text_color(*PRIMARY)
        pdf.set_font(FAMILY, "B", 12)
        pdf.cell(0, 8, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_draw_color(*RULE)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
        pdf.ln(1.5)
        pdf.set_text_color(*TEXT)
        pdf.set_font(FAMILY, "", 10)

    def pairs(rows: list[tuple[str, str]]) -> None:
        for index, (name, value) in enumerate(rows):
            pdf.set_fill_color(*(BACKGROUND if index % 2 == 0 else (255, 255, 255)))
            pdf.cell(width * 0.65, 7, "  " + name, fill=True)
            pdf.cell(width * 0.35, 7, value + "  ", align="R", fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(4)

    section(labels["reports"])
    pairs(
        [
            (labels["investigation_reports"], _count(summary.investigation_reports)),
            (labels["cleaning_reports"], _count(summary.cleaning_reports)),
            (labels["collection_requests"], _count(summary.collection_requests)),
        ]
    )
    section(labels["amounts"])
    pairs(
        [
            (labels["litres_estimated"], _amount(summary.litres_estimated)),
            (labels["kg_cleaned"], _amount(summary.kg_cleaned)),
            (labels["kg_collected"], _amount(summary.kg_collected)),
            (labels["depots_collected"], _count(summary.depots_collected)),
            (labels["depots_waiting"], _count(summary.depots_waiting)),
        ]
    )

    beaches = summary.top_beaches
    section(labels["chart"].format(n=len(beaches) or 5))
    if not beaches:
        pdf.set_text_color(*MUTED)
        pdf.cell(0, 8, labels["no_data"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(*TEXT)
    else:
        _bar_chart(pdf, beaches, width)
        pdf.ln(4)
        section(labels["top_beaches"])
        columns = (width * 0.1, width * 0.5, width * 0.15, width * 0.25)
        pdf.set_font(FAMILY, "B", 10)
        pdf.set_fill_color(*BACKGROUND)
        heads = (labels["rank"], labels["beach"], labels["count"], labels["kg_cleaned"])
        for (w, head), align in zip(zip(columns, heads, strict=True), ("C", "L", "R", "R"), strict=True):
            pdf.cell(w, 7, head, align=align, fill=True)
        pdf.ln(7)
        pdf.set_font(FAMILY, "", 10)
        for rank, beach in enumerate(beaches, start=1):
            pdf.cell(columns[0], 7, str(rank), align="C")
            pdf.cell(columns[1], 7, beach.beach_name[:40])
            pdf.cell(columns[2], 7, _count(beach.reports), align="R")
            pdf.cell(columns[3], 7, _amount(beach.kg_cleaned), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _bar_chart(pdf: object, beaches: list[BeachFigure], width: float) -> None:
    """Horizontal bars, one per beach, scaled to the largest value, with a baseline and values."""
    from fpdf import FPDF

    assert isinstance(pdf, FPDF)
    label_w = width * 0.3
    value_w = width * 0.15
    bar_max = width - label_w - value_w - 2
    bar_h = 6.0
    gap = 3.0
    top = pdf.get_y() + 2
    largest = max((float(b.kg_cleaned) for b in beaches), default=0.0) or 1.0
    x0 = pdf.l_margin + label_w
    for index, beach in enumerate(beaches):
        y = top + index * (bar_h + gap)
        pdf.set_xy(pdf.l_margin, y)
        pdf.set_text_color(*TEXT)
        pdf.cell(label_w - 2, bar_h, beach.beach_name[:20], align="R")
        length = max(0.5, bar_max * float(beach.kg_cleaned) / largest)
        pdf.set_fill_color(*(PRIMARY if index == 0 else PRIMARY_LIGHT))
        pdf.rect(x0, y, length, bar_h, style="F")
        pdf.set_xy(x0 + length + 1.5, y)
        pdf.set_text_color(*MUTED)
        pdf.cell(value_w, bar_h, _amount(beach.kg_cleaned))
    bottom = top + len(beaches) * (bar_h + gap) - gap + 1
    pdf.set_draw_color(*MUTED)
    pdf.set_line_width(0.3)
    pdf.line(x0, top - 1, x0, bottom)
    pdf.set_line_width(0.2)
    pdf.set_text_color(*TEXT)
    pdf.set_xy(pdf.l_margin, bottom + 1)
