"""HTML building blocks: escaping, number formats and the self-contained page shell.

Every string that comes from a record, a summary or a manifest goes through :func:`esc` (text
and attribute values alike); the page loads nothing from the network: its CSS and JS are this
package's ``report.css`` and ``report.js``, inlined.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SAFE_LINK_SCHEMES = ("https://", "http://")


def esc(value: Any) -> str:
    """Text or attribute value, escaped (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def attrs(**kw: Any) -> str:
    """`` name="value"`` pairs (escaped); ``data_fw`` becomes ``data-fw``; None values are left out."""
    return "".join(f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"' for k, v in kw.items() if v is not None)


def num(x: Any, digits: int = 3) -> str:
    """A figure for people: 3 significant digits, ``–`` for missing."""
    if x is None:
        return "–"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return esc(x)
    if isinstance(x, int):
        return str(x)
    if not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}"


def link(url: Any, text: Any | None = None) -> str:
    """An anchor for http(s) links only; anything else (``javascript:``...) stays plain text."""
    if not url:
        return ""
    label = esc(text if text is not None else url)
    if str(url).startswith(SAFE_LINK_SCHEMES):
        return f'<a href="{esc(url)}" rel="noreferrer noopener">{label}</a>'
    return label


def table(head: list[str], rows: list[str], cls: str = "") -> str:
    """``rows`` are complete ``<tr>`` strings; ``head`` cells are already-escaped HTML."""
    ths = "".join(f"<th>{h}</th>" for h in head)
    return f'<table{attrs(class_=cls or None)}><thead><tr>{ths}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def asset(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


def page(title: str, body: str) -> str:
    """The whole document: inline CSS and JS, no external resource of any kind."""
    script = asset("report.js").replace("</", "<\\/")  # never closes its own element early
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(title)}</title><style>{asset('report.css')}</style></head>\n"
        f"<body>{body}<script>{script}</script></body></html>\n"
    )
