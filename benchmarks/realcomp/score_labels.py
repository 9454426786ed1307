"""Score tempo and key labels on the labelled real-composition set (and on real recordings).

    OMP_NUM_THREADS=1 python benchmarks/realcomp/score_labels.py --set /tmp/realcomp \
        [--real /tmp/realmusic/tracks] [--cache /tmp/realcomp-cache]

Writes ``benchmarks/results/labels_realcomp.json``. Estimators compared (scored as the evaluation scores,
``aural_core.agreement``: tempo Acc1 = within 4 %, Acc2 = also x2, x3, /2, /3; key = MIREX weighted score):

- ``ours_today``: ``analyze_file`` (default FeatureConfig, dsp embedder, rules tagger) +
  ``label_sections``: each section's ``bpm`` / ``key_full`` scored against its clip's truth;
- ``librosa_plain``: ``librosa.beat.beat_track(y=y, sr=sr)`` tempo and Krumhansl-Kessler on the
  clip's mean ``librosa.feature.chroma_stft(y=y, sr=sr)`` (per clip);
- ``essentia_*``: RhythmExtractor2013 (multifeature) and KeyExtractor per profile (per clip),
  when the ``essentia`` wheel is installed;
- ``new_*``: ``aural_core.tempo.estimate_tempo`` and ``aural_core.key.estimate_key`` on per-frame
  columns of the same sections (and of the whole clip), with parameters chosen on the "tune"
  half (file-name hash) and reported on both halves, with and without drums.

Importable: ``tempo_hits``, ``key_weighted``, ``analyze_clip``, ``score_rows``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: costs are per core
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import hashlib
import itertools
import json
import pickle
import sys
import time
from pathlib import Path

import librosa
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from provenance import SMOKE_HELP, tiny_labelled_set, write_results  # noqa: E402

from aural_core import key as keymod  # noqa: E402
from aural_core import tempo as tempomod  # noqa: E402
from aural_core.agreement.scores import key_agreement, tempo_agreement  # noqa: E402

ESSENTIA_PROFILES = ("edma", "temperley", "krumhansl", "bgate")


# -- scoring ---------------------------------------------------------------------------------
def tempo_hits(estimate: float, truth: float) -> tuple[bool, bool]:
    """(Acc1, Acc2) of one estimate (``aural_core.agreement``: the evaluation's own scoring)."""
    if not np.isfinite(estimate) or estimate <= 0:
        return False, False
    hits = tempo_agreement(truth, estimate)
    return hits["acc1"], hits["acc2"]


def key_weighted(estimate: str, truth: str) -> float:
    """MIREX weighted key score (``aural_core.agreement``; flats read as sharps)."""
    return key_agreement(truth, estimate)


def split_of(name: str) -> str:
    """'tune' or 'test', from the file name's hash (stable across machines)."""
    return "tune" if int(hashlib.sha256(name.encode()).hexdigest(), 16) % 2 == 0 else "test"


# -- analysis of one clip (cached) -----------------------------------------------------------
def analyze_clip(path: Path, *, with_essentia: bool = True) -> dict:
    """Everything the estimators need from one file: the pipeline's frames (``analyze_file``
    written to and read from the frames contract, as ``aural analyze`` and ``aural train`` do),
    today's section labels, and the references."""
    from aural_core.audio import load_audio
    from aural_core.config import FeatureConfig, LabelConfig, SectionConfig
    from aural_core.embedders import build_embedder, build_tagger
    from aural_core.features import analyze_file
    from aural_core.sections import label_sections
    from aural_core.styles import load_style_table
    from storage.frames import frame_arrays, frames_table

    cfg = FeatureConfig()
    out: dict = {"cost_s": {}}
    t0 = time.perf_counter()
    feats = analyze_file(path, config=cfg, embedder=build_embedder("dsp"), tagger=build_tagger("rules"))
    out["cost_s"]["analyze_file"] = time.perf_counter() - t0
    frames = frame_arrays(frames_table(feats, file_id="clip", source=path.name, metadata={}))
    secs = label_sections(frames, labels=LabelConfig(), sections=SectionConfig(), styles=load_style_table())
    out["sections"] = []
    for s in secs:
        idx = np.flatnonzero(np.any([(frames.start_s >= a - 1e-6) & (frames.end_s <= b + 1e-6)
                                     for a, b in s.spans], axis=0))
        out["sections"].append({"section": s.section, "frames": idx, "bpm": s.bpm, "key_full": s.key_full})
    out["seconds"] = float(frames.end_s[-1])
    out["frames"] = {name: np.asarray(getattr(frames, name)) for name in FRAME_COLUMNS}

    # References: librosa's plain beat tracker and Krumhansl on plain chroma.
    y = load_audio(path, sr=cfg.sample_rate)
    t0 = time.perf_counter()
    bt, _ = librosa.beat.beat_track(y=y, sr=cfg.sample_rate)
    out["librosa_bpm"] = float(np.atleast_1d(bt)[0])
    ch = librosa.feature.chroma_stft(y=y, sr=cfg.sample_rate).mean(axis=1)
    out["librosa_key"] = keymod.estimate_key(ch, profile="krumhansl").name
    out["cost_s"]["librosa_plain"] = time.perf_counter() - t0
    if with_essentia:
        try:
            import essentia
            import essentia.standard as es
            essentia.log.infoActive = False
            essentia.log.warningActive = False
        except ImportError:
            out["essentia"] = None
        else:
            # Our loader, not es.MonoLoader: the wheel's decoder crashes (SIGSEGV) on Opus files.
            y44 = load_audio(path, sr=44100).astype(np.float32)
            t0 = time.perf_counter()
            bpm, *_ = es.RhythmExtractor2013(method="multifeature")(y44)
            out["cost_s"]["essentia_rhythm"] = time.perf_counter() - t0
            ess = {"bpm": float(bpm)}
            t0 = time.perf_counter()
            for p in ESSENTIA_PROFILES:
                k, scale, _strength = es.KeyExtractor(profileType=p, sampleRate=44100)(y44)
                ess[f"key_{p}"] = f"{k} {scale}"  # flats are read as sharps where scored
            out["cost_s"]["essentia_keys"] = time.perf_counter() - t0
            out["essentia"] = ess
    return out


FRAME_COLUMNS = ("start_s", "end_s", "energy", "beat_strength", "tempo_bpm", "chroma", "chroma_cqt",
                 "tempo_acf_fine", "percussive_share", "onset_rate")


def load_or_analyze(path: Path, cache: Path, **kw) -> dict:
    """``analyze_clip`` of ``path``, cached by content, extractor fingerprint and labels version
    (a new extractor or labeller never reads an old analysis)."""
    from aural_core.features import extractor_fingerprint
    from aural_core.sections import LABELS_VERSION

    cache.mkdir(parents=True, exist_ok=True)
    # The labels version too: the cached analysis holds today's section labels.
    digest = hashlib.sha256(path.read_bytes() + extractor_fingerprint().encode()
                            + LABELS_VERSION.encode()).hexdigest()[:16]
    f = cache / f"{digest}.pkl"
    if f.exists():
        return pickle.loads(f.read_bytes())
    res = analyze_clip(path, **kw)
    f.write_bytes(pickle.dumps(res))
    return res


# -- new estimators on per-frame columns -----------------------------------------------------
KEY_VARIANTS = {  # name -> the frames column a section's histogram is formed from
    "stft": "chroma",
    "cqt": "chroma_cqt",
}


def new_key(frames: dict, idx: np.ndarray, *, variant: str, profile: str, context_weight: float = 1.0,
            dominant_margin: float = 0.0):
    chroma = frames[KEY_VARIANTS[variant]]
    w = frames["energy"] + 1e-3
    ctx = (chroma * w[:, None]).sum(axis=0)
    return keymod.estimate_key(chroma[idx], weights=w[idx], context=ctx, context_weight=context_weight,
                               profile=profile, dominant_margin=dominant_margin)


def new_tempo(frames: dict, idx: np.ndarray, **params):
    return tempomod.estimate_tempo(
        tempo_bpm=frames["tempo_bpm"][idx], beat_strength=frames["beat_strength"][idx],
        acf=frames["tempo_acf_fine"][idx], onset_rate=frames["onset_rate"][idx],
        percussive_share=frames["percussive_share"][idx], weights=frames["energy"][idx] + 1e-3, **params)


def score_rows(rows: list[dict]) -> dict:
    """Mean Acc1 / Acc2 / key weighted of rows {'split', 'drums', 'acc1', 'acc2', 'key'}, per group."""
    def agg(rs):
        if not rs:
            return None
        out = {"n": len(rs)}
        for k in ("acc1", "acc2", "key"):
            vals = [r[k] for r in rs if r.get(k) is not None]
            if vals:
                out[k] = round(float(np.mean(vals)), 3)
        return out

    groups = {"all": rows}
    for s in ("tune", "test"):
        groups[s] = [r for r in rows if r["split"] == s]
    for d in (True, False):
        groups["drums" if d else "no_drums"] = [r for r in rows if r["drums"] == d]
        for s in ("tune", "test"):
            groups[f"{s}_{'drums' if d else 'no_drums'}"] = [r for r in rows if r["drums"] == d and r["split"] == s]
    return {g: agg(rs) for g, rs in groups.items()}


def units(results: dict, truth: dict, per: str):
    """(name, truth, result, frame index) per clip ('clip') or per today's section ('section')."""
    for name, t in truth.items():
        r = results[name]
        if per == "clip":
            yield name, t, r, np.arange(len(r["frames"]["energy"])), None
        else:
            for s in r["sections"]:
                yield name, t, r, s["frames"], s


def evaluate(results: dict, truth: dict, key_choice=None, tempo_choice=None) -> dict:
    rows: dict[str, list] = {}

    def add(est, name, t, acc=None, key=None):
        a1, a2 = acc if acc is not None else (None, None)
        rows.setdefault(est, []).append({"split": split_of(name), "drums": bool(t.get("drums", False)),
                                         "acc1": a1, "acc2": a2,
                                         "key": key_weighted(key, t["key"]) if key and t["key"] else None})

    for name, t, r, idx, sec in units(results, truth, "section"):
        add("ours_today/section", name, t, tempo_hits(sec["bpm"], t["bpm"]), sec["key_full"])
        if tempo_choice is not None:
            add("new/section", name, t, tempo_hits(new_tempo(r["frames"], idx, **tempo_choice).bpm, t["bpm"]),
                new_key(r["frames"], idx, **key_choice).name)
    for name, t, r, idx, _ in units(results, truth, "clip"):
        add("librosa_plain/clip", name, t, tempo_hits(r["librosa_bpm"], t["bpm"]), r["librosa_key"])
        if r.get("essentia"):
            add("essentia_rhythm2013/clip", name, t, tempo_hits(r["essentia"]["bpm"], t["bpm"]))
            for p in ESSENTIA_PROFILES:
                add(f"essentia_key_{p}/clip", name, t, key=r["essentia"][f"key_{p}"])
        if tempo_choice is not None:
            add("new/clip", name, t, tempo_hits(new_tempo(r["frames"], idx, **tempo_choice).bpm, t["bpm"]),
                new_key(r["frames"], idx, **key_choice).name)
            add("tracker_unfolded/clip", name, t, tempo_hits(
                new_tempo(r["frames"], idx, ratios=(1.0,)).tracker_bpm, t["bpm"]))
    return {est: score_rows(rs) for est, rs in rows.items()}


def _mean_over(results, truth, split, fn, per="section"):
    """Mean of ``fn`` over the units of ``split``; units where it gives None (a clip without a
    known key, see build.py's mode check) do not count."""
    vals = [fn(r, idx, t) for name, t, r, idx, _ in units(results, truth, per) if split_of(name) == split]
    return float(np.mean([v for v in vals if v is not None]))


KEY_CONTEXT_WEIGHTS = (0.0, 1.0, 2.0, 3.0)
KEY_DOMINANT_MARGINS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25)


def choose_key(results, truth) -> tuple[dict, dict]:
    """Grid of (variant, profile, context weight, dominant margin), scored per section on the
    tune half; ties go to the smaller margin and context, then the name."""
    table, params_of = {}, {}
    for variant, profile, cw, margin in itertools.product(KEY_VARIANTS, keymod.PROFILES, KEY_CONTEXT_WEIGHTS,
                                                           KEY_DOMINANT_MARGINS):
        params = {"variant": variant, "profile": profile, "context_weight": cw, "dominant_margin": margin}
        name = f"{variant}|{profile}|ctx{cw:g}|margin{margin:g}"
        params_of[name] = params
        table[name] = {
            s: round(_mean_over(results, truth, s, lambda r, idx, t, params=params: key_weighted(
                new_key(r["frames"], idx, **params).name, t["key"]) if t["key"] else None), 3)
            for s in ("tune", "test")}
    best = max(table, key=lambda k: (table[k]["tune"], -params_of[k]["dominant_margin"],
                                     -params_of[k]["context_weight"], k))
    return params_of[best], table


def _tempo_setting(mu, sigma, acf, density, perc, tracker) -> str:
    """A tempo setting's name in the grid table (``choose_tempo`` parses it back)."""
    return f"mu{mu:g}|sigma{sigma:g}|acf{acf:g}|density{density:g}|perc{perc:g}|tracker{tracker:g}"


def choose_tempo(results, truth) -> tuple[dict, dict]:
    table = {}
    grid = itertools.product((90.0, 100.0, 110.0, 120.0), (0.5, 0.75, 1.0), (0.0, 0.5, 1.0, 2.0),
                             (0.0, 0.5, 1.0), (0.0, 1.0, 2.0), (0.0, 0.5, 1.0))
    for mu, sigma, wa, wd, wp, wt in grid:
        params = {"prior_mu": mu, "prior_sigma": sigma,
                  "score_weights": {"acf": wa, "prior": 1.0, "density": wd, "perc": wp, "tracker": wt}}
        key = _tempo_setting(mu, sigma, wa, wd, wp, wt)
        table[key] = {s: round(_mean_over(results, truth, s, lambda r, idx, t, params=params: float(tempo_hits(
            new_tempo(r["frames"], idx, **params).bpm, t["bpm"])[0])), 3) for s in ("tune", "test")}
    w = tempomod.DEFAULT_WEIGHTS
    today = _tempo_setting(tempomod.PRIOR_MU_BPM, tempomod.PRIOR_SIGMA_OCT, w["acf"], w["density"], w["perc"],
                           w["tracker"])
    best = max(table, key=lambda k: (table[k]["tune"], k == today, k))  # a tie keeps today's settings
    mu, sigma, wa, wd, wp, wt = (float(x.lstrip("musigacfdenytrkp")) for x in best.split("|"))
    return ({"prior_mu": mu, "prior_sigma": sigma,
             "score_weights": {"acf": wa, "prior": 1.0, "density": wd, "perc": wp, "tracker": wt}}, table)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", type=Path, default=Path("/tmp/realcomp"))
    ap.add_argument("--real", type=Path, default=None)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/realcomp-cache"))
    ap.add_argument("--out", default="labels_realcomp.json", help="results file name (benchmarks/results/)")
    ap.add_argument("--settings-from", type=Path, default=None, metavar="RESULTS",
                    help="take the new estimators' settings from a results file (the first set's) and choose "
                         "nothing: on a second, disjoint set (build.py --second) every clip is held out")
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        import tempfile

        work = Path(tempfile.mkdtemp(prefix="score-labels-smoke-"))
        args.set, args.cache, args.real = tiny_labelled_set(work / "set"), work / "cache", None

    truth = json.loads((args.set / "truth.json").read_text())["clips"]
    results = {}
    for i, name in enumerate(sorted(truth)):
        results[name] = load_or_analyze(args.set / name, args.cache)
        print(f"[{i + 1}/{len(truth)}] {name}", flush=True)
    if args.settings_from is not None:
        chosen = json.loads(args.settings_from.read_text())["chosen"]
        (key_choice, key_table), (tempo_choice, tempo_table) = (chosen["key"], {}), (chosen["tempo"], {})
    else:
        key_choice, key_table = choose_key(results, truth)
        tempo_choice, tempo_table = choose_tempo(results, truth)
    scores = evaluate(results, truth, key_choice, tempo_choice)

    seconds = sum(r["seconds"] for r in results.values())
    cost = {k: sum(r["cost_s"].get(k, 0.0) for r in results.values()) for k in results[next(iter(results))]["cost_s"]}
    cost_x = {k: round(seconds / v, 1) for k, v in cost.items() if v > 0}
    out = {
        "set": {"n_clips": len(truth), "minutes": round(seconds / 60, 2),
                "n_tune": sum(split_of(n) == "tune" for n in truth),
                "n_drums": sum(t["drums"] for t in truth.values()),
                "keys": sorted({t["key"] for t in truth.values()} - {None}),
                "n_without_key": sum(t["key"] is None for t in truth.values()),
                "bpm_range": [min(t["bpm"] for t in truth.values()), max(t["bpm"] for t in truth.values())]},
        "targets": {"tempo_acc1": 0.9, "key_weighted": 0.85},
        "chosen": {"key": key_choice, "tempo": tempo_choice},
        "settings_from": str(args.settings_from) if args.settings_from is not None else None,
        "scores": scores,
        "key_grid_top": dict(sorted(key_table.items(), key=lambda kv: -kv[1]["tune"])[:20]),
        "key_grid_today": {k: v for k, v in key_table.items() if k.startswith("cqt|temperley|ctx1|margin0")},
        "tempo_grid_top": dict(sorted(tempo_table.items(), key=lambda kv: -kv[1]["tune"])[:15]),
        "cost_x_realtime_one_core": cost_x,
        "per_clip": {n: {"truth_bpm": truth[n]["bpm"], "truth_key": truth[n]["key"], "drums": truth[n]["drums"],
                         "split": split_of(n), "librosa_bpm": round(r["librosa_bpm"], 1),
                         "tracker_bpm": round(float(np.nanmedian(r["frames"]["tempo_bpm"])), 1)
                         if np.any(np.isfinite(r["frames"]["tempo_bpm"])) else None,
                         "new_bpm": new_tempo(r["frames"], np.arange(len(r["frames"]["energy"])), **tempo_choice).bpm,
                         "new_key": new_key(r["frames"], np.arange(len(r["frames"]["energy"])), **key_choice).name,
                         "librosa_key": r["librosa_key"],
                         "today": [(s["bpm"], s["key_full"]) for s in r["sections"]],
                         "essentia": r.get("essentia")} for n, r in results.items()},
    }
    if args.real is not None:
        out["real_recordings"] = real_agreement(args.real, args.cache, key_choice, tempo_choice)
    write_results(args.out, out, smoke=args.smoke)
    print(json.dumps({"chosen": out["chosen"], "scores": {k: v["all"] for k, v in scores.items()},
                      "cost_x": cost_x}, indent=2))


def real_agreement(folder: Path, cache: Path, key_choice: dict, tempo_choice: dict) -> dict:
    """On real recordings: agreement with essentia (and with the BPM in wz2100 file names)."""
    import re

    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".ogg", ".flac", ".wav", ".mp3", ".opus"))
    rows = []
    for p in files:
        try:
            r = load_or_analyze(p, cache)
        except Exception as exc:  # noqa: BLE001 - a file the loader refuses is reported, not fatal
            rows.append({"file": p.name, "error": str(exc)[:200]})
            continue
        idx = np.arange(len(r["frames"]["energy"]))
        nt, nk = new_tempo(r["frames"], idx, **tempo_choice), new_key(r["frames"], idx, **key_choice)
        today_bpm = r["sections"][0]["bpm"] if r["sections"] else None
        row = {"file": p.name, "seconds": round(r["seconds"], 1), "new_bpm": nt.bpm,
               "new_conf": round(nt.confidence, 3), "new_key": nk.name, "librosa_bpm": round(r["librosa_bpm"], 1),
               "librosa_key": r["librosa_key"], "today": [(s["bpm"], s["key_full"]) for s in r["sections"]],
               "essentia": r.get("essentia")}
        m = re.search(r"_(\d+)bpm", p.name)
        if m:
            row["name_bpm"] = float(m.group(1))
        rows.append(row)
        del today_bpm
    ok = [r for r in rows if "error" not in r and r.get("essentia")]
    agree = {}
    if ok:
        ess_key = "key_edma"
        for est, bpm_of, key_of in (
            ("new", lambda r: r["new_bpm"], lambda r: r["new_key"]),
            ("librosa_plain", lambda r: r["librosa_bpm"], lambda r: r["librosa_key"]),
            ("ours_today_first_section", lambda r: r["today"][0][0] if r["today"] else 90.0,
             lambda r: r["today"][0][1] if r["today"] else "C major"),
        ):
            hits = [tempo_hits(bpm_of(r), r["essentia"]["bpm"]) for r in ok]
            agree[est] = {"n": len(ok), "tempo_acc1_vs_essentia": round(float(np.mean([h[0] for h in hits])), 3),
                          "tempo_acc2_vs_essentia": round(float(np.mean([h[1] for h in hits])), 3),
                          "key_weighted_vs_essentia_edma": round(float(np.mean(
                              [key_weighted(key_of(r), r["essentia"][ess_key]) for r in ok])), 3)}
        named = [r for r in rows if "name_bpm" in r and "error" not in r]
        for est, bpm_of in (("new", lambda r: r["new_bpm"]), ("librosa_plain", lambda r: r["librosa_bpm"]),
                            ("essentia", lambda r: r["essentia"]["bpm"] if r.get("essentia") else float("nan")),
                            ("ours_today_first_section", lambda r: r["today"][0][0] if r["today"] else 90.0)):
            hits = [tempo_hits(bpm_of(r), r["name_bpm"]) for r in named]
            if hits:
                agree[f"{est}_vs_filename_bpm"] = {"n": len(hits),
                                                   "acc1": round(float(np.mean([h[0] for h in hits])), 3),
                                                   "acc2": round(float(np.mean([h[1] for h in hits])), 3)}
    return {"n_files": len(files), "agreement": agree, "files": rows}


if __name__ == "__main__":
    main()
