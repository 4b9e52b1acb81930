"""The reports' charts (图表) on the console: drawn here as inline SVG from a report's own tables
(no script, nothing fetched), so a person sees the months and the units' ranking at a glance;
each chart is an image with its name (role="img", aria-label and <title>) and its numbers stay
in the tables beside it for whoever cannot see it."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

from domain.reports import Cell, Report, ReportKind, ReportTable

WIDTH = 640  # the drawing's own units; it scales to the page's width (a phone's too)
RANKED = 15  # the units a ranking shows: the 15 with most petitions (all are in the table)
DARK, LIGHT = "#12355b", "#9db4d0"


@dataclass(frozen=True)
class Chart:
    """One chart: its name (the image's accessible name) and its drawing."""

    title: str
    svg: Markup


def _number(cell: Cell) -> float:
    return float(cell) if isinstance(cell, int | float) else 0.0


def _figure(value: float) -> str:
    return f"{value:g}"


def _column(table: ReportTable, *names: str) -> int | None:
    """The first of ``names`` among the table's headers."""
    return next((table.columns.index(n) for n in names if n in table.columns), None)


def _drawn(title: str, parts: list[str]) -> Chart:
    # Safe as markup: every text from the report (a unit's name, a label) went through
    # escape() where it was written into the drawing; the rest is numbers.
    return Chart(title, Markup("".join(parts)))  # noqa: S704


def _open(title: str, height: int) -> str:
    name = escape(title)
    return (
        f'<svg class="chart" role="img" aria-label="{name}" viewBox="0 0 {WIDTH} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="18"><title>{name}</title>'
    )


def months(title: str, labels: list[str], now: list[float], before: list[float] | None) -> Chart:
    """Columns per month (批次), with last year's same month beside each when known (同比)."""
    height, top, bottom, left = 300, 44, 32, 8
    peak = max([*now, *(before or []), 1.0])
    slot = (WIDTH - left) / max(len(labels), 1)
    bar = slot * (0.38 if before else 0.6)
    plot = height - top - bottom
    parts = [_open(title, height)]
    parts.append(
        f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH}" y2="{height - bottom}" '
        'stroke="#8a9099"/>'
    )
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar * (2 if before else 1)) / 2
        series = [(now[i], DARK)] + ([(before[i], LIGHT)] if before else [])
        for j, (value, colour) in enumerate(series):
            h = plot * value / peak
            y = height - bottom - h
            bx = x + j * bar
            parts.append(
                f'<rect x="{bx:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour}"/>'
            )
            if j == 0:
                parts.append(
                    f'<text x="{bx + bar / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">'
                    f"{_figure(value)}</text>"
                )
        parts.append(
            f'<text x="{left + i * slot + slot / 2:.1f}" y="{height - 8}" font-size="16" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    if before:
        parts.append(
            f'<rect x="{left}" y="4" width="14" height="14" fill="{DARK}"/>'
            f'<text x="{left + 20}" y="18">本年</text>'
            f'<rect x="{left + 70}" y="4" width="14" height="14" fill="{LIGHT}"/>'
            f'<text x="{left + 90}" y="18">去年同月</text>'
        )
    parts.append("</svg>")
    return _drawn(title, parts)


def ranking(title: str, rows: list[tuple[str, float]]) -> Chart:
    """Horizontal bars, most first (排名): the unit's name, its bar and its number."""
    shown = sorted(rows, key=lambda r: -r[1])[:RANKED]
    line, label_width, right = 34, 230, 56
    height = line * len(shown) + 8
    peak = max([v for _, v in shown] + [1.0])
    parts = [_open(title, height)]
    for i, (name, value) in enumerate(shown):
        y = 4 + i * line
        w = (WIDTH - label_width - right) * value / peak
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 23}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{line - 8}" '
            f'fill="{DARK}"/>'
            f'<text x="{label_width + w + 6:.1f}" y="{y + 23}">{_figure(value)}</text>'
        )
    parts.append("</svg>")
    return _drawn(title, parts)


def _per_month(table: ReportTable) -> Chart | None:
    count = _column(table, "批次")
    if table.columns[:1] != ["月份"] or count is None or not table.rows:
        return None
    last = _column(table, "去年同月批次")
    labels = [str(row[0]) for row in table.rows]
    now = [_number(row[count]) for row in table.rows]
    before = [_number(row[last]) for row in table.rows] if last is not None else None
    return months(f"{table.title}（批次）", labels, now, before)


def _per_unit(table: ReportTable) -> Chart | None:
    unit, count = _column(table, "单位"), _column(table, "批次", "合计")
    if unit is None or count is None:
        return None
    rows = [(str(row[unit]), _number(row[count])) for row in table.rows if _number(row[count])]
    if not rows:
        return None
    return ranking(f"{table.title}（{table.columns[count]}）", rows)


def charts_of(report: Report) -> list[Chart]:
    """What the report's tables show best as pictures: a table of months as columns, a table
    of units as a ranking; the 巡查, a report of lists, as how long each list is."""
    drawn = [_per_month(t) for t in report.tables] + [_per_unit(t) for t in report.tables]
    found = [chart for chart in drawn if chart is not None]
    if report.kind is ReportKind.PATROL and any(t.rows for t in report.tables):
        # How long each list is, not how much of it is listed (the 巡查 lists the first 50).
        counts = [(t.title, float(len(t.rows) + t.more)) for t in report.tables]
        found.append(ranking("巡查各项件数", counts))
    return found
