"""Reading the import sheet (streamed, bounded) and writing .xlsx files (template, reports, exports).

Uploads are read with openpyxl in read-only mode: rows are parsed one at a time from the sheet's
XML and counting stops as soon as the file has more data rows than allowed, so a file of a
million rows is refused without being loaded. Everything that makes the file unusable as a
whole (not an .xlsx, wrong headers, too many rows) raises ``FileProblem``; problems of single
cells are left to the row validation.
"""

from __future__ import annotations

import io
import re
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import IO, Any

HEADERS: tuple[str, ...] = (
    "role",
    "org_code",
    "nickname",
    "real_name",
    "phone",
    "email",
    "cleaner_type",
    "birth",
    "start_date",
    "end_date",
    "vehicle_type",
    "capacity_t",
    "plate_no",
    "operator_type",
    "company_name",
    "business_no",
)
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: How many header cells are read to tell extra columns apart from trailing blanks.
HEADER_SCAN_COLUMNS = 64
#: Shared strings are the one part openpyxl keeps in memory whole: bound what it unpacks to.
MAX_SHARED_STRINGS_BYTES = 64 * 1024 * 1024
#: Blank rows between data rows are skipped, but a sheet may not go on blank for ever.
BLANK_ROW_ALLOWANCE = 10_000
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class FileProblem(Exception):
    """The upload cannot be imported at all; ``key`` names a message of the import catalogue."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass
class SheetRow:
    """One non-blank data row: ``row`` is the spreadsheet row number (header = 1)."""

    row: int
    values: dict[str, Any]
    formulas: list[str] = field(default_factory=list)
    error_cells: list[str] = field(default_factory=list)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _open_workbook(data: bytes, max_rows: int | None = None) -> Any:
    if not data:
        raise FileProblem("file_empty")
    if data[:8] == _OLE2_MAGIC:
        raise FileProblem("file_old_excel")
    buffer = io.BytesIO(data)
    if not zipfile.is_zipfile(buffer):
        raise FileProblem("file_not_xlsx")
    try:
        with zipfile.ZipFile(buffer) as archive:
            names = {info.filename: info for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FileProblem("file_not_xlsx") from None
    if "xl/workbook.xml" not in names:
        raise FileProblem("file_not_xlsx")
    shared = names.get("xl/sharedStrings.xml")
    if shared is not None and shared.file_size > MAX_SHARED_STRINGS_BYTES:
        raise FileProblem("file_too_large_unpacked")
    if max_rows is not None:
        _prescan_rows(buffer, max_rows)
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds (zip, XML, KeyError, InvalidFileException)
        raise FileProblem("file_not_xlsx") from None


_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _first_sheet_part(archive: zipfile.ZipFile) -> str | None:
    """The zip member of the workbook's first sheet (from workbook.xml and its relationships)."""
    from xml.etree import ElementTree

    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    first = next((el for el in workbook.iter() if el.tag.rsplit("}", 1)[-1] == "sheet"), None)
    if first is None:
        return None
    rel_id = first.get(f"{{{_REL_NS}}}id")
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for rel in rels:
        if rel.get("Id") == rel_id:
            target = rel.get("Target") or ""
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return None


class _TooManyRows(Exception):
    pass


def _prescan_rows(buffer: IO[bytes], max_rows: int) -> None:
    """Count the first sheet's ``<row>`` elements with a bare expat parser, stopping past the
    limit: openpyxl would otherwise walk a whole sheet that lacks a ``<dimension>`` before the
    first row is read."""
    from xml.parsers import expat

    limit = max_rows + 1 + BLANK_ROW_ALLOWANCE
    seen = 0

    def start(name: str, _attrs: Any) -> None:
        nonlocal seen
        if name == "row" or name.endswith(":row"):
            seen += 1
            if seen > limit:
                raise _TooManyRows()

    try:
        with zipfile.ZipFile(buffer) as archive:
            part = _first_sheet_part(archive)
            if part is None or part not in archive.namelist():
                return  # openpyxl reports what is wrong
            parser = expat.ParserCreate()
            parser.StartElementHandler = start
            with archive.open(part) as stream:
                while chunk := stream.read(256 * 1024):
                    parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except _TooManyRows:
        raise FileProblem("file_too_many_rows", max=max_rows) from None
    except Exception:  # broken XML or zip: openpyxl gives the verdict
        return


def _check_headers(cells: Sequence[Any]) -> None:
    found = [_clean(getattr(c, "value", None)) for c in cells]
    while found and found[-1] is None:
        found.pop()
    names = [str(v) if v is not None else "" for v in found]
    if tuple(names) == HEADERS:
        return
    missing = [h for h in HEADERS if h not in names]
    unexpected = [n or "(blank)" for n in names if n not in HEADERS]
    if not missing and not unexpected:
        raise FileProblem("file_headers_order", expected=", ".join(HEADERS))
    raise FileProblem(
        "file_headers",
        expected=", ".join(HEADERS),
        missing=", ".join(missing) or "-",
        unexpected=", ".join(unexpected) or "-",
    )


def read_rows(data: bytes, max_rows: int) -> list[SheetRow]:
    """The non-blank data rows of the first sheet, checked as a whole (``FileProblem``)."""
    workbook = _open_workbook(data, max_rows)
    try:
        sheets = workbook.worksheets
        if not sheets:
            raise FileProblem("file_no_sheet")
        sheet = sheets[0]
        try:
            header = next(sheet.iter_rows(min_row=1, max_row=1, max_col=HEADER_SCAN_COLUMNS), ())
            _check_headers(header)
            return _data_rows(sheet, max_rows)
        except FileProblem:
            raise
        except Exception:  # a broken sheet part: unreadable XML, bad cell references…
            raise FileProblem("file_not_xlsx") from None
    finally:
        workbook.close()


def _data_rows(sheet: Any, max_rows: int) -> list[SheetRow]:
    rows: list[SheetRow] = []
    last_row_allowed = max_rows + 1 + BLANK_ROW_ALLOWANCE
    width = len(HEADERS)
    for number, cells in enumerate(sheet.iter_rows(min_row=2, max_col=width), start=2):
        if number > last_row_allowed:
            raise FileProblem("file_too_many_rows", max=max_rows)
        values: dict[str, Any] = {}
        formulas: list[str] = []
        error_cells: list[str] = []
        blank = True
        for name, cell in zip(HEADERS, cells, strict=False):
            value = _clean(cell.value)
            if value is None:
                continue
            blank = False
            kind = getattr(cell, "data_type", None)
            if kind == "f":
                formulas.append(name)
            elif kind == "e":
                error_cells.append(name)
            else:
                values[name] = value
        if blank:
            continue
        if len(rows) >= max_rows:
            raise FileProblem("file_too_many_rows", max=max_rows)
        rows.append(SheetRow(row=number, values=values, formulas=formulas, error_cells=error_cells))
    return rows


# ---- writing ------------------------------------------------------------------------------------


def cell_text(value: Any) -> Any:
    """A value as it goes into a written cell (plain types only; text stays text)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)


def workbook_bytes(sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """A small workbook in memory: ``(title, headers, rows)`` per sheet."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for title, headers, rows in sheets:
        sheet = book.create_sheet(title)
        sheet.append(list(headers))
        for row in rows:
            sheet.append([cell_text(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{title}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/></Relationships>'
)
#: Two cell formats: 0 plain, 1 bold (the header row).
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _xml_text(value: str) -> str:
    text = _ILLEGAL_XML.sub("", value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(ref: str, value: Any, style: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{style} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref}"{style}><v>{value}</v></c>'
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            value = str(value)
        else:
            return f'<c r="{ref}"{style}><v>{value!r}</v></c>'
    text = _xml_text(str(cell_text(value)))
    return f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def write_streamed(headers: Sequence[str], rows: Iterator[Sequence[Any]], title: str) -> IO[bytes]:
    """A one-sheet workbook written row by row straight into the zip (text as inline strings),
    so memory stays flat whatever the row count; returns the finished file at its start.

    openpyxl's write-only mode works too but is several times slower without lxml.
    """
    letters = [_column_letter(i) for i in range(max(len(headers), 1))]
    target = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - handed to the response, closed there
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=5) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK.format(title=_xml_text(title)[:31]))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", _STYLES)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                b'<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
                b'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetData>'
            )
            head = "".join(_cell(f"{letters[i]}1", h, ' s="1"') for i, h in enumerate(headers))
            buffer = [f'<row r="1">{head}</row>']
            for number, row in enumerate(rows, start=2):
                cells = "".join(_cell(f"{letters[i]}{number}", v) for i, v in enumerate(row))
                buffer.append(f'<row r="{number}">{cells}</row>')
                if len(buffer) >= 1000:
                    sheet.write("".join(buffer).encode("utf-8"))
                    buffer.clear()
            buffer.append("</sheetData></worksheet>")
            sheet.write("".join(buffer).encode("utf-8"))
    target.seek(0)
    return target


def template_bytes(guide: Sequence[tuple[str, str]], guide_headers: Sequence[str]) -> bytes:
    """The import template: the header row on the first sheet (text-formatted columns and
    drop-down lists for the enumerations) and a guide on the second."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "accounts"
    sheet.append(list(HEADERS))
    lists = {
        "role": "INVESTIGATOR,CLEANER,COLLECTOR",
        "cleaner_type": "REGULAR",
        "vehicle_type": "SMALL,LARGE,SPECIAL",
        "operator_type": "COMPANY,INDIVIDUAL",
    }
    last_row = 50_001
    for index, name in enumerate(HEADERS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, len(name) + 4)
        if name != "capacity_t":
            # text format: phones keep their leading 0, dates are typed as YYYY-MM-DD
            sheet.column_dimensions[letter].number_format = "@"
        if name in lists:
            validation = DataValidation(type="list", formula1=f'"{lists[name]}"', allow_blank=True)
            validation.add(f"{letter}2:{letter}{last_row}")
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"
    guide_sheet = book.create_sheet("guide")
    guide_sheet.append(list(guide_headers))
    for row in guide:
        guide_sheet.append(list(row))
    guide_sheet.column_dimensions["A"].width = 16
    guide_sheet.column_dimensions["B"].width = 90
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
