"""SVG geometry of the report page's plots, with axes a reader can read: ticks, labels, a zero line.

The template (``templates/index.html.j2``) only draws what these functions place; every
coordinate is in SVG user units (pixels at 100 %), and each plot scales down with its
``viewBox`` on a narrower window.
"""

from __future__ import annotations

import math

from .report_verdict import signed

SECTION_COLORS = {"intro": "#8ecae6", "build": "#ffb703", "release": "#fb8500"}
OTHER_SECTION_COLOR = "#ccc"
KIND_COLORS = {"adapter": "#219ebc", "fixed": "#adb5bd", "prior": "#8d99ae", "shuffled": "#ffb703",
               "oracle": "#2a9d8f"}
_CHAR_PX = 7.0  # mean width of a 12 px sans-serif character, to decide whether a label fits

# The differences plot: metric names, reference names, then the bars' area.
_DELTA = {"width": 900, "label_w": 230, "ref_w": 100, "right": 44, "row": 18, "gap": 12, "top": 8,
          "bottom": 46, "bar": 12}
# The energy plot: room for the energy axis on the left, section names and the source's reading
# (key, tempo) on top, time below.
_ENERGY = {"width": 900, "height": 206, "left": 56, "right": 12, "top": 40, "bottom": 42}


def nice_ticks(low: float, high: float, *, max_ticks: int = 8, enclose: bool = False) -> list[float]:
    """Round tick values within [low, high] (steps of 1, 2, 2.5 or 5 times a power of ten);
    with ``enclose``, from the last tick at or below ``low`` to the first at or above ``high``.

    Examples
    --------
    >>> nice_ticks(-0.3, 0.3)
    [-0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3]
    >>> nice_ticks(0, 47)
    [0.0, 10.0, 20.0, 30.0, 40.0]
    >>> nice_ticks(-0.38, 0.38, enclose=True)
    [-0.4, -0.2, 0.0, 0.2, 0.4]
    """
    span = high - low
    if not span > 0:
        return [float(low)]
    raw = span / max(1, max_ticks - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    if enclose:
        first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(i * step, 10) + 0.0 for i in range(first, last + 1)]  # + 0.0: no "-0"


def tick_label(value: float, *, signed: bool = False) -> str:
    """A tick's text: no trailing zeros, a real minus sign (and a plus on positive ``signed`` values).

    Examples
    --------
    >>> tick_label(-0.25), tick_label(0.5, signed=True), tick_label(0.0, signed=True), tick_label(30.0)
    ('−0.25', '+0.5', '0', '30')
    """
    text = f"{value:+.4g}" if signed and value != 0 else f"{value:.4g}"
    return text.replace("-", "−")


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters (words kept whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def delta_plot(rows: list[dict], ref_names: dict[str, str]) -> dict:
    """Geometry of the adapter − reference differences: per metric a group of bars, one per
    reference, each with its interval, over a labelled axis with ticks and a zero line.

    Parameters
    ----------
    rows : list of dict
        :func:`storage.report_pages.attribute_rows`.
    ref_names : dict
        The name each reference is shown under ("fixed" → "fixed baseline").
    """
    g = _DELTA
    x0, x1 = g["label_w"] + g["ref_w"], g["width"] - g["right"]
    values = [v for row in rows for d in row["deltas"].values() for v in (d.delta, d.ci_low, d.ci_high)
              if v is not None]
    extent = max([abs(v) for v in values] + [0.1])
    ticks = nice_ticks(-extent, extent, max_ticks=9, enclose=True)
    low, high = ticks[0], ticks[-1]

    def x(v: float) -> float:
        return x0 + (x1 - x0) * (v - low) / (high - low)

    groups, bars, y = [], [], g["top"]
    for row in rows:
        if not row["deltas"]:
            continue
        top = y
        for ref, d in row["deltas"].items():
            bar = {"y": y + (g["row"] - g["bar"]) / 2, "text_y": y + g["row"] / 2 + 4, "ref": ref_names.get(ref, ref),
                   "label": f"{row['label']} − {ref}", "color": KIND_COLORS.get(ref, OTHER_SECTION_COLOR),
                   "delta": d.delta, "lo": None, "hi": None}
            if d.delta is not None:
                bar.update(x0=min(x(0), x(d.delta)), width=abs(x(d.delta) - x(0)),
                           value=signed(d.delta))
                ends = [x(d.delta), x(0)]
                if d.ci_low is not None and d.ci_high is not None:
                    bar.update(lo=x(d.ci_low), hi=x(d.ci_high))
                    ends += [bar["lo"], bar["hi"]]
                # the figure beside the bar, beyond its whisker, on the side the bar points to
                right = d.delta >= 0
                bar.update(value_x=(max(ends) + 4) if right else (min(ends) - 4),
                           value_anchor="start" if right else "end")
            bars.append(bar)
            y += g["row"]
        lines = _wrap(row["label"], int(g["label_w"] / _CHAR_PX) - 1)
        first = (top + y) / 2 - (len(lines) - 1) * 8 + 4
        groups.append({"lines": [(first + 16 * i, text) for i, text in enumerate(lines)], "top": top, "bottom": y})
        y += g["gap"]
    axis_y = y - g["gap"] + 4
    return {"width": g["width"], "height": axis_y + g["bottom"], "zero": x(0), "x0": x0, "x1": x1,
            "ref_x": x0 - 8, "top": g["top"], "axis_y": axis_y, "groups": groups, "bars": bars,
            "ticks": [{"x": x(t), "label": tick_label(t, signed=True)} for t in ticks],
            "title_x": (x0 + x1) / 2, "extent": extent}


def source_reading(section) -> str:
    """The source's own key and tempo as the independent estimator reads them, e.g. "D minor · 154.5 BPM"."""
    estimate = section.source_estimate
    bpm = "tempo not read" if estimate.bpm is None else f"{estimate.bpm:.1f} BPM"  # as the table below
    return f"{estimate.key or 'key not read'} · {bpm}"


def energy_plot(frames: list[dict], sections: list) -> dict:
    """Geometry of one file's energy curve over its shaded sections, with a time axis (s), an
    energy axis (0–1) and over each section's span its name and the source's key and tempo
    (left out where the span is too narrow for them: the table below has them too)."""
    g = _ENERGY
    width, height = g["width"], g["height"]
    left, right, top, bottom = g["left"], width - g["right"], g["top"], height - g["bottom"]
    end = max((f["end_s"] for f in frames), default=0.0)
    end = max([end] + [b for s in sections for _, b in s.spans]) or 1.0

    def x(t: float) -> float:
        return left + (right - left) * t / end

    def y(e: float) -> float:
        return bottom - (bottom - top) * min(1.0, max(0.0, e))

    spans, bounds = [], set()
    for s in sections:
        for a, b in s.spans:
            w = x(b) - x(a)
            name = s.section if w >= _CHAR_PX * len(s.section) + 4 else (s.section[:1] if w >= 12 else "")
            reading = source_reading(s)
            reading = reading if w >= _CHAR_PX * len(reading) + 4 else ""
            spans.append({"x": x(a), "width": w, "section": s.section, "label": name, "reading": reading,
                          "label_x": x(a) + w / 2,
                          "start_s": a, "end_s": b, "color": SECTION_COLORS.get(s.section, OTHER_SECTION_COLOR)})
            bounds.update((round(x(a), 1), round(x(b), 1)))
    points = [(x((f["start_s"] + f["end_s"]) / 2), y(f["energy"])) for f in frames]
    return {"width": width, "height": height, "left": left, "right": right, "top": top, "bottom": bottom,
            "spans": spans, "bounds": sorted(bounds), "points": points,
            "x_ticks": [{"x": x(t), "label": tick_label(t)} for t in nice_ticks(0.0, end, max_ticks=12)],
            "y_ticks": [{"y": y(e), "label": tick_label(e)} for e in (0.0, 0.5, 1.0)],
            "x_title": (left + right) / 2, "y_title": (top + bottom) / 2}
