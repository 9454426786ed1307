"""The labelled composition set's key truth: a clip keeps its key only where its notes sound
the mode the signature and final note name (``benchmarks/realcomp/build.py``), and the key
scores leave the others out (``benchmarks/bench_heads.py``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(path: Path):
    sys.path[:0] = [str(BENCH)]
    try:
        spec = importlib.util.spec_from_file_location(f"realcomp_truth_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


build = _load(BENCH / "realcomp" / "build.py")


def _notes(midis, dur=1.0):
    return [(i * dur, dur, m, 0) for i, m in enumerate(midis)]


def test_a_major_tune_sounds_its_mode():
    g_major = _notes([67, 71, 74, 71, 69, 67, 66, 67])        # G B D B A G F# G
    assert build._sounds_its_mode(g_major, tonic=7, minor=False)


def test_a_dorian_tune_under_a_major_signature_does_not():
    """G final, one sharp in the signature, B-flats written as accidentals: the notes say minor."""
    g_dorian = _notes([67, 70, 74, 72, 70, 69, 67, 65, 67, 70, 67])
    assert not build._sounds_its_mode(g_dorian, tonic=7, minor=False)
    assert build._sounds_its_mode(g_dorian, tonic=7, minor=True)


def test_a_minor_piece_with_a_picardy_close_still_sounds_minor():
    a_minor = _notes([57, 60, 64, 60, 59, 57, 56, 57]) + [(8.0, 1.5, 61, 0)]  # ... and a final C#
    assert build._sounds_its_mode(a_minor, tonic=9, minor=True)


def test_key_scores_leave_out_sections_without_a_known_key():
    heads = _load(BENCH / "bench_heads.py")
    groups = ["a", "a", "b", "b", "c", "c"]
    teacher = {"key": [1.0, 1.0, 0.0, 0.0, np.nan, np.nan], "acc1": [1.0] * 6, "acc2": [1.0] * 6}
    per = {v: {m: list(x) for m, x in teacher.items()} for v in heads.VARIANTS}
    out = heads.summarise(per, groups)
    assert out["n_sections"] == 6 and out["n_sections_with_key"] == 4
    assert out["scores"]["teacher"]["key"]["mean"] == 0.5
    assert out["minus_teacher"]["strong"]["key"]["delta"] == 0.0
