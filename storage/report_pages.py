"""Human-readable views of an :class:`~storage.report.EvalReport`: ``eval.md`` and ``index.html``.

Both are Jinja2 templates in ``storage/templates/``. HTML is autoescaped; Markdown has no
escaping of its own, so every free-text value goes through :func:`markdown_escape` there.
"""

from __future__ import annotations

import functools
import re

import jinja2

from .report import EvalReport, SectionReport

SECTION_COLORS = {"intro": "#8ecae6", "build": "#ffb703", "release": "#fb8500"}
_OTHER_SECTION_COLOR = "#ccc"
_PLOT_WIDTH, _PLOT_HEIGHT, _PLOT_MARGIN = 520, 90, 4
_BAR_PX = 120  # width of a match bar at score 1

# Characters with inline meaning in CommonMark/GFM: emphasis, code, links, raw HTML, entities,
# strikethrough and table cells. Block markers (#, -, +, 1.) only act at the start of a line,
# and values never start one.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


def markdown_escape(value) -> str:
    """``value`` as Markdown text that renders literally, also inside a table cell.

    Special characters get a backslash; line breaks become spaces (a table row is one line).

    Examples
    --------
    >>> markdown_escape("a|b*_c_[x](y).wav")
    'a\\\\|b\\\\*\\\\_c\\\\_\\\\[x\\\\](y).wav'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).splitlines()))


def markdown_code(value) -> str:
    """``value`` as an inline code span, with a fence longer than any backtick run inside it."""
    text = " ".join(str(value).splitlines())
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def bar_px(score: float | None) -> str:
    """Width in pixels of a match bar (scores clipped to 0-1; a missing score draws none)."""
    return f"{max(0.0, min(1.0, score or 0.0)) * _BAR_PX:.0f}"


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("storage", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=jinja2.StrictUndefined,  # a misspelt field fails instead of rendering blank
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(markdown_escape=markdown_escape, markdown_code=markdown_code, bar_px=bar_px)
    return env


def render_markdown(report: EvalReport) -> str:
    """``eval.md``: headline table and one row per section."""
    return _environment().get_template("eval.md.j2").render(report=report)


def render_html(report: EvalReport, energy: dict[str, list[dict]]) -> str:
    """``index.html``: headline, then per file its energy curve and a row per section with players.

    Parameters
    ----------
    report : EvalReport
    energy : dict
        ``{file_id: [{"start_s", "end_s", "energy"}, ...]}``, the frames of every reported file.
    """
    by_file: dict[str, list[SectionReport]] = {}
    for section in report.sections:
        by_file.setdefault(section.file_id, []).append(section)
    files = [{"source": rows[0].source, "plot": _energy_plot(energy[file_id], rows), "sections": rows}
             for file_id, rows in by_file.items()]
    return _environment().get_template("index.html.j2").render(
        report=report, files=files, colors=SECTION_COLORS)


def _energy_plot(frames: list[dict], sections: list[SectionReport]) -> dict:
    """SVG geometry: energy per frame as polyline points over shaded section spans."""
    width, height, m = _PLOT_WIDTH, _PLOT_HEIGHT, _PLOT_MARGIN
    end = max((f["end_s"] for f in frames), default=0.0) or 1.0

    def x(t: float) -> float:
        return m + (width - 2 * m) * t / end

    def y(e: float) -> float:
        return height - m - (height - 2 * m) * e

    spans = [{"x": x(a), "width": x(b) - x(a), "section": s.section,
              "color": SECTION_COLORS.get(s.section, _OTHER_SECTION_COLOR)}
             for s in sections for a, b in s.spans]
    points = [(x((f["start_s"] + f["end_s"]) / 2), y(f["energy"])) for f in frames]
    return {"width": width, "height": height, "spans": spans, "points": points}
