"""The key and tempo heads: exact equivariance, an untrained key head that is the weak
labeller, and what each learns from a narrow training set (tests that fail without the design)."""

import numpy as np
import pytest
import torch

from aural_core.adapter import Adapter, AdapterConfig, as_tensors
from aural_core.config import LabelConfig, TrainConfig
from aural_core.heads import KeyHead, TempoHead, decode_tempo, rotate_chroma, shift_periodicity
from aural_core.labels import key_label_frames
from aural_core.tempo import TEMPO_FINE_BPM
from aural_core.training import train_adapter
from aural_core.vocab import KEYS_FULL

from ..sections_data import key_chroma, periodicity, section_arrays


def _random_chroma(n: int, seed: int = 0) -> torch.Tensor:
    return torch.as_tensor(np.random.default_rng(seed).dirichlet(np.ones(12), n), dtype=torch.float32)


@pytest.mark.parametrize("shift", [1, 5, 7, 11])
def test_transposing_the_input_rotates_the_key_scores_exactly(shift):
    head = KeyHead(profile="temperley", context_weight=1.0)
    with torch.no_grad():  # a trained-looking head: the edges' weights and the mode bias non-zero
        for p in head.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1)))
    inputs = [_random_chroma(8, seed=seed) for seed in range(4)]   # section, file, opening, closing
    logits = head(*inputs)
    moved = head(*(rotate_chroma(c, semitones=shift) for c in inputs))
    # key index 2 * root + minor: the root moves up by `shift`
    assert torch.allclose(moved, torch.roll(logits, 2 * shift, dims=-1), atol=1e-5)


@pytest.mark.parametrize("profile,weight,margin", [("temperley", 1.0, 0.0), ("albrecht", 3.0, 0.0),
                                                   ("albrecht", 3.0, 0.15), ("temperley", 1.0, 0.3)])
def test_an_untrained_key_head_names_the_weak_labellers_key(profile, weight, margin):
    """Its profile correlation, with the labeller's dominant-margin rule at decision time."""
    head = KeyHead(profile=profile, context_weight=weight)
    rng = np.random.default_rng(3)
    chroma = np.stack([key_chroma(int(k), rng, noise=0.6) for k in rng.integers(0, 24, 60)])
    context = np.stack([key_chroma(int(k), rng, noise=0.6) for k in rng.integers(0, 24, 60)])
    edges = torch.as_tensor(np.stack([key_chroma(int(k), rng, noise=0.6) for k in rng.integers(0, 24, 60)]))
    logits = head(torch.as_tensor(chroma), torch.as_tensor(context), edges, edges.flip(0))
    predicted = head.decide(logits, dominant_margin=margin)
    labels = LabelConfig(min_key_confidence=0.0, key_dominant_margin=margin, key_profile=profile,
                         key_context_weight=weight)  # the low-confidence fallback aside
    for c, g, p in zip(chroma, context, predicted):
        assert key_label_frames(c[None, :], weights=np.ones(1), context=g, config=labels).key_full == KEYS_FULL[int(p)]
    if margin:  # the rule changed some decisions, or this test would not see it
        assert (predicted != logits.argmax(dim=-1)).any()


def test_the_decision_rule_is_transposition_equivariant():
    head = KeyHead(profile="albrecht", context_weight=3.0)
    logits = head(*(_random_chroma(40, seed=seed) for seed in (4, 5, 6, 7)))
    decided = head.decide(logits, dominant_margin=0.2)
    for shift in (1, 7):
        moved = head.decide(torch.roll(logits, 2 * shift, dims=-1), dominant_margin=0.2)
        assert torch.equal(moved, 2 * ((decided // 2 + shift) % 12) + decided % 2)


def test_a_key_head_trained_on_c_major_and_a_minor_names_every_transposed_key():
    """Training sections in two keys only; held-out sections in all 24 are named right."""
    rng = np.random.default_rng(0)
    keys = np.array([0, 19] * 20)                       # C major, A minor
    train = section_arrays(keys, np.full(len(keys), 100.0), np.repeat([f"f{i}" for i in range(10)], 4))
    model = train_adapter(train, n_styles=10, config=TrainConfig(epochs=2, head_epochs=100)).model
    held_keys = np.arange(24).repeat(3)
    held = section_arrays(held_keys, np.full(len(held_keys), 100.0), np.array(["h"] * len(held_keys)), seed=7)
    held["chroma"] = np.stack([key_chroma(int(k), rng, noise=0.1) for k in held_keys])
    held["context_chroma"] = held["chroma"]
    assert (model.predict(held)["key_full"] == held_keys).all()


def test_a_key_head_learns_from_where_pieces_open_and_close():
    """Minor pieces whose average chroma reads as their relative major (as minor chorales
    leaning on it do) but which open and close on the minor tonic chord, beside major pieces
    that read as major throughout. The labeller (the untrained head) names the major for both;
    only the openings and closings tell them apart, and trained on strong labels the head
    names every held-out piece's key, in every transposition."""
    rng = np.random.default_rng(11)

    def pieces(tonics, file_prefix, seed):
        majors = 2 * tonics
        minors = 2 * ((tonics + 9) % 12) + 1                        # the relative minor
        keys = np.concatenate([majors, minors])
        data = section_arrays(keys, np.full(len(keys), 100.0),
                              np.array([f"{file_prefix}{i // 3}" for i in range(len(keys))]), seed=seed)
        data["chroma"] = data["context_chroma"] = np.concatenate(
            [np.stack([key_chroma(int(k), rng) for k in majors])] * 2)  # both halves read as the major
        return data, keys

    train, _ = pieces(rng.integers(0, 12, 30), "f", seed=1)
    held, held_keys = pieces(np.arange(12).repeat(2), "h", seed=2)
    config = TrainConfig(epochs=2, head_epochs=200, val_fraction=0.1)
    result = train_adapter(train, n_styles=10, config=config)
    model = result.model
    built = train_adapter(train, n_styles=10, config=config.model_copy(update={"head_epochs": 0})).model
    minor = held_keys % 2 == 1
    assert (built.predict(held)["key_full"][minor] != held_keys[minor]).all()   # the labeller misreads them
    assert (model.predict(held)["key_full"] == held_keys).mean() >= 0.95
    # the held-out check on the training files agreed: the head kept what it learnt
    assert "so its training was dropped" not in result.split["key_tempo_heads"]["key"]
    assert "against the weak labeller's" in result.split["key_tempo_heads"]["key"]


@pytest.mark.parametrize("head_labels,learns", [("strong", False), ("all", True)])
def test_weak_labels_teach_the_heads_only_when_asked(head_labels, learns):
    """Weak labels are what the heads already decide: by default they stay as built."""
    rng = np.random.default_rng(2)
    train = section_arrays(rng.integers(0, 24, 32), rng.uniform(70, 150, 32), np.repeat([f"f{i}" for i in range(8)], 4),
                           strong=False)
    # no held-out check: it would drop what weak labels teach (tested on its own below)
    config = TrainConfig(epochs=2, head_epochs=20, head_labels=head_labels, head_check_folds=0)
    model = train_adapter(train, n_styles=10, config=config).model
    built = Adapter(model.config)  # the heads' outputs as built do not depend on the random init
    built.set_standardization(train)
    held = section_arrays(rng.integers(0, 24, 12), rng.uniform(70, 150, 12), np.array(["h"] * 12), seed=5)
    with torch.no_grad():
        trained_out, built_out = model(as_tensors(held)), built(as_tensors(held))
    for head in ("key", "tempo"):
        assert torch.allclose(trained_out[head], built_out[head], atol=1e-5) != learns, head


def test_shifting_the_periodicity_shifts_the_tempo_evidence():
    head = TempoHead(context_dim=2, bpm_min=30, bpm_max=480)
    with torch.no_grad():
        head.octave.bias.zero_()                         # the prior is the one part tied to a place
    rng = np.random.default_rng(0)
    # Noiseless: the contrast's floor and ceiling are read inside tempo.BPM_RANGE, so a noisy
    # floor would move them as the shift moves other bins into the range.
    curve = torch.as_tensor(np.stack([periodicity(90.0, rng, noise=0.0)]))
    context, tracker = torch.zeros(1, 2), torch.tensor([90.0])
    base = head(curve, context, tracker)
    moved = head(shift_periodicity(curve, bins=12), context, tracker * 2 ** 0.5)
    assert torch.allclose(moved[0, 30:70], base[0, 18:58], atol=1e-4)


def test_the_untrained_tempo_head_weighs_the_labellers_candidates():
    """A curve whose short-lag lobe at the top of the grid outweighs every beat, and a tracker
    at 100 BPM: the untrained head reads what ``estimate_tempo`` reads (one of the tracker's
    multiples), not the lobe; without a tracker it would take the lobe."""
    from aural_core.tempo import estimate_tempo

    grid = TEMPO_FINE_BPM
    curve = 0.2 + 0.3 * np.exp(-0.5 * ((np.log2(grid) - np.log2(100.0)) * 24 / 0.6) ** 2)
    curve += 0.3 * np.exp(-0.5 * ((np.log2(grid) - np.log2(200.0)) * 24 / 0.6) ** 2)
    curve += np.clip((np.log2(grid) - np.log2(180.0)) * 3, 0, None)   # the lobe: 1.1 at the top
    label = estimate_tempo(tempo_bpm=np.array([100.0]), beat_strength=np.array([1.0]), acf=curve[None],
                           percussive_share=np.zeros(1), onset_rate=np.full(1, 3.0))
    head = TempoHead(context_dim=2, bpm_min=40, bpm_max=250)
    curve_t = torch.as_tensor(curve[None], dtype=torch.float32)
    with torch.no_grad():
        logits = head(curve_t, torch.zeros(1, 2), torch.tensor([100.0]))
        blind = head(curve_t, torch.zeros(1, 2), torch.tensor([np.nan]))
    bpm, _ = decode_tempo(logits, tracker_bpm=torch.tensor([100.0]), curve=curve_t)
    assert label.bpm in (100.0, 200.0) and abs(float(bpm[0]) - label.bpm) < 0.01, (float(bpm[0]), label.bpm)
    assert float(decode_tempo(blind, tracker_bpm=torch.tensor([np.nan]), curve=curve_t)[0][0]) > 230


@pytest.mark.parametrize("seed", range(4))
def test_the_untrained_tempo_head_names_the_labellers_exact_bpm(seed):
    """Random curves with peaks near (not at) the tracker's multiples, random trackers, drums
    and onset rates: the untrained head names exactly the candidate ``estimate_tempo`` names.
    Read at the bins near a candidate instead of at the candidate, a peak 3 % away lent its
    candidate a score the labeller never gave it (1 section in 40 of a real recording)."""
    from aural_core.tempo import estimate_tempo

    rng = np.random.default_rng(seed)
    n = 40
    tracker = rng.uniform(50, 200, n)
    curves = np.stack([0.05 + sum(rng.uniform(0.1, 1.0) * np.exp(-0.5 * ((np.log2(TEMPO_FINE_BPM) - np.log2(
        t * r * rng.uniform(0.96, 1.04))) * 24 / 0.8) ** 2) for r in (0.5, 2 / 3, 1.0, 1.5, 2.0)) for t in tracker])
    share, rate = rng.uniform(0, 0.4, n), rng.uniform(0.5, 6, n)
    labels = [estimate_tempo(tempo_bpm=np.array([t]), beat_strength=np.ones(1), acf=c[None],
                             percussive_share=np.array([s]), onset_rate=np.array([r])).bpm
              for t, c, s, r in zip(tracker, curves, share, rate)]
    head = TempoHead(context_dim=2, bpm_min=40, bpm_max=250)
    tracker_t, curves_t = torch.as_tensor(tracker, dtype=torch.float32), torch.as_tensor(curves, dtype=torch.float32)
    with torch.no_grad():
        logits = head(curves_t, torch.as_tensor(np.stack([share, np.zeros(n)], axis=1), dtype=torch.float32), tracker_t)
    bpm, _ = decode_tempo(logits, tracker_bpm=tracker_t, curve=curves_t)
    np.testing.assert_allclose(bpm.numpy(), labels, atol=0.01)


def test_the_tempo_loss_asks_only_whether_the_labels_tempo_is_named():
    """Moving probability inside the label's 4 % window leaves the loss as it is; moving it out
    of the window raises it (a smoothed target would penalise the first too)."""
    from aural_core.heads import bpm_bin_position, tempo_window_nll

    label = torch.tensor([100.0])
    centre = int(bpm_bin_position(label).round())
    mask = torch.zeros(len(TEMPO_FINE_BPM), dtype=torch.bool)
    base = torch.zeros(1, len(TEMPO_FINE_BPM))
    base[0, centre] = 5.0
    inside, outside = base.clone(), base.clone()
    inside[0, centre], inside[0, centre + 1] = 0.0, 5.0          # still within 4 % of 100 BPM
    outside[0, centre], outside[0, centre + 4] = 0.0, 5.0        # 12 % away
    loss = [float(tempo_window_nll(x, label, mask)) for x in (base, inside, outside)]
    assert abs(loss[0] - loss[1]) < 1e-5 and loss[2] > loss[0] + 1.0, loss


def test_a_tempo_head_trained_on_80_to_110_bpm_reads_150_bpm():
    """Sections at 80-110 BPM only (their curves also peak at the half and third tempo); a
    150 BPM section is read within 4 %, not at the 75 BPM the untrained prior would prefer."""
    rng = np.random.default_rng(1)
    bpms = rng.uniform(80, 110, 48)
    train = section_arrays(rng.integers(0, 24, 48), bpms, np.repeat([f"f{i}" for i in range(12)], 4))
    model = train_adapter(train, n_styles=10, config=TrainConfig(epochs=2)).model
    held = section_arrays(np.zeros(6, dtype=int), np.full(6, 150.0), np.array(["h"] * 6), seed=9)
    bpm = model.predict(held)["bpm"]
    assert np.all(np.abs(bpm / 150.0 - 1) <= 0.04), bpm


def test_decode_tempo_refines_the_mode_between_bins():
    """Gaussian log-probabilities (0.5 bin wide) centred between bins: the decoded BPM is the
    centre, and nearly all the probability lies within 4 % of it."""
    bpm = torch.tensor([97.0, 131.0])
    log2_grid = torch.log2(torch.as_tensor(TEMPO_FINE_BPM, dtype=torch.float32))
    logits = -2.0 * ((log2_grid[None, :] - torch.log2(bpm)[:, None]) * 24) ** 2
    decoded, confidence = decode_tempo(logits)
    assert torch.allclose(decoded, bpm, rtol=0.005) and (confidence > 0.95).all()


def test_same_data_and_seed_give_byte_identical_adapters(tmp_path):
    from storage.models import save_adapter

    rng = np.random.default_rng(2)
    data = section_arrays(rng.integers(0, 24, 24), rng.uniform(70, 140, 24), np.repeat([f"f{i}" for i in range(6)], 4))
    blobs = []
    for i in range(2):
        model = train_adapter(data, n_styles=10, config=TrainConfig(epochs=3, head_epochs=20)).model
        blobs.append(save_adapter(tmp_path / f"{i}.pt", model).read_bytes())
    assert blobs[0] == blobs[1]


@pytest.mark.parametrize("fmt", ["aural-adapter/1", "aural-adapter/3", "aural-adapter/4"])  # 4: before the edges
def test_an_adapter_of_the_previous_release_is_refused_with_one_line(tmp_path, fmt):
    from storage.models import OutdatedAdapterError, load_adapter

    old = Adapter(AdapterConfig(n_styles=10))
    path = tmp_path / "adapter.pt"
    torch.save({"format": fmt, "config": {"n_styles": 10, "n_keys": 14},
                "state_dict": old.state_dict(), "metadata": "{}"}, path)
    with pytest.raises(OutdatedAdapterError) as info:
        load_adapter(path)
    message = str(info.value)
    assert "\n" not in message and "retrain" in message and str(path) in message


def test_strong_labels_on_too_few_files_teach_no_head():
    """One tagged file among many leaves both heads as built (as the weak labeller); from
    ``min_strong_files`` files on, the heads learn, and the training summary says which."""
    rng = np.random.default_rng(3)
    files = np.repeat([f"f{i}" for i in range(10)], 3)
    data = section_arrays(rng.integers(0, 24, 30), rng.uniform(70, 140, 30), files)
    data["strong_key"] = data["strong_bpm"] = files == "f0"
    config = TrainConfig(epochs=2, head_epochs=20, val_fraction=0.1)
    model = train_adapter(data, n_styles=10, config=config)
    built = train_adapter(data, n_styles=10, config=config.model_copy(update={"head_epochs": 0})).model
    assert all(torch.equal(a, b) for a, b in zip(model.model.tempo.parameters(), built.tempo.parameters()))
    assert "fewer than min_strong_files=8" in model.split["key_tempo_heads"]["tempo"]
    taught = train_adapter(data, n_styles=10, config=config.model_copy(update={"min_strong_files": 1}))
    assert not all(torch.equal(a, b) for a, b in zip(taught.model.tempo.parameters(), built.tempo.parameters()))
    assert taught.split["key_tempo_heads"]["tempo"] == "learnt from the strong labels of 1 file"


def test_strong_labels_that_do_not_hold_on_held_out_files_are_dropped():
    """Labels no rule carries from file to file: major-key sections whose file's key is
    labelled at random its parallel minor, its relative minor or itself, and BPMs at random
    octaves. Trained on them, each head scores below the weak labeller on the training files
    it is checked on, so both stay as built, and the summary says so."""
    config = TrainConfig(epochs=2, head_epochs=60, val_fraction=0.1)
    files = np.repeat([f"f{i}" for i in range(12)], 3)
    rng = np.random.default_rng(7)
    majors = 2 * rng.integers(0, 12, 36)
    keyed = section_arrays(majors, rng.uniform(70, 140, 36), files)
    kind = {f: int(rng.integers(0, 3)) for f in sorted(set(files))}
    label = (lambda k: k + 1, lambda k: 2 * ((k // 2 + 9) % 12) + 1, lambda k: k)
    keyed["y_key_full"] = np.array([label[kind[f]](k) for k, f in zip(majors, files)])
    rng = np.random.default_rng(6)
    timed = section_arrays(rng.integers(0, 24, 36), rng.uniform(70, 140, 36), files)
    timed["y_bpm"] = (timed["y_bpm"] * rng.choice([0.5, 1.0, 2.0], 36)).astype(np.float32)
    for head, data in (("key", keyed), ("tempo", timed)):
        result = train_adapter(data, n_styles=10, config=config)
        built = train_adapter(data, n_styles=10, config=config.model_copy(update={"head_epochs": 0})).model
        assert all(torch.equal(a, b) for a, b in zip(getattr(result.model, head).parameters(),
                                                     getattr(built, head).parameters())), head
        assert "so its training was dropped" in result.split["key_tempo_heads"][head], head


def test_strong_tempo_labels_no_candidate_reaches_teach_nothing():
    """Strong BPMs 5/4 of the tempo the music and the tracker show (the head chooses among the
    tracker's multiples and the periodicity's maxima) leave the tempo head as built, and the
    summary says why."""
    rng = np.random.default_rng(4)
    files = np.repeat([f"f{i}" for i in range(10)], 3)
    bpms = rng.uniform(70, 140, 30)
    data = section_arrays(rng.integers(0, 24, 30), bpms, files)
    heard = bpms / 1.25                                          # 5/4: no candidate of the labeller reaches it
    data["tracker_bpm"] = heard.astype(np.float32)
    data["tempo_periodicity"] = np.stack([periodicity(b, rng, noise=0.0) for b in heard])  # no stray maxima
    data["strong_bpm"] = np.ones(30, dtype=bool)
    config = TrainConfig(epochs=2, head_epochs=20, val_fraction=0.1, min_strong_files=1)
    result = train_adapter(data, n_styles=10, config=config)
    built = train_adapter(data, n_styles=10, config=config.model_copy(update={"head_epochs": 0})).model
    assert all(torch.equal(a, b) for a, b in zip(result.model.tempo.parameters(), built.tempo.parameters()))
    assert "no strong BPM lies within 4 %" in result.split["key_tempo_heads"]["tempo"]


def test_strong_labels_on_validation_files_teach_the_heads():
    """The key and tempo heads learn from every file, validation files included (they do not
    early-stop; their held-out check is their validation): strong labels only on the files
    the split holds out still teach both heads."""
    from aural_core.training import split_files

    rng = np.random.default_rng(5)
    files = np.repeat([f"f{i}" for i in range(10)], 3)
    data = section_arrays(rng.integers(0, 24, 30), rng.uniform(70, 140, 30), files)
    config = TrainConfig(epochs=2, head_epochs=20, val_fraction=0.2, min_strong_files=1, head_check_folds=0)
    _, val = split_files(files, val_fraction=config.val_fraction, seed=config.seed)
    data["strong_key"] = data["strong_bpm"] = val
    n_val = len(set(files[val]))
    result = train_adapter(data, n_styles=10, config=config)
    built = train_adapter(data, n_styles=10, config=config.model_copy(update={"head_epochs": 0})).model
    for head in ("key", "tempo"):
        assert result.split["key_tempo_heads"][head].startswith(f"learnt from the strong labels of {n_val} files")
        assert not all(torch.equal(a, b) for a, b in zip(getattr(result.model, head).parameters(),
                                                         getattr(built, head).parameters())), head


def test_publishing_compares_only_the_heads_validation_holds_out():
    """The key and tempo heads learn from the validation sections, so the publish decision's
    held-out loss leaves their terms out: moving them changes nothing, moving emotion does."""
    from aural_core.selection import held_out_loss

    rng = np.random.default_rng(7)
    data = section_arrays(rng.integers(0, 24, 12), rng.uniform(70, 140, 12), np.repeat([f"f{i}" for i in range(4)], 3))
    model = Adapter(AdapterConfig(n_styles=10))
    model.set_standardization(data)
    rows = np.ones(12, dtype=bool)
    before = held_out_loss(model, data, mask=rows)
    with torch.no_grad():
        model.key.mode_bias += torch.tensor([0.0, 3.0])
        model.tempo.log_temperature += 1.0
    assert held_out_loss(model, data, mask=rows) == before
    with torch.no_grad():
        for p in model.emotion.parameters():
            p += 0.5
    assert held_out_loss(model, data, mask=rows) != before
