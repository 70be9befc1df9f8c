"""SVG drawing of a laid-out model diagram: boxes with a title band and rows of cells,
curved edges with arrowheads, dashed frames around nested models.

Text is set in a monospace font and measured as a fixed width per character, so boxes
fit their text whatever font the viewer substitutes within the monospace family.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

FONT = "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, monospace"
TITLE_SIZE = 15.0
TEXT_SIZE = 13.0
CHAR_WIDTH = 0.62  # of the font size: monospace advance (0.60) plus a little slack
PAD_X, PAD_Y = 10.0, 7.0
CELL_STYLES = {  # fill, text colour
    "plain": ("#ffffff", "#111111"),
    "trainable": ("#228b22", "#ffffff"),
    "frozen": ("#b22222", "#ffffff"),
}


@dataclass
class BoxLabel:
    """What one box shows: a title (``title_bold`` in bold, then ``title_rest``), full
    width ``rows`` of ``(label, value)`` and one row of side-by-side ``cells``, each
    ``(label, value, style)`` with style a key of ``CELL_STYLES``."""

    title_bold: str
    title_rest: str = ""
    rows: list = field(default_factory=list)
    cells: list = field(default_factory=list)


def _text_width(text: str, size: float) -> float:
    return len(text) * size * CHAR_WIDTH


def _row_height(size: float) -> float:
    return size * 1.25 + 2 * PAD_Y


def _cell_width(label: str, value: str) -> float:
    return _text_width(label + value, TEXT_SIZE) + 2 * PAD_X


def box_size(label: BoxLabel) -> tuple[float, float]:
    """The width and height of the box drawn for ``label``."""
    width = _text_width(label.title_bold + label.title_rest, TITLE_SIZE) + 2 * PAD_X
    for name, value in label.rows:
        width = max(width, _cell_width(name, value))
    if label.cells:
        width = max(width, sum(_cell_width(name, value) for name, value, _ in label.cells))
    height = _row_height(TITLE_SIZE) + _row_height(TEXT_SIZE) * (
        len(label.rows) + bool(label.cells))
    return width, height


def _text(x: float, y: float, parts: list, size: float, colour: str, anchor="middle") -> str:
    """A text element centred on (x, y) made of ``(string, bold)`` parts."""
    spans = "".join(f'<tspan font-weight="bold">{escape(s)}</tspan>' if bold else escape(s)
                    for s, bold in parts if s)
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" fill="{colour}" '
            f'text-anchor="{anchor}" dominant-baseline="central">{spans}</text>')


def _box(key: str, name: str, label: BoxLabel, x: float, y: float, w: float, h: float) -> str:
    out = [f'<g class="layer" id={quoteattr(key)} data-name={quoteattr(name)}>',
           f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="#ffffff" '
           'stroke="#111111" stroke-width="1.2"/>']
    row = _row_height(TITLE_SIZE)
    out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{row:.1f}" '
               'fill="#111111"/>')
    out.append(_text(x + w / 2, y + row / 2, [(label.title_bold, True), (label.title_rest, False)],
                     TITLE_SIZE, "#ffffff"))
    top = y + row
    row = _row_height(TEXT_SIZE)
    for name_, value in label.rows:
        out.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x + w:.1f}" y2="{top:.1f}" '
                   'stroke="#111111" stroke-width="1"/>')
        out.append(_text(x + w / 2, top + row / 2, [(name_, False), (value, True)], TEXT_SIZE,
                         "#111111"))
        top += row
    if label.cells:
        natural = [_cell_width(n, v) for n, v, _ in label.cells]
        scale = w / sum(natural)
        left = x
        for (name_, value, style), width in zip(label.cells, natural):
            width *= scale
            fill, colour = CELL_STYLES[style]
            out.append(f'<rect x="{left:.1f}" y="{top:.1f}" width="{width:.1f}" '
                       f'height="{row:.1f}" fill="{fill}" stroke="#111111" stroke-width="1"/>')
            out.append(_text(left + width / 2, top + row / 2, [(name_, False), (value, True)],
                             TEXT_SIZE, colour))
            left += width
    out.append("</g>")
    return "\n".join(out)


def _edge_path(points: list, rankdir: str) -> str:
    """A smooth path through ``points``: each step a cubic curve leaving and entering
    along the rank axis."""
    (x0, y0), rest = points[0], points[1:]
    d = [f"M{x0:.1f},{y0:.1f}"]
    for x1, y1 in rest:
        if rankdir == "TB":
            mid = (y0 + y1) / 2
            d.append(f"C{x0:.1f},{mid:.1f} {x1:.1f},{mid:.1f} {x1:.1f},{y1:.1f}")
        else:
            mid = (x0 + x1) / 2
            d.append(f"C{mid:.1f},{y0:.1f} {mid:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
        x0, y0 = x1, y1
    return " ".join(d)


def render_svg(diagram_layout, labels: dict, names: dict, edges: list, cluster_names: dict,
               rankdir: str) -> str:
    """The SVG document of a laid-out diagram.

    Args:
        diagram_layout: a ``graph_layout.Layout``.
        labels: ``box key -> BoxLabel``; ``names``: ``box key -> layer name``.
        edges: the ``(source, target)`` box keys, in the layout's edge order.
        cluster_names: ``cluster key -> the nested model's name``.
        rankdir: ``"TB"`` or ``"LR"`` (the direction edges run).
    """
    lay = diagram_layout
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{lay.width:.0f}" '
           f'height="{lay.height:.0f}" viewBox="0 0 {lay.width:.1f} {lay.height:.1f}" '
           f'font-family="{FONT}">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
           'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
           '<path d="M0,0 L10,5 L0,10 z" fill="#333333"/></marker></defs>',
           f'<rect width="{lay.width:.1f}" height="{lay.height:.1f}" fill="#ffffff"/>']
    for key, (x, y, w, h) in sorted(lay.clusters.items(), key=lambda kv: kv[1][2] * kv[1][3],
                                    reverse=True):  # outer frames first
        out.append(f'<g class="cluster" data-name={quoteattr(cluster_names[key])}>'
                   f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                   'fill="none" stroke="#555555" stroke-width="1.2" stroke-dasharray="6,4"/>'
                   + _text(x + 8, y + 12, [(cluster_names[key], True)], TEXT_SIZE, "#333333",
                           anchor="start") + "</g>")
    for (source, target), points in zip(edges, lay.edges):
        out.append(f'<path class="edge" data-source={quoteattr(names[source])} '
                   f'data-target={quoteattr(names[target])} d="{_edge_path(points, rankdir)}" '
                   'fill="none" stroke="#333333" stroke-width="1.4" marker-end="url(#arrow)"/>')
    for key, (x, y, w, h) in lay.boxes.items():
        out.append(_box(key, names[key], labels[key], x, y, w, h))
    out.append("</svg>")
    return "\n".join(out) + "\n"
