"""Training-time augmentation through a real Prefect server: cached copies, training side only."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from aural_core.augment import shift_key, stretch_bpm
from aural_core.config import AugmentConfig, AuralConfig, FeatureConfig, LabelConfig, SectionConfig
from aural_core.styles import load_style_table
from flows.train import train_flow
from storage.keys import augmented_sections_file, frames_key, sections_file
from storage.layout import CacheLayout

from .corpus import analysed_clips

pytestmark = pytest.mark.usefixtures("prefect_harness")

SLUG = "shift+2_rate1.15"



def copy_path(cache, fid):
    """Where the augmented copy of ``fid`` lies (named by transform and frames key)."""
    return CacheLayout(cache).augmented_frames(fid, SLUG, frames_key(fid, FeatureConfig()))

def augmenting(shift: int = 2) -> AuralConfig:
    return AuralConfig(augment=AugmentConfig(copies_per_file=1, pitch_shifts=(shift,), time_stretches=(1.15,)))


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    return analysed_clips(tmp_path_factory.mktemp("augment"), n=5, seed=3, seconds=10)


def _train(root, cache, config):
    out = root / "models" / "adapter.pt"
    # Forced: each test reads the metadata of the adapter it trained, better or not.
    result = train_flow(cache_dir=str(cache), out_path=str(out), show_progress=False, config=config,
                        force_publish=True)
    return result, json.loads((root / "models" / "metadata.json").read_text())


def test_augmented_copies_train_only_and_are_cached(analysed):
    root, cache = analysed
    result, meta = _train(root, cache, augmenting())
    train_files, val_files = set(meta["split"]["train_files"]), set(meta["split"]["val_files"])
    assert len(train_files) == 4 and len(val_files) == 1
    aug = result["augment"]
    assert len(aug["computed"]) == 4 and not aug["cached"] and not aug["failed"]
    for fid in train_files:
        assert copy_path(cache, fid).is_file()
    assert not any((cache / "augmented" / fid).exists() for fid in val_files)

    # sections.npz: originals first, then the copies under their original file id
    npz = np.load(cache / "sections.npz")
    marked = npz["augmented"]
    assert marked.sum() == result["dataset"]["n_augmented_sections"] == meta["augment"]["n_augmented_sections"] > 0
    assert (~marked).sum() == result["dataset"]["n_sections"]
    assert set(npz["file_id"][marked]) == train_files
    assert set(npz["transform"][marked]) == {SLUG} and set(npz["transform"][~marked]) == {""}
    # validation holds exactly the validation files' original sections
    assert meta["split"]["n_val_sections"] == int(np.isin(npz["file_id"][~marked], list(val_files)).sum())
    assert meta["split"]["n_augmented_dropped"] == 0
    assert meta["augment"]["enabled"] and meta["augment"]["pitch_shifts"] == [2]
    assert meta["augment"]["copies"] == {fid: [SLUG] for fid in sorted(train_files)}

    # each copy's labels are its original section's labels, transformed; its sections are a
    # sections file like an original's, with the heads' evidence read from the copy's audio
    labels = LabelConfig()
    for fid in train_files:
        original_file = sections_file(CacheLayout(cache), fid, FeatureConfig(), LabelConfig(), SectionConfig(),
                                      load_style_table())
        original = pq.read_table(original_file).to_pylist()
        copy_sections = pq.read_table(augmented_sections_file(CacheLayout(cache), original_file, SLUG)).to_pylist()
        assert [r["transform"] for r in copy_sections] == [SLUG] * len(original)
        assert all(c["chroma"] != o["chroma"] for c, o in zip(copy_sections, original))  # shifted 2 semitones
        copy = marked & (npz["file_id"] == fid)
        want_key = [shift_key(r["key_full"], 2)[2] if r["key_confidence"] >= labels.min_key_confidence
                    else r["key_id"] for r in original]
        assert npz["y_key"][copy].tolist() == want_key
        want_bpm = [r["bpm"] if r["bpm"] == labels.bpm_default and r["beat_strength"] < labels.min_beat_strength
                    else stretch_bpm(r["bpm"], 1.15) for r in original]
        assert npz["y_bpm"][copy] == pytest.approx(want_bpm, abs=0.01)
        assert npz["y_emotion"][copy].tolist() == [r["emotion_id"] for r in original]
        assert npz["y_style"][copy].tolist() == [r["style_id"] for r in original]

    # second run: every copy comes from the cache, same training set, same adapter
    again, _ = _train(root, cache, augmenting())
    assert sorted(again["augment"]["cached"]) == sorted(aug["computed"]) and not again["augment"]["computed"]
    assert again["dataset"]["data_hash"] == result["dataset"]["data_hash"] and again["ref"] == result["ref"]

    # a copy whose frames file is gone is made again; the others stay cached
    gone = sorted(train_files)[0]
    copy_path(cache, gone).unlink()
    refreshed, _ = _train(root, cache, augmenting())
    assert len(refreshed["augment"]["computed"]) == 1 and len(refreshed["augment"]["cached"]) == 3
    assert refreshed["dataset"]["data_hash"] == result["dataset"]["data_hash"]

    # another transform is another cache entry
    changed, meta3 = _train(root, cache, augmenting(shift=3))
    assert len(changed["augment"]["computed"]) == 4 and not changed["augment"]["cached"]
    assert set(np.load(cache / "sections.npz")["transform"]) == {"", "shift+3_rate1.15"}
    assert set(meta3["split"]["val_files"]) == val_files


def test_augmentation_off_leaves_the_training_set_as_it_was(analysed):
    root, cache = analysed
    result, meta = _train(root, cache, AuralConfig(augment=AugmentConfig(copies_per_file=0)))
    assert result["augment"]["computed"] == result["augment"]["cached"] == []
    npz = np.load(cache / "sections.npz")
    assert not npz["augmented"].any() and set(npz["transform"]) == {""}
    assert len(npz["X"]) == result["dataset"]["n_sections"] and result["dataset"]["n_augmented_sections"] == 0
    assert not meta["augment"]["enabled"] and "n_augmented_dropped" not in meta["split"]
