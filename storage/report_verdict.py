"""Whether the adapter helped, in one line a musician reads without the README.

Computed only from figures already in an :class:`~storage.report.EvalReport`:

- *match*: the adapter's match with the source minus the fixed baseline's, the mean over
  sections and its file-level bootstrap interval (``differences["fixed"]["match"]``). The
  renders match *better* when the whole interval lies above 0, *worse* when it lies below 0,
  and neither is claimed when it straddles 0. With one held-out file there is no interval:
  the line says so, and why, and speaks of that one file only.
- *carry its tempo*: the independent estimator reads the adapter's render at the source's
  tempo, within 4 %, or at double, triple, half or a third of it (the render's ``tempo_acc2``
  is 1). Sections whose source has no tempo reading are left out of the count.
- *carry its key*: it reads the same key (of 24) in the render as in the source (the render's
  MIREX ``key_weighted`` is 1; a fifth or a relative key scores less and does not count).
  Sections whose source has no key reading are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from .report import Difference, EvalReport


@dataclass(frozen=True)
class Carried:
    """In how many sections the adapter's renders kept the source's tempo and key."""

    tempo: int            # tempo within 4 %, or at a double/triple/half/third of it (Acc2)
    same_tempo: int       # within 4 % of the very same tempo (Acc1)
    tempo_read: int       # sections whose source tempo was read (and the render scored)
    key: int              # the same key
    key_read: int         # sections whose source key was read (and the render scored)


def carried(report: EvalReport) -> Carried:
    """Count, over the report's sections, where the adapter's render kept its source's tempo and key."""
    tempo = same = tempo_read = key = key_read = 0
    for s in report.sections:
        render = s.renders.get("adapter")
        if render is None:
            continue
        if s.source_estimate.bpm is not None and render.tempo_acc2 is not None:
            tempo_read += 1
            tempo += render.tempo_acc2 >= 1.0
            same += (render.tempo_acc1 or 0.0) >= 1.0
        if s.source_estimate.key is not None and render.key_weighted is not None:
            key_read += 1
            key += render.key_weighted >= 1.0
    return Carried(tempo=tempo, same_tempo=same, tempo_read=tempo_read, key=key, key_read=key_read)


def signed(value: float) -> str:
    """A difference as a musician's page writes it: two decimals, always signed, a real minus.

    Examples
    --------
    >>> signed(0.2221), signed(-0.05), signed(0.0)
    ('+0.22', '−0.05', '+0.00')
    """
    return f"{value:+.2f}".replace("-", "−")


def verdict(report: EvalReport) -> str:
    """One plain sentence: did the adapter's renders match the music better than the fixed
    baseline, and in how many sections did they keep its tempo and key.

    Examples (the figures of the demo's report)::

        The adapter's renders match your music better than the fixed baseline (match +0.22,
        95 % interval +0.07…+0.38), and carry its tempo in 3 of 17 sections and its key in 0 of 17.
    """
    if not report.sections:
        failed = len(report.failed_inputs)
        why = f" ({failed} input file{'s' if failed != 1 else ''} could not be analysed)" if failed else ""
        return f"No section was scored{why}, so this report cannot say whether the adapter helped."
    diff = report.differences.get("fixed", {}).get("match")
    if diff is None:  # a report without the paired difference: the headline's, with no interval
        diff = Difference(delta=report.match_delta, ci_low=None, ci_high=None)
    if diff.delta is None:
        kept = _carried_clause(report, "your music's")
        return (f"The adapter's renders could not be compared with the fixed baseline (no match was measured), so "
                f"this report cannot say whether the adapter helped; they carry {kept}.")
    return f"The adapter's renders {_match_clause(diff, report)}, and carry {_carried_clause(report)}."


def verdict_basis(report: EvalReport) -> str:
    """How :func:`verdict` counted, in a few plain sentences, for the lines under it."""
    c = carried(report)
    level = f"{report.ci_level * 100:g} %"
    measured = [name for name in ("bpm", "key") if report.controls_source.get(name) == "measured"]
    setting = (f" The renders' {' and '.join('tempo' if m == 'bpm' else m for m in measured)} came from what was "
               f"measured in your music, not from the adapter." if measured else "")
    same = f"; at the very same tempo in {c.same_tempo} of {c.tempo_read} sections" if c.tempo_read else ""
    return (f"Match: how close each render sounds to its source section (embedding similarity), adapter minus "
            f"fixed baseline, averaged over sections; the {level} interval comes from resampling the held-out "
            f"files. Tempo carried: the independent estimator hears the render at the source's tempo (within 4 %) "
            f"or at double, triple, half or a third of it{same}. "
            f"Key carried: it hears the same key in the render as in the source.{setting}")


def _match_clause(diff: Difference, report: EvalReport) -> str:
    """"match your music better than the fixed baseline (match +0.22, 95 % interval +0.07…+0.38)" and its kin."""
    baseline, figure, level = "the fixed baseline", f"match {signed(diff.delta)}", f"{report.ci_level * 100:g} %"
    if diff.ci_low is None or diff.ci_high is None:
        how = "better than" if diff.delta > 0 else "worse than" if diff.delta < 0 else "as well as"
        if report.n_files < 2:
            return f"match your music {how} {baseline} on the one held-out file ({figure}; no {level} interval, " \
                   f"which needs ≥ 2 held-out files)"
        return f"match your music {how} {baseline} ({figure}; no {level} interval: the match was measured " \
               f"in one file only)"
    span = f"{level} interval {signed(diff.ci_low)}…{signed(diff.ci_high)}"
    if diff.ci_low > 0:
        return f"match your music better than {baseline} ({figure}, {span})"
    if diff.ci_high < 0:
        return f"match your music worse than {baseline} ({figure}, {span})"
    if diff.delta > 0:
        return f"do not clearly match your music better than {baseline} ({figure}, but the {span} includes 0)"
    return f"do not match your music better than {baseline} ({figure}, {span})"


def _carried_clause(report: EvalReport, whose: str = "its") -> str:
    """"its tempo in 3 of 17 sections and its key in 0 of 17" (sections with no reading left out, saying so)."""
    c, n = carried(report), report.n_sections
    if c.tempo_read:
        tempo = f"{whose} tempo in {c.tempo} of {c.tempo_read} sections"
        tempo += " whose tempo could be read" if c.tempo_read < n else ""
    else:
        tempo = f"{whose} tempo in no section (no tempo could be read from the sources)"
    if c.key_read:
        key = f"its key in {c.key} of {c.key_read}" + (" sections whose key could be read" if c.key_read < n else "")
    else:
        key = "its key in no section (no key could be read from the sources)"
    return f"{tempo} and {key}"
