"""Excel export of the statistics rows (07 §10): the columns the caller picks, headed by the
console's labels in the caller's language, written as plain SpreadsheetML row by row (no per-cell
objects). ``stream_xlsx`` deflates the workbook into the response as the rows are formatted (no
file, no list of rows), so memory stays flat however many rows there are; ``write_xlsx`` writes
the same workbook into a temporary file."""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import Generator, Iterable, Iterator, Sequence, Sized
from contextlib import closing
from decimal import Decimal
from typing import IO, Any

from beachsaver.core import errors
from beachsaver.core.i18n import DEFAULT_LANGUAGE

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 64 * 1024
#: Kept in memory up to this size, spilled to a temporary file beyond it.
SPOOL_BYTES = 4 * 1024 * 1024

#: The console's column labels (Korean, English), by response field name.
LABELS: dict[str, dict[str, str]] = {
    "period": {"ko": "기간", "en": "Period"},
    "org_id": {"ko": "조직 ID", "en": "Organisation ID"},
    "org_name": {"ko": "조직", "en": "Organisation"},
    "beach_id": {"ko": "해변 ID", "en": "Beach ID"},
    "beach_name": {"ko": "해변", "en": "Beach"},
    "team_id": {"ko": "팀 ID", "en": "Team ID"},
    "team_name": {"ko": "팀", "en": "Team"},
    "user_id": {"ko": "작업자 ID", "en": "Worker ID"},
    "nickname": {"ko": "닉네임", "en": "Nickname"},
    "trash_type": {"ko": "쓰레기 종류", "en": "Litter type"},
    "investigation_reports": {"ko": "조사 보고서 (건)", "en": "Investigation reports"},
    "cleaning_reports": {"ko": "청소 보고서 (건)", "en": "Cleaning reports"},
    "collection_requests": {"ko": "수거 요청 (건)", "en": "Collection requests"},
    "litres_estimated": {"ko": "추정 쓰레기량 (L)", "en": "Litres estimated"},
    "kg_cleaned": {"ko": "청소량 (kg)", "en": "Cleaned (kg)"},
    "kg_collected": {"ko": "수거량 (kg)", "en": "Collected (kg)"},
    "depots_waiting": {"ko": "수거 대기 집하장", "en": "Depots waiting"},
    "depots_collected": {"ko": "수거 완료 집하장", "en": "Depots collected"},
    "volunteer_hours": {"ko": "자원봉사 시간", "en": "Volunteer hours"},
    "avg_hours_to_collection": {"ko": "평균 수거 소요 시간 (시간)", "en": "Average hours to collection"},
}
SHEET_TITLE = {"ko": "통계", "en": "Statistics"}


def label(column: str, lang: str) -> str:
    entry = LABELS.get(column)
    if entry is None:
        return column
    return entry.get(lang) or entry[DEFAULT_LANGUAGE]


def pick_columns(requested: Sequence[str] | None, available: Sequence[str]) -> list[str]:
    """``columns=a,b`` (or repeated) → the chosen columns in the order given; every column when
    none is given; an unknown column → 400 naming ``query.columns``."""
    if not requested:
        return list(available)
    chosen: list[str] = []
    unknown: list[str] = []
    for item in requested:
        for name in (part.strip() for part in item.split(",")):
            if not name:
                continue
            if name not in available:
                unknown.append(name)
            elif name not in chosen:
                chosen.append(name)
    if unknown:
        raise errors.ValidationFailed.field(
            "query.columns", f"unknown column(s): {', '.join(unknown)}; one of {', '.join(available)}"
        )
    if not chosen:
        return list(available)
    return chosen


def write_xlsx(rows: Iterable[dict[str, Any]], columns: Sequence[str], lang: str) -> IO[bytes]:
    """The workbook in a spooled temporary file, positioned at its start.

    The worksheet XML is written directly, row by row, into the zip entry (plain values: numbers,
    inline strings, no styles), which is what openpyxl's write-only mode produces in content but
    without its per-cell objects (about 10 times faster; memory stays flat)."""
    count = len(rows) if isinstance(rows, Sized) else None
    values = (tuple(map(row.get, columns)) for row in rows)
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by the stream
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as book:
        for _ in _write_book(book, values, columns, columns, lang, count):
            pass
    out.seek(0)
    return out


def stream_xlsx(
    rows: Iterable[Sequence[Any]],
    fields: Sequence[str],
    columns: Sequence[str],
    lang: str,
    count: int | None = None,
) -> Generator[bytes, None, None]:
    """The workbook, chunk by chunk, as it is written: ``rows`` are value tuples in ``fields``
    order, of which ``columns`` are written; ``count`` (the number of rows, when known) gives
    the sheet its dimension. The parts are the ones ``write_xlsx`` writes; the zip entries carry
    their sizes after their data (data descriptors), as any zip written to a pipe does."""
    sink = _Chunks()
    with (
        zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as book,
        # a client that goes away closes this generator: the sheet's entry closes before the zip
        closing(_write_book(book, rows, fields, columns, lang, count)) as steps,
    ):
        for _ in steps:
            if sink.size >= CHUNK:
                yield sink.take()
    if sink.size:
        yield sink.take()


class _Chunks:
    """A write-only, unseekable file for the zip writer: what it writes is taken out in chunks."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes, /) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return data


def _write_book(
    book: zipfile.ZipFile,
    rows: Iterable[Sequence[Any]],
    fields: Sequence[str],
    columns: Sequence[str],
    lang: str,
    count: int | None,
) -> Generator[None, None, None]:
    """Writes every part into ``book``, pausing after each batch of worksheet rows (so that a
    caller can hand on what has been written so far)."""
    title = SHEET_TITLE.get(lang, SHEET_TITLE[DEFAULT_LANGUAGE])
    for name, body in _package(title).items():
        book.writestr(name, body)
    with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
        for part in _sheet_xml(rows, fields, columns, lang, count):
            sheet.write(part)
            yield


_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
#: Characters XML 1.0 does not allow (openpyxl refuses them); dropped from the text.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_NEEDS_ESCAPE = re.compile(r'[&<>"\x00-\x08\x0b\x0c\x0e-\x1f]')
#: Fast deflate: the XML is very repetitive, level 1 already shrinks it about tenfold.
COMPRESS_LEVEL = 1
#: Rows buffered before a write to the zip entry.
ROWS_PER_WRITE = 500


def _package(title: str) -> dict[str, str]:
    """Every part of the package but the worksheet."""
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    return {
        "[Content_Types].xml": _XML_DECL
        + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/>'
        "</Types>",
        "_rels/.rels": _XML_DECL + f'<Relationships xmlns="{_PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>",
        "xl/workbook.xml": _XML_DECL + f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        f'<sheets><sheet name="{_xml_text(title)}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": _XML_DECL + f'<Relationships xmlns="{_PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL_NS}/styles" Target="styles.xml"/>'
        "</Relationships>",
        "xl/styles.xml": _XML_DECL + f'<styleSheet xmlns="{_MAIN_NS}">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>",
    }


def _xml_text(value: str) -> str:
    if _NEEDS_ESCAPE.search(value) is None:
        return value
    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return _ILLEGAL.sub("", text)


def _column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell(ref: str, value: Any) -> str:
    """One ``<c>`` (``""`` for an empty cell): numbers as numbers, booleans as booleans, anything
    else as an inline string."""
    if value is None:
        return ""
    if value is True or value is False:
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float | Decimal):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{_xml_text(str(value))}</t></is></c>'


def _sheet_xml(
    rows: Iterable[Sequence[Any]], fields: Sequence[str], columns: Sequence[str], lang: str, count: int | None
) -> Iterator[bytes]:
    letters = [_column_letter(i) for i in range(len(columns))]
    head = _XML_DECL + f'<worksheet xmlns="{_MAIN_NS}">'
    if count is not None and columns:
        head += f'<dimension ref="A1:{letters[-1]}{count + 1}"/>'
    head += '<sheetData><row r="1">'
    head += "".join(_cell(f"{letter}1", label(c, lang)) for letter, c in zip(letters, columns, strict=True))
    yield (head + "</row>").encode()
    position = {name: i for i, name in enumerate(fields)}
    pairs = [(letter, position[column]) for letter, column in zip(letters, columns, strict=True)]
    buffer: list[str] = []
    append = buffer.append
    for number, row in enumerate(rows, start=2):
        append(f'<row r="{number}">')
        for letter, index in pairs:
            value = row[index]
            if value is None:
                continue
            kind = type(value)
            if kind is int or kind is float:  # the usual figures, inlined
                append(f'<c r="{letter}{number}"><v>{value}</v></c>')
            else:
                append(_cell(f"{letter}{number}", value))
        append("</row>")
        if number % ROWS_PER_WRITE == 0:
            yield "".join(buffer).encode()
            buffer.clear()
    append("</sheetData></worksheet>")
    yield "".join(buffer).encode()


def stream(file: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := file.read(CHUNK):
            yield chunk
    finally:
        file.close()
