"""Human-readable views of an :class:`~storage.report.EvalReport`: ``eval.md`` and ``index.html``.

Both are Jinja2 templates in ``storage/templates/``. HTML is autoescaped; Markdown has no
escaping of its own, so every free-text value goes through :func:`markdown_escape` there.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from .manifest import display_name
from .report import EvalReport, SectionReport

if TYPE_CHECKING:
    import jinja2

SECTION_COLORS = {"intro": "#8ecae6", "build": "#ffb703", "release": "#fb8500"}
_OTHER_SECTION_COLOR = "#ccc"
_PLOT_WIDTH, _PLOT_HEIGHT, _PLOT_MARGIN = 520, 90, 4
_BAR_PX = 120  # width of a match bar at score 1

# Characters with inline meaning in CommonMark/GFM: emphasis, code, links, raw HTML, entities,
# strikethrough and table cells. Block markers (#, -, +, 1.) only act at the start of a line,
# and values never start one.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


def printable(value) -> str:
    """``value`` as text any encoder accepts, written as the manifest writes names: bytes of a
    non-UTF-8 file name show as ``\\xNN`` (``storage.manifest.display_name``)."""
    return display_name(str(value))


def markdown_escape(value) -> str:
    """``value`` as Markdown text that renders literally, also inside a table cell.

    Special characters get a backslash; line breaks become spaces (a table row is one line).

    Examples
    --------
    >>> markdown_escape("a|b*_c_[x](y).wav")
    'a\\\\|b\\\\*\\\\_c\\\\_\\\\[x\\\\](y).wav'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(printable(value).splitlines()))


def markdown_code(value) -> str:
    """``value`` as an inline code span, with a fence longer than any backtick run inside it."""
    text = " ".join(printable(value).splitlines())
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


NO_INTERVAL = "n/a — needs ≥ 2 held-out files"


def interval(difference, fmt: str = "{}") -> str:
    """A difference's interval as ``[low, high]``; "n/a — needs ≥ 2 held-out files" when the
    file-level bootstrap had one file (a measured delta, no interval); "–" when nothing was
    measured.

    Examples
    --------
    >>> from storage.report import Difference
    >>> interval(Difference(delta=0.2, ci_low=0.1, ci_high=0.3))
    '[0.1, 0.3]'
    >>> interval(Difference(delta=0.2, ci_low=None, ci_high=None))
    'n/a — needs ≥ 2 held-out files'
    """
    if difference.delta is None:
        return "–"
    if difference.ci_low is None or difference.ci_high is None:
        return NO_INTERVAL
    return f"[{fmt.format(difference.ci_low)}, {fmt.format(difference.ci_high)}]"


def bar_px(score: float | None) -> str:
    """Width in pixels of a match bar (scores clipped to 0-1; a missing score draws none)."""
    return f"{max(0.0, min(1.0, score or 0.0)) * _BAR_PX:.0f}"


def render_note(render) -> str:
    """What a render was conditioned on and sampled with, in one short line ("" when unrecorded).

    Examples
    --------
    >>> from storage.report import Sampling
    >>> class R: conditioning, sampling = "mix:0.5", Sampling(do_sample=True, temperature=0.7, guidance_scale=3.0)
    >>> render_note(R)
    'mix:0.5 · T 0.7 · cfg 3'
    """
    if render is None:
        return ""
    parts = [render.conditioning] if render.conditioning else []
    sampling = render.sampling
    if sampling is not None:
        if sampling.do_sample:
            parts.append(f"T {sampling.temperature:g}")
            if sampling.top_k is not None:
                parts.append(f"top-k {sampling.top_k}")
        else:
            parts.append("greedy")
        parts.append(f"cfg {sampling.guidance_scale:g}")
    return " · ".join(parts)


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2  # here: the flows import this module for printable() and need no templates

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("storage", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=jinja2.StrictUndefined,  # a misspelt field fails instead of rendering blank
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(markdown_escape=markdown_escape, markdown_code=markdown_code, bar_px=bar_px,
                       render_note=render_note, interval=interval)
    return env


METRIC_LABELS = {
    "match": "MatchScore (embedding cosine)",
    "tempo_acc1": "tempo Acc1",
    "tempo_acc2": "tempo Acc2 (octave-tolerant)",
    "tempo_log2_error": "tempo |log2 error| (lower is better)",
    "key_weighted": "key (MIREX weighted)",
    "timbre": "timbre (independent descriptors)",
}
KIND_COLORS = {"adapter": "#219ebc", "fixed": "#adb5bd", "prior": "#8d99ae", "shuffled": "#ffb703",
               "oracle": "#2a9d8f"}
_DELTA_WIDTH, _DELTA_ROW = 420, 14


def attribute_rows(report: EvalReport) -> list[dict]:
    """One row per metric: its mean for every kind and, per reference, adapter - reference [CI]."""
    rows = []
    for metric, label in METRIC_LABELS.items():
        values = {kind: getattr(scores, metric) for kind, scores in report.attributes.items()}
        deltas = {ref: diffs[metric] for ref, diffs in report.differences.items() if metric in diffs}
        rows.append({"metric": metric, "label": label, "values": values, "deltas": deltas})
    return rows


def delta_plot(report: EvalReport) -> dict:
    """SVG geometry of the adapter - reference differences with their intervals, one bar each."""
    items = [(row["label"], ref, d) for row in attribute_rows(report) for ref, d in row["deltas"].items()
             if d.delta is not None]
    extent = max([abs(v) for _, _, d in items for v in (d.delta, d.ci_low, d.ci_high) if v is not None] + [0.1])
    label_w, half = 250, (_DELTA_WIDTH - 250) / 2

    def x(v: float) -> float:
        return label_w + half + half * v / extent

    bars = []
    for i, (label, ref, d) in enumerate(items):
        y = 6 + i * _DELTA_ROW
        bars.append({"y": y, "label": f"{label} − {ref}", "x0": min(x(0), x(d.delta)), "width": abs(x(d.delta) - x(0)),
                     "color": KIND_COLORS.get(ref, "#ccc"), "delta": d.delta,
                     "lo": x(d.ci_low) if d.ci_low is not None else None,
                     "hi": x(d.ci_high) if d.ci_high is not None else None})
    return {"width": _DELTA_WIDTH, "height": 12 + len(items) * _DELTA_ROW, "zero": x(0), "bars": bars,
            "extent": extent}


def render_markdown(report: EvalReport) -> str:
    """``eval.md``: headline, the per-attribute table against the references, a row per section."""
    return _environment().get_template("eval.md.j2").render(report=report, rows=attribute_rows(report))


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
        report=report, files=files, colors=SECTION_COLORS, rows=attribute_rows(report),
        deltas=delta_plot(report), kind_colors=KIND_COLORS)


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
