"""Inline SVG: the distribution of log10(bound_ratio / budget), one step line per framework."""

from __future__ import annotations

import math

from conformance.report.page import attrs, esc

LO, HI, STEP = -4.0, 1.0, 0.25  # bins of log10(ratio / budget); the end bins also hold what lies beyond
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
W, H, PAD_L, PAD_B, PAD_T, PAD_R = 440, 170, 36, 28, 10, 10


def bin_counts(ratios: list[float]) -> list[int]:
    """Counts per bin; a ratio of 0 (exact) and anything under 10**LO fall into the first bin."""
    n = int(round((HI - LO) / STEP))
    counts = [0] * n
    for r in ratios:
        x = math.log10(r) if r > 0 else LO
        i = min(max(int(math.floor((x - LO) / STEP)), 0), n - 1)
        counts[i] += 1
    return counts


def histogram(series: dict[str, list[float]], title: str) -> str:
    """``series``: framework -> ratios to budget. Each framework's line is a ``<g>`` the page's
    framework filter can hide (class ``fx``, ``data-fw``)."""
    binned = {name: bin_counts(vals) for name, vals in series.items() if vals}
    if not binned:
        return '<p class="muted">no accuracy example with a bound ratio</p>'
    nbins = int(round((HI - LO) / STEP))
    top = max(max(c) for c in binned.values()) or 1
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def x_of(v: float) -> float:
        return PAD_L + (v - LO) / (HI - LO) * pw

    def y_of(c: float) -> float:
        return PAD_T + ph - c / top * ph

    parts = [f'<svg class="hist" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img"'
             f' aria-label="{esc(title)}"><title>{esc(title)}</title>']
    # budget band: right of log10 = 0 the examples are over budget
    parts.append(f'<rect x="{x_of(0):.1f}" y="{PAD_T}" width="{x_of(HI) - x_of(0):.1f}" height="{ph}" class="over"/>')
    for t in range(int(LO), int(HI) + 1):
        x = x_of(t)
        parts.append(f'<line x1="{x:.1f}" y1="{PAD_T}" x2="{x:.1f}" y2="{PAD_T + ph}" class="grid"/>')
        label = "budget" if t == 0 else f"1e{t}"
        parts.append(f'<text x="{x:.1f}" y="{H - 12}" class="tick" text-anchor="middle">{label}</text>')
    parts.append(f'<text x="{PAD_L - 4}" y="{PAD_T + 8}" class="tick" text-anchor="end">{top}</text>')
    parts.append(f'<text x="{PAD_L - 4}" y="{PAD_T + ph}" class="tick" text-anchor="end">0</text>')
    parts.append(f'<text x="{PAD_L + pw / 2:.1f}" y="{H - 1}" class="tick" text-anchor="middle">'
                 "bound_ratio / budget (log scale; ≤1e-4 and ≥10 gathered at the ends)</text>")
    for k, (name, counts) in enumerate(sorted(binned.items())):
        colour = PALETTE[k % len(PALETTE)]
        pts = [f"{x_of(LO):.1f},{y_of(0):.1f}"]
        for i, c in enumerate(counts):
            x0, x1 = x_of(LO + i * STEP), x_of(LO + (i + 1) * STEP)
            pts += [f"{x0:.1f},{y_of(c):.1f}", f"{x1:.1f},{y_of(c):.1f}"]
        pts.append(f"{x_of(LO + nbins * STEP):.1f},{y_of(0):.1f}")
        total = sum(counts)
        parts.append(f'<g{attrs(class_="fx", data_fw=name)}><polyline points="{" ".join(pts)}" fill="none"'
                     f' stroke="{colour}" stroke-width="1.6"><title>{esc(name)}: {total} examples</title></polyline>'
                     f'<text x="{W - PAD_R - 4}" y="{PAD_T + 12 + 12 * k}" text-anchor="end" class="legend"'
                     f' fill="{colour}">{esc(name)} ({total})</text></g>')
    parts.append("</svg>")
    return "".join(parts)
