"""Turn report blocks into one self-contained HTML page (inline CSS, PNGs as data URIs).

The page needs no network and no JavaScript to view: every image is a base64 ``data:`` URI,
the style sheet is inline, and the table of contents uses plain anchors.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from string import Template
from typing import Any

import numpy as np
import pandas as pd

from brainobs.report.section import Block, FigureBlock, TableBlock, TextBlock, UnavailableBlock

__all__ = ["RenderedSection", "figure_png", "render_block", "render_page", "unavailable_box"]


@dataclass(frozen=True)
class RenderedSection:
    """A section's key, title and HTML body, ready to be placed on the page."""

    key: str
    title: str
    body: str
    available: bool = True


_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
  color: #222; background: #fafafa; line-height: 1.45; }
header { background: #1f3b57; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 22px; }
header p { margin: 0; opacity: 0.85; font-size: 13px; }
nav { padding: 10px 32px; background: #eef2f6; font-size: 13px; border-bottom: 1px solid #d8dee5; }
nav a { margin-right: 14px; color: #1f3b57; text-decoration: none; white-space: nowrap; }
nav a.missing { color: #a33; }
main { padding: 8px 32px 40px 32px; max-width: 1200px; }
section { background: #fff; border: 1px solid #e1e5ea; border-radius: 6px; margin: 18px 0;
  padding: 4px 20px 16px 20px; }
section h2 { font-size: 18px; border-bottom: 1px solid #e8ebef; padding-bottom: 6px; }
p.intro { color: #555; font-size: 13px; margin-top: 0; }
figure { margin: 12px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #f0f0f0; }
figcaption { font-size: 12px; color: #555; margin-top: 4px; }
table { border-collapse: collapse; font-size: 12px; margin: 10px 0; }
th, td { border-bottom: 1px solid #e4e7eb; padding: 3px 10px; text-align: right; }
th { background: #f3f5f8; }
td.text, th.text { text-align: left; }
caption { caption-side: top; text-align: left; font-size: 12px; color: #555; padding: 4px 0; }
div.unavailable { border: 1px solid #e3b5b5; background: #fdf1f1; color: #7a2323;
  border-radius: 4px; padding: 10px 14px; font-size: 13px; }
footer { color: #777; font-size: 12px; padding: 0 32px 24px 32px; }
"""

_PAGE = Template(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>$css</style>
</head>
<body>
<header><h1>$title</h1><p>$subtitle</p></header>
<nav>$toc</nav>
<main>
$sections
</main>
<footer>$footer</footer>
</body>
</html>
"""
)


def figure_png(figure: Any, dpi: int = 100) -> tuple[bytes, int, int]:
    """Return the PNG bytes of a matplotlib Figure and its width and height in pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    data = buffer.getvalue()
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return data, width, height


def _figure_html(block: FigureBlock) -> str:
    """Return an HTML <figure> with the block's PNG embedded as a data URI."""
    data, width, height = figure_png(block.figure)
    encoded = base64.b64encode(data).decode("ascii")
    alt = html.escape(block.alt or block.caption or "figure", quote=True)
    caption = f"<figcaption>{html.escape(block.caption)}</figcaption>" if block.caption else ""
    return (
        f'<figure><img src="data:image/png;base64,{encoded}" width="{width}" '
        f'height="{height}" alt="{alt}">{caption}</figure>'
    )


def _cell(value: Any, float_format: str) -> tuple[str, bool]:
    """Return a table cell's text and whether it is text (left-aligned) rather than a number."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)), True
    if isinstance(value, (float, np.floating)):
        return ("" if np.isnan(value) else float_format.format(value)), False
    if isinstance(value, (int, np.integer)):
        return str(int(value)), False
    return ("" if value is None or value is pd.NA else str(value)), True


def _row_html(cells: Sequence[Any], tag: str, float_format: str) -> str:
    """Return one <tr> of ``cells`` using ``tag`` (td or th)."""
    parts = []
    for value in cells:
        text, is_text = _cell(value, float_format)
        css = ' class="text"' if is_text else ""
        parts.append(f"<{tag}{css}>{html.escape(text)}</{tag}>")
    return "<tr>" + "".join(parts) + "</tr>"


def _table_html(block: TableBlock) -> str:
    """Return an HTML <table> of the block's DataFrame."""
    table = block.table
    header = ([table.index.name or ""] if block.index else []) + [str(c) for c in table.columns]
    rows = [_row_html(header, "th", block.float_format)]
    for label, row in zip(table.index, table.itertuples(index=False), strict=True):
        cells = ([label] if block.index else []) + list(row)
        rows.append(_row_html(cells, "td", block.float_format))
    caption = f"<caption>{html.escape(block.caption)}</caption>" if block.caption else ""
    return f"<table>{caption}{''.join(rows)}</table>"


def render_block(block: Block) -> str:
    """Return the HTML of one block."""
    if isinstance(block, FigureBlock):
        return _figure_html(block)
    if isinstance(block, TableBlock):
        return _table_html(block)
    if isinstance(block, TextBlock):
        return f"<p>{html.escape(block.text)}</p>"
    if isinstance(block, UnavailableBlock):
        return unavailable_box(block.reason)
    raise TypeError(f"a section returned {type(block).__name__}; return report blocks")


def unavailable_box(reason: str) -> str:
    """Return the HTML box shown in place of a section that could not be drawn."""
    return f'<div class="unavailable">not available: {html.escape(reason)}</div>'


def _section_html(section: RenderedSection) -> str:
    """Return the <section> element of a rendered section."""
    return (
        f'<section id="{html.escape(section.key, quote=True)}">'
        f"<h2>{html.escape(section.title)}</h2>\n{section.body}\n</section>"
    )


def render_page(
    title: str, subtitle: str, sections: Sequence[RenderedSection], footer: str = ""
) -> str:
    """Return the whole HTML page: header, table of contents, sections and footer."""
    toc = " ".join(
        f'<a href="#{html.escape(s.key, quote=True)}"'
        f"{'' if s.available else ' class=missing'}>{html.escape(s.title)}</a>"
        for s in sections
    )
    return _PAGE.substitute(
        title=html.escape(title),
        subtitle=html.escape(subtitle),
        css=_CSS,
        toc=toc,
        sections="\n".join(_section_html(s) for s in sections),
        footer=html.escape(footer),
    )
