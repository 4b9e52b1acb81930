"""A report (domain.reports) as files: an Excel workbook in the county's table layout (one sheet
per table, Chinese headers, the header row frozen, 合计 in bold) and a printable A4 page, which
core.printing turns into the PDF. One shape in, so every report kind is written alike."""

from __future__ import annotations

import io
import re
import unicodedata

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from core.printing import render_html
from domain.reports import Cell, Report, ReportTable

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_BOLD = Font(bold=True)
# Excel refuses these in a sheet's name, and names longer than 31 characters.
_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")


def per_unit_tables(report: Report, unit_names: dict[str, str]) -> list[ReportTable]:
    """Each unit's sections gathered into one table per section, a 单位 column first: the
    workbook and the page list every unit's part once, not one sheet per unit."""
    gathered: dict[str, ReportTable] = {}
    for unit_id, tables in report.per_unit.items():
        for table in tables:
            into = gathered.setdefault(
                table.title,
                ReportTable(title=f"分单位·{table.title}", columns=["单位", *table.columns]),
            )
            into.rows += [[unit_names.get(unit_id, unit_id), *row] for row in table.rows]
            if table.count is not None:  # each unit's list cut short: the 另有 K 件 add up
                into.count = (into.count or 0) + table.count
    return list(gathered.values())


def workbook(report: Report, unit_names: dict[str, str]) -> bytes:
    """The report as .xlsx: a 综述 sheet (title, period, summary), then one sheet per table."""
    book = Workbook()
    cover = book.active
    assert cover is not None  # a new workbook has its first sheet
    cover.title = "综述"
    cover.append([report.title])
    cover["A1"].font = Font(bold=True, size=14)
    cover.append(
        [f"统计时段：{report.period.start:%Y年%m月%d日}至{report.period.end:%Y年%m月%d日}"]
    )
    cover.append([report.summary])
    cover["A3"].alignment = Alignment(wrap_text=True, vertical="top")
    cover.column_dimensions["A"].width = 100
    cover.row_dimensions[3].height = 15 * (1 + _width(report.summary) // 100)
    used = {"综述"}
    for table in [*report.tables, *per_unit_tables(report, unit_names)]:
        _sheet(book.create_sheet(_sheet_name(table.title, used)), table)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(sheet: Worksheet, table: ReportTable) -> None:
    sheet.append(table.columns)
    for cell in sheet[1]:
        cell.font = _BOLD
        cell.alignment = Alignment(horizontal="center")
    for row in table.rows:
        sheet.append(row)
    if table.more:
        sheet.append([table.more_words])
    if table.total is not None:
        sheet.append(table.total)
        for cell in sheet[sheet.max_row]:
            cell.font = _BOLD
    sheet.freeze_panes = "A2"  # the header row stays while the rows scroll
    for index, header in enumerate(table.columns):
        values = [header, *(r[index] for r in table.rows if index < len(r))]
        letter = sheet.cell(row=1, column=index + 1).column_letter
        sheet.column_dimensions[letter].width = min(60, 2 + max(_width(v) for v in values))


def _width(value: Cell) -> int:
    """Characters as Excel measures columns: a Chinese character is two."""
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _sheet_name(title: str, used: set[str]) -> str:
    name = _NOT_IN_SHEET_NAMES.sub("_", title)[:31]
    candidate, n = name, 2
    while candidate in used:
        candidate = f"{name[:28]}({n})"
        n += 1
    used.add(candidate)
    return candidate


def page(report: Report, unit_names: dict[str, str], issuer: str) -> str:
    """The report as printable A4 HTML (the PDF's source)."""
    return render_html(
        "report.html.j2",
        title=report.title,
        number=None,
        issuer=issuer,
        summary=report.summary,
        tables=[*report.tables, *per_unit_tables(report, unit_names)],
        shown=lambda cell: "" if cell is None else cell,
    )
