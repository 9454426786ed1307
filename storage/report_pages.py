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
from .report_plots import KIND_COLORS, SECTION_COLORS, delta_plot, energy_plot
from .report_verdict import carried, verdict, verdict_basis

if TYPE_CHECKING:
    import jinja2

_BAR_PX = 100  # width of a match bar at score 1

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
    """What a render was conditioned on and sampled with, in one short line ("" when unrecorded, or
    for a synth render, which plays its settings and samples nothing).

    Examples
    --------
    >>> from storage.report import Sampling
    >>> class R: conditioning, sampling = "mix:0.5", Sampling(do_sample=True, temperature=0.7, guidance_scale=3.0)
    >>> render_note(R)
    'mix:0.5 · T 0.7 · cfg 3'
    """
    if render is None or (render.conditioning == "controls" and render.sampling is None):
        return ""  # the synth plays its settings: nothing to tell one render from another
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
                       render_note=render_note, interval=interval, number=number, yes_no=yes_no,
                       label_origin=label_origin)
    env.globals.update(kind_names=KIND_NAMES, kind_help=KIND_HELP, kind_colors=KIND_COLORS,
                       section_colors=SECTION_COLORS)
    return env


# Each metric's name on the page (the report's term in brackets) and what it means, in plain words.
METRIC_LABELS = {
    "match": "overall match (MatchScore)",
    "tempo_acc1": "same tempo (tempo Acc1)",
    "tempo_acc2": "same tempo or double/half (tempo Acc2)",
    "tempo_log2_error": "tempo off by (|log2 error|, lower is better)",
    "key_weighted": "key (MIREX weighted)",
    "timbre": "sound colour (timbre)",
}
METRIC_HELP = {
    "match": "how close the render sounds to its source: similarity of their embeddings, 0 to 1",
    "tempo_acc1": "share of sections heard within 4 % of the source's tempo",
    "tempo_acc2": "the same, also counting double, triple, half or a third of the tempo",
    "tempo_log2_error": "how far the tempo is off, in octaves (1: double or half)",
    "key_weighted": "1 same key, 0.5 a fifth up, 0.3 relative major/minor, 0.2 parallel major/minor, 0 other",
    "timbre": "similarity of the instruments' sound colour (timbre descriptors)",
}
# The five kinds of render, as a musician would name them, and what each one is for.
KIND_NAMES = {"adapter": "adapter", "fixed": "fixed baseline", "prior": "prior", "shuffled": "shuffled",
              "oracle": "oracle"}
KIND_HELP = {
    "adapter": "rendered with the settings the adapter chose for this section from listening to it "
               "(mood, tempo, key, style, instrument balance)",
    "fixed": "the same settings for every section, whatever the music: what the adapter must beat",
    "prior": "the training music's most common mood, key and style and its median tempo, the same for every "
             "section: a good guess made without listening to the section",
    "shuffled": "the adapter's settings for a section of another file: tells whether its choices fit this "
                "section, not just music like yours in general",
    "oracle": "the section's own labels (its mood, tempo, key and style): what the renderer makes when told "
              "the answer, a ceiling for the adapter",
}
LABEL_SOURCES = {"weak": "from the analysis", "tag": "from the file's tags", "sidecar": "from labels.csv"}


def attribute_rows(report: EvalReport) -> list[dict]:
    """One row per metric: its mean for every kind and, per reference, adapter - reference [CI]."""
    rows = []
    for metric, label in METRIC_LABELS.items():
        values = {kind: getattr(scores, metric) for kind, scores in report.attributes.items()}
        deltas = {ref: diffs[metric] for ref, diffs in report.differences.items() if metric in diffs}
        rows.append({"metric": metric, "label": label, "help": METRIC_HELP[metric], "values": values,
                     "deltas": deltas})
    return rows


def number(value: float | None, digits: int = 3) -> str:
    """A figure for the page: ``digits`` decimals, "–" for one that was not measured."""
    return "–" if value is None else f"{value:.{digits}f}"


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def label_origin(section: SectionReport) -> str:
    """Where the section's labels came from, e.g. "tempo from the file's tags; the rest from the analysis"."""
    sources = section.weak_labels.label_source or {}
    strong = {field: src for field, src in sources.items() if src != "weak"}
    if not strong:
        return LABEL_SOURCES["weak"]
    names = {"bpm": "tempo", "key": "key", "emotion": "mood", "style": "style"}
    by_source: dict[str, list[str]] = {}
    for field, src in strong.items():
        by_source.setdefault(src, []).append(names.get(field, field))
    parts = [f"{_joined(fields)} {LABEL_SOURCES.get(src, src)}" for src, fields in by_source.items()]
    rest = "; the rest " + LABEL_SOURCES["weak"] if len(strong) < len(sources) else ""
    return "; ".join(parts) + rest


def _joined(words: list[str]) -> str:
    """"tempo", "tempo and key", "tempo, key and mood"."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def render_markdown(report: EvalReport) -> str:
    """``eval.md``: the verdict, headline, the per-attribute table against the references, a row per section."""
    return _environment().get_template("eval.md.j2").render(
        report=report, rows=attribute_rows(report), verdict=verdict(report), basis=verdict_basis(report))


def render_html(report: EvalReport, energy: dict[str, list[dict]]) -> str:
    """``index.html``: the verdict, headline, the references and their differences plot, then per file
    its energy curve and a row per section with players.

    Parameters
    ----------
    report : EvalReport
    energy : dict
        ``{file_id: [{"start_s", "end_s", "energy"}, ...]}``, the frames of every reported file.
    """
    by_file: dict[str, list[SectionReport]] = {}
    for section in report.sections:
        by_file.setdefault(section.file_id, []).append(section)
    files = [{"source": rows[0].source, "plot": energy_plot(energy[file_id], rows), "sections": rows}
             for file_id, rows in by_file.items()]
    rows = attribute_rows(report)
    return _environment().get_template("index.html.j2").render(
        report=report, files=files, rows=rows, deltas=delta_plot(rows, KIND_NAMES), verdict=verdict(report),
        basis=verdict_basis(report), carried=carried(report))

