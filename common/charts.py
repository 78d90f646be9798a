"""Server-rendered SVG charts: no JavaScript, readable on a phone, printable.

Labels are escaped; the functions return markup safe to put into a template.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # 0..100 for percentages, any non-negative number otherwise
    note: str = ""  # shown after the bar, e.g. "812/900"
    link: str = ""


def _colour(percent: float) -> str:
    if percent >= 95:
        return "#2f855a"
    if percent >= 80:
        return "#b7791f"
    return "#c53030"


def bar_chart(
    bars: Sequence[Bar], *, maximum: float = 100.0, unit: str = "%", title: str = ""
) -> SafeString:
    """Horizontal bars, one row per item, coloured by level when the unit is percent."""
    row, label_w, bar_w, note_w = 28, 170, 480, 150
    width = label_w + bar_w + note_w
    height = row * len(bars) + 10
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">'
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    for i, bar in enumerate(bars):
        y = 5 + i * row
        share = 0.0 if maximum <= 0 else max(0.0, min(1.0, bar.value / maximum))
        colour = _colour(bar.value) if unit == "%" else "#3b6ea5"
        label: str = escape(bar.label)
        if bar.link:
            label = f'<a href="{escape(bar.link)}">{label}</a>'
        parts.append(
            f'<g><text x="{label_w - 8}" y="{y + 18}" text-anchor="end" font-size="14">{label}'
            f"</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{bar_w}" height="18" fill="#edf2f7"/>'
            f'<rect x="{label_w}" y="{y + 4}" width="{bar_w * share:.1f}" height="18" '
            f'fill="{colour}"/>'
            f'<text x="{label_w + bar_w + 8}" y="{y + 18}" font-size="13">'
            f"{bar.value:.1f}{escape(unit)} {escape(bar.note)}</text></g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def line_chart(
    points: Sequence[tuple[str, float]], *, maximum: float = 100.0, unit: str = "%", title: str = ""
) -> SafeString:
    """A small trend line over labelled points (e.g. quarters)."""
    width, height, pad = 640, 220, 40
    inner_w, inner_h = width - 2 * pad, height - 2 * pad
    step = inner_w / max(1, len(points) - 1)

    def y_of(value: float) -> float:
        share = 0.0 if maximum <= 0 else max(0.0, min(1.0, value / maximum))
        return pad + inner_h * (1 - share)

    coords = [(pad + i * step, y_of(v)) for i, (_, v) in enumerate(points)]
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">'
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    for tick in (0, 50, 100):
        y = y_of(maximum * tick / 100)
        parts.append(
            f'<line x1="{pad}" x2="{width - pad}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9e2ec"/>'
            f'<text x="{pad - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{maximum * tick / 100:.0f}{escape(unit)}</text>"
        )
    if len(coords) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#c0392b" stroke-width="2"/>')
    for (x, y), (label, value) in zip(coords, points, strict=True):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#c0392b"/>'
            f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle" font-size="12">'
            f"{value:.1f}</text>"
            f'<text x="{x:.1f}" y="{height - pad + 18}" text-anchor="middle" font-size="12">'
            f"{escape(label)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
