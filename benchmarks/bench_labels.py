"""Weak-label accuracy on two labelled sets, against librosa's plain estimators.

Writes benchmarks/results/labels.json and benchmarks/results/train.json.

- ``demo``: our synthetic demo corpus (its truth is known by construction: a smoke test);
- ``realcomp``: the labelled real-composition set (benchmarks/realcomp/build.py: 43 real scores
  from music21's corpus rendered with FluidSynth, known tempo and key, half with drums).

Each section the pipeline labels (``aural analyze`` then ``aural train``) is scored against its
clip's truth (the clips keep one tempo and key throughout):
- tempo Acc1: within 4 %; Acc2: also x2, x3, /2, /3; key: MIREX weighted score of ``key_full``
  (``aural_core.agreement``, the evaluation's own scoring);
and, per clip, the references the issue names: librosa's plain ``beat_track`` tempo and a
Krumhansl-Kessler key on librosa's ``chroma_stft`` of the whole clip.

Usage: .venv/bin/python benchmarks/bench_labels.py [REALCOMP_DIR]   (default /tmp/realcomp; built
when missing, which needs fluidsynth, fluid-soundfont-gm, music21 and pretty-midi)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import librosa
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
from provenance import tiny_corpus, tiny_labelled_set, write_results  # noqa: E402

from aural_core.agreement.scores import key_agreement, tempo_agreement  # noqa: E402

AURAL = str(ROOT / ".venv" / "bin" / "aural")
TARGETS = {"tempo_acc1": 0.90, "key_weighted": 0.85}


def tempo_hit(estimate: float, truth: float, *, octaves: bool = False) -> bool:
    """Acc1 (Acc2 with ``octaves``) of one estimate, scored as the evaluation scores
    (``aural_core.agreement.tempo_agreement``)."""
    return tempo_agreement(truth, estimate)["acc2" if octaves else "acc1"]


def key_score(estimate: str, truth: str) -> float:
    """MIREX weighted key score (``aural_core.agreement.key_agreement``)."""
    return key_agreement(truth, estimate)


def librosa_plain(path: Path) -> dict:
    """The references: librosa's beat_track tempo and a Krumhansl key on chroma_stft, whole clip."""
    from aural_core.descriptors import key_correlations
    from aural_core.vocab import KEYS_FULL

    y, sr = librosa.load(path, sr=22050, mono=True)
    tempo, _ = librosa.beat.beat_track(y=y, sr=sr)
    chroma = librosa.feature.chroma_stft(y=y, sr=sr).sum(axis=1)
    return {"bpm": float(np.atleast_1d(tempo)[0]), "key": KEYS_FULL[int(np.argmax(key_correlations(chroma)))]}


def audio_only(folder: Path, work: Path) -> Path:
    """A folder of links to ``folder``'s audio files without its ``labels.csv``: this benchmark
    scores the weak labeller, and a sidecar's strong labels would replace its readings."""
    from storage.strong_labels import SIDECAR

    work.mkdir(parents=True)
    for path in folder.iterdir():
        if path.is_file() and path.name != SIDECAR:
            (work / path.name).symlink_to(path.resolve())
    return work


def run_pipeline(folder: Path, work: Path, env: dict) -> tuple[Path, float]:
    """Analyse ``folder`` and train on it (which labels every section); returns the cache and the
    train command's wall time."""
    cache = work / "cache"
    subprocess.run([AURAL, "analyze", "--in", str(folder), "--out", str(cache), "--quiet"], env=env,
                   check=False, capture_output=True)  # exit 1 when a file failed: scored without it
    start = time.perf_counter()
    subprocess.run([AURAL, "train", "--cache", str(cache), "--out", str(work / "models" / "adapter.pt"), "--quiet"],
                   env=env, check=True, capture_output=True)
    return cache, time.perf_counter() - start


def score_set(cache: Path, folder: Path, truth: dict, *, references: bool) -> dict:
    import pyarrow.parquet as pq

    from aural_core.config import AuralConfig
    from aural_core.styles import load_style_table
    from storage.keys import sections_file
    from storage.layout import CacheLayout
    from storage.manifest import file_id

    config = AuralConfig()  # the benchmark runs `aural analyze/train` with the defaults
    styles = load_style_table(config.labels.styles_path)

    rows, clips = [], []
    for name, t in sorted(truth.items()):
        path = folder / name
        table = pq.read_table(sections_file(CacheLayout(cache), file_id(path), config.features, config.labels,
                                            config.sections, styles))
        for sec in table.to_pylist():
            rows.append({"clip": name, "section": sec["section"], "bpm": round(sec["bpm"], 2), "true_bpm": t["bpm"],
                         "key_full": sec["key_full"], "true_key": t["key"], "drums": t.get("drums"),
                         "acc1": tempo_hit(sec["bpm"], t["bpm"]),
                         "acc2": tempo_hit(sec["bpm"], t["bpm"], octaves=True),
                         "key_weighted": key_score(sec["key_full"], t["key"]) if t["key"] else None})
        if references:
            ref = librosa_plain(path)
            clips.append({"clip": name, "drums": t.get("drums"), "bpm": round(ref["bpm"], 2), "key": ref["key"],
                          "acc1": tempo_hit(ref["bpm"], t["bpm"]),
                          "acc2": tempo_hit(ref["bpm"], t["bpm"], octaves=True),
                          "key_weighted": key_score(ref["key"], t["key"]) if t["key"] else None})

    def summary(items):
        def mean(key, subset=None):
            # A clip without a known key (build.py's mode check) has no key score.
            vals = [float(r[key]) for r in items if (subset is None or r["drums"] == subset) and r[key] is not None]
            return round(float(np.mean(vals)), 3) if vals else None
        return {"n": len(items), "tempo_acc1": mean("acc1"), "tempo_acc2": mean("acc2"),
                "key_weighted": mean("key_weighted"),
                "with_drums": {"tempo_acc1": mean("acc1", True), "key_weighted": mean("key_weighted", True)},
                "without_drums": {"tempo_acc1": mean("acc1", False), "key_weighted": mean("key_weighted", False)}}

    out = {"ours_per_section": summary(rows), "sections": rows}
    if references:
        out["librosa_plain_per_clip"] = summary(clips)
        out["clips"] = clips
        ours, ref = out["ours_per_section"], out["librosa_plain_per_clip"]
        out["passed"] = {k: bool(ours[k] >= v and ours[k] > ref[k]) for k, v in TARGETS.items()}
    return out


def main() -> None:
    # --smoke: a tiny demo corpus and labelled set; results under $AURAL_BENCH_RESULTS.
    smoke = "--smoke" in sys.argv[1:]
    argv = [a for a in sys.argv[1:] if a != "--smoke"]
    realcomp = Path(argv[0]) if argv else Path("/tmp/realcomp")
    work = Path(tempfile.mkdtemp(prefix="aural-bench-labels-"))
    env = {**os.environ, "PREFECT_HOME": str(work / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    if smoke:
        tiny_corpus(work / "demo", n_inputs=4, n_eval=0)
        realcomp = tiny_labelled_set(work / "realcomp")
    else:
        subprocess.run([AURAL, "demo", "--out", str(work / "demo")], env=env, check=True, capture_output=True)
    demo_inputs = audio_only(work / "demo" / "inputs", work / "demo-audio")
    demo_cache, train_wall = run_pipeline(demo_inputs, work / "demo-run", env)
    demo_truth = {k: {**v, "drums": None} for k, v in json.loads(
        (demo_inputs / "truth.json").read_text())["clips"].items()}
    labels = {"targets": TARGETS, "demo": score_set(demo_cache, demo_inputs, demo_truth, references=False)}
    if not (realcomp / "truth.json").is_file():
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "realcomp" / "build.py"), "--out", str(realcomp)],
                       env={**env, "PYTHONPATH": str(ROOT)}, check=True)
    real_audio = audio_only(realcomp, work / "realcomp-audio")
    real_cache, _ = run_pipeline(real_audio, work / "realcomp-run", env)
    labels["realcomp"] = score_set(real_cache, real_audio, json.loads((realcomp / "truth.json").read_text())["clips"],
                                   references=True)
    meta = json.loads((work / "demo-run" / "models" / "metadata.json").read_text())
    train = {"train_cli_wall_seconds": round(train_wall, 2), "n_sections": meta["n_sections"],
             "n_files": meta["n_files"], "epochs_run": len(meta["curves"]), "best_epoch": meta["best_epoch"],
             "metrics": meta["metrics"], "note": "demo corpus; wall time includes the temporary Prefect server start"}
    write_results("labels.json", labels, smoke=smoke)
    write_results("train.json", train, smoke=smoke)
    for name in ("demo", "realcomp"):
        print(name, json.dumps({k: v for k, v in labels[name].items() if k not in ("sections", "clips")}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
