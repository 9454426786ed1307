# Over 350 lines: the key and tempo heads and the transforms and targets they are trained with, one contract.
"""The adapter's key and tempo heads: small scorers shaped like the music they read.

A key or a tempo is one value per file, so a few dozen training sections hold a few dozen
examples: a dense layer over a 521-D embedding memorises the files. These heads read the
section's own evidence (``storage.sections`` carries it beside x) and share their weights where
music is symmetric, so every training section teaches all 24 keys and every tempo at once.

- ``KeyHead``: one scorer, shared by the 12 roots, reads the section's chroma and the whole
  file's chroma rotated so that the root comes first, and scores major and minor. Transposing
  the input by k semitones rotates the 24 logits by k, exactly (Korzeniowski & Widmer's key CNN
  and STONE share weights the same way; key profiles are the linear case). The scorer is the
  weak labeller's profile correlation (``aural_core.key``), fixed; what the head learns is how
  much the file's opening and closing chroma (its first and last audible 2 s,
  ``sections.edge_chroma``), scored by the same profile, add per mode, and a mode bias (which
  shifts major against minor, never one root against another). Untrained it names the
  labeller's key. It decides with the labeller's rule too (``KeyHead.decide``: the key a fifth
  below when it scores within the dominant margin). Why this shape, on the two labelled
  composition sets (104 files, 5-fold cross-validation by file, strong labels; the labeller at
  0.920): training the profile's weights as well (with a residual MLP) fell to 0.882, because
  the files a profile misreads (minor chorales read as their relative major, mostly) do not
  differ from the others in their average chroma (``heads_ab.json`` at bc7caf8, without the
  held-out check); where a piece opens and closes does tell them apart, and learning only those
  weights reached 0.959 (at 4efcc6a). The section vector x is not read: a mode bias from x learnt
  the training files' modes (held-out key 0.73 with it, 0.80 without, extractor 2).
- ``TempoHead``: a distribution over the fine log-tempo grid (``tempo.TEMPO_FINE_BPM``, 24 bins
  per octave), shift-equivariant along it: a 1-D convolution over the section's periodicity
  curve read at x1, x2, x1/2, x3/2 and x2/3 (octave and ternary relatives as channels), plus an
  octave preference (slope and curvature over log-tempo, starting as the weak labeller's
  log-normal prior) from context: percussive share and onset rate. Not x: an octave
  preference read from x learnt the training files (held-out tempo Acc1 0.60 with it, 0.86
  without, in the same 5-fold run).
  The weak labeller's candidates (the beat tracker's multiples and the periodicity's strongest
  maxima, ``tempo_candidates``) are the only contenders, each scored at its own tempo on the
  curve rescaled as the labeller rescales it, so the head chooses an octave as the labeller
  does and, untrained, names exactly the labeller's BPM. Bins outside the BPM range are
  masked. The BPM is the winning candidate (the refined mode without a tracker tempo); the
  probability within 4 % of it is the head's confidence. It learns with the probability within
  4 % of the label (``tempo_window_nll``), from labels a candidate reaches.

Both start as the weak labeller, so by default they learn only from strong labels (file tags,
``labels.csv``: ``TrainConfig.head_labels``), and keep what they learnt only where a held-out
check on those files does not score them below the labeller (``training.fit_key_tempo``);
``benchmarks/bench_heads.py`` measures them against the truth (``benchmarks/results/heads.json``).

Both heads are exact for feature-space augmentation (``rotate_chroma``, ``shift_periodicity``):
rolled chroma is transposed music, a shifted periodicity curve is the same music faster.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .key import PROFILES
from .tempo import BPM_RANGE, PEAK_CANDIDATES, PRIOR_MU_BPM, PRIOR_SIGMA_OCT, RATIOS, TEMPO_FINE_BPM

N_PITCH = 12
N_KEYS = 24
BINS_PER_OCTAVE = 24
TEMPO_BINS = len(TEMPO_FINE_BPM)
LOG2_GRID = np.log2(TEMPO_FINE_BPM)
# The periodicity curve read at these tempo ratios, as bin offsets: x1, x2, x1/2, x3/2, x2/3.
RATIO_OFFSETS = (0, BINS_PER_OCTAVE, -BINS_PER_OCTAVE, round(BINS_PER_OCTAVE * math.log2(1.5)),
                 -round(BINS_PER_OCTAVE * math.log2(1.5)))
TOLERANCE = 0.04  # tempo Acc1's window: the label is smoothed over it, the confidence sums over it
CANDIDATE_BONUS = 2.0  # in units of the log periodicity (0..1): any candidate beats any other bin
_EPS = 1e-8

# roll(c, -r)[j] == c[(j + r) % 12]: the chroma seen from root r (the root first).
_ROTATIONS = torch.tensor([[(j + r) % N_PITCH for j in range(N_PITCH)] for r in range(N_PITCH)])


def _correlations(centred: torch.Tensor, profile: torch.Tensor) -> torch.Tensor:
    """(n, 12 roots, 2 modes) Pearson correlations of centred chroma with the unit profiles, each
    rotated to every root; 0 for a silent row."""
    unit = centred / centred.norm(dim=-1, keepdim=True).clamp_min(_EPS)
    return unit[:, _ROTATIONS] @ profile.T


def centred_chroma(chroma: torch.Tensor) -> torch.Tensor:
    """Chroma normalised to sum 1, minus its mean (1/12); silence stays 0.

    Parameters
    ----------
    chroma : torch.Tensor [shape=(n, 12)]
        Non-negative pitch-class energy per row.

    Returns
    -------
    torch.Tensor [shape=(n, 12)]
        Each row summing to 0; an all-zero row stays zero.
    """
    total = chroma.sum(dim=-1, keepdim=True)
    return torch.where(total > _EPS, chroma / total.clamp_min(_EPS) - 1.0 / N_PITCH, torch.zeros_like(chroma))


class KeyHead(nn.Module):
    """24 key logits (index 2 * root + minor) from a section's chroma, its file's, and the file's edges.

    The score of a key is the weak labeller's profile correlation of the section and its file
    (fixed), plus a learnt weight per mode times the profile correlation of the file's opening
    and of its closing chroma (``sections.edge_chroma``), plus a mode bias.

    Parameters
    ----------
    profile : str
        Key-profile set the scorer uses (``aural_core.key.PROFILES``).
    context_weight : float
        Weight of the file's chroma, as the weak labeller adds it.
    """

    def __init__(self, *, profile: str, context_weight: float):
        super().__init__()
        rows = [torch.as_tensor(base - base.mean(), dtype=torch.float32) for base in PROFILES[profile]]
        self.register_buffer("profile", torch.stack([p / p.norm() for p in rows]))   # (2, 12): major, minor
        # The opening's and the closing's weight per mode: zero, so an untrained head is the labeller.
        self.edge_gain = nn.Parameter(torch.zeros(2, 2))
        self.mode_bias = nn.Parameter(torch.zeros(2))  # shifts major against minor, never one root
        self.log_temperature = nn.Parameter(torch.tensor(math.log(10.0)))
        self.context_weight = float(context_weight)

    def forward(self, chroma: torch.Tensor, context: torch.Tensor, opening: torch.Tensor,
                closing: torch.Tensor) -> torch.Tensor:
        """24 key logits per section.

        Parameters
        ----------
        chroma : torch.Tensor [shape=(n, 12)]
            The sections' pitch-class histograms.
        context : torch.Tensor [shape=(n, 12)]
            Their files' pitch-class histograms.
        opening, closing : torch.Tensor [shape=(n, 12)]
            Their files' first and last audible frame's pitch classes.

        Returns
        -------
        torch.Tensor [shape=(n, 24)]
            Logits, index 2 * root + minor.
        """
        c, g = centred_chroma(chroma), centred_chroma(context)
        # The weak labeller's Pearson correlation of section + weighted file with each key's profile.
        scores = _correlations(c + self.context_weight * g, self.profile)           # (n, 12, 2)
        for gain, edge in zip(self.edge_gain, (opening, closing)):
            scores = scores + gain * _correlations(centred_chroma(edge), self.profile)
        logits = self.log_temperature.exp() * scores + self.mode_bias
        return logits.reshape(len(chroma), N_KEYS)

    def decide(self, logits: torch.Tensor, *, dominant_margin: float) -> torch.Tensor:
        """The key of each section, by the weak labeller's rule.

        The best key, or the key a fifth below it (same mode) when that one scores within
        ``dominant_margin`` of it, in the labeller's correlation units (the logits over the
        temperature): the rule of ``aural_core.key.estimate_key``, transposition-equivariant
        like the scores.

        Parameters
        ----------
        logits : torch.Tensor [shape=(n, 24)]
            This head's output (index 2 * root + minor).
        dominant_margin : float >= 0
            The labeller's ``LabelConfig.key_dominant_margin``; 0 gives the arg-max.

        Returns
        -------
        torch.Tensor [shape=(n,), dtype=int64]
            The key ids (``vocab.KEYS_FULL``).
        """
        best = logits.argmax(dim=-1)
        below = 2 * ((best // 2 + 5) % N_PITCH) + best % 2
        scores = logits / self.log_temperature.exp()
        gap = scores.gather(-1, best[:, None]) - scores.gather(-1, below[:, None])
        return torch.where(gap[:, 0] <= dominant_margin, below, best)


LOG_FLOOR = math.log(1e-3)  # periodicity below 1e-3 of the curve's peak counts as none
_IN_RANGE = torch.as_tensor((TEMPO_FINE_BPM >= BPM_RANGE[0]) & (TEMPO_FINE_BPM <= BPM_RANGE[1]))


def periodicity_contrast(curve: torch.Tensor) -> torch.Tensor:
    """``tempo.periodicity_contrast`` per row: 0 at the lowest value in range, 1 at the highest.

    The range is ``tempo.BPM_RANGE``; values outside it may exceed 1.

    Parameters
    ----------
    curve : torch.Tensor [shape=(n, TEMPO_BINS)]
        Periodicity curves over ``TEMPO_FINE_BPM``.

    Returns
    -------
    torch.Tensor [shape=(n, TEMPO_BINS)]
    """
    lo = curve.masked_fill(~_IN_RANGE, torch.inf).min(dim=-1, keepdim=True).values
    hi = curve.masked_fill(~_IN_RANGE, -torch.inf).max(dim=-1, keepdim=True).values
    return ((curve - lo) / (hi - lo).clamp_min(_EPS)).clamp_min(0.0)


def periodicity_peaks(curve: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``tempo.periodicity_peaks`` per row: the strongest local maxima inside ``BPM_RANGE``.

    ``PEAK_CANDIDATES`` of them, strongest first (ties: the slower first).

    Parameters
    ----------
    curve : torch.Tensor [shape=(n, TEMPO_BINS)]
        As for ``periodicity_contrast``.

    Returns
    -------
    bpm : torch.Tensor [shape=(n, PEAK_CANDIDATES)]
        The maxima's tempi.
    found : torch.Tensor [shape=(n, PEAK_CANDIDATES), dtype=bool]
        False where the curve has fewer maxima.
    """
    peak = torch.zeros_like(curve, dtype=torch.bool)
    peak[:, 1:-1] = (curve[:, 1:-1] > curve[:, :-2]) & (curve[:, 1:-1] >= curve[:, 2:]) & _IN_RANGE[1:-1]
    order = torch.argsort(torch.where(peak, -curve, torch.inf), dim=-1, stable=True)[:, :PEAK_CANDIDATES]
    return torch.as_tensor(TEMPO_FINE_BPM, dtype=torch.float32)[order], peak.gather(1, order)


def log_periodicity(curve: torch.Tensor) -> torch.Tensor:
    """Each periodicity curve on the log scale the weak labeller scores candidates on, in [0, 1].

    The value is 1 + log(value / its peak) / |LOG_FLOOR| (as ``tempo.estimate_tempo`` scores),
    0 at or below 1e-3 of the peak.

    Parameters
    ----------
    curve : torch.Tensor [shape=(n, bins)]
        Non-negative periodicity over ``TEMPO_FINE_BPM``.

    Returns
    -------
    torch.Tensor [shape=(n, bins)]
    """
    return _log_relative(curve, curve.max(dim=-1, keepdim=True).values)


def _log_relative(value: torch.Tensor, peak: torch.Tensor) -> torch.Tensor:
    """``log_periodicity``'s scale: 1 + log(value / peak) / |LOG_FLOOR|, floored at 0."""
    return 1.0 + torch.log((value / peak.clamp_min(_EPS)).clamp_min(math.exp(LOG_FLOOR))) / -LOG_FLOOR


def ratio_channels(curve: torch.Tensor) -> torch.Tensor:
    """A ``log_periodicity`` curve read at x1, x2, x1/2, x3/2 and x2/3 of each bin's tempo.

    Parameters
    ----------
    curve : torch.Tensor [shape=(n, bins)]
        ``log_periodicity`` output.

    Returns
    -------
    torch.Tensor [shape=(n, 5, bins)]
        One channel per ratio of ``RATIO_OFFSETS``; 0 beyond the grid.
    """
    padded = F.pad(curve, (BINS_PER_OCTAVE, BINS_PER_OCTAVE), value=0.0)
    n = curve.shape[-1]
    return torch.stack([padded[:, BINS_PER_OCTAVE + o: BINS_PER_OCTAVE + o + n] for o in RATIO_OFFSETS], dim=1)


def tempo_candidates(tracker_bpm: torch.Tensor, curve: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Where the weak labeller looks: the tracker's multiples and the curve's strongest maxima.

    The tracker's tempo times each of ``tempo.RATIOS``, and the periodicity curve's maxima
    (``periodicity_peaks``) whose 4 % windows overlap none of those nor a stronger maximum's,
    as ``tempo.estimate_tempo`` takes them.

    Parameters
    ----------
    tracker_bpm : torch.Tensor [shape=(n,)]
        The sections' beat-tracker tempo (``SectionEvidence.tracker_bpm``), NaN for none.
    curve : torch.Tensor [shape=(n, TEMPO_BINS)]
        The sections' periodicity curves.

    Returns
    -------
    bpm : torch.Tensor [shape=(n, len(RATIOS) + PEAK_CANDIDATES)]
        The candidates (beats per minute).
    valid : torch.Tensor [shape=(n, len(RATIOS) + PEAK_CANDIDATES), dtype=bool]
        False outside ``tempo.BPM_RANGE`` (the labeller drops those), for a NaN tempo (the
        labeller then names its prior's centre), for a missing maximum and for a maximum
        within 8 % of a multiple or of a stronger maximum.
    """
    ratios = torch.tensor(RATIOS, dtype=torch.float32)
    known = torch.isfinite(tracker_bpm) & (tracker_bpm > 0)
    multiples = torch.where(known, tracker_bpm, torch.ones_like(tracker_bpm))[:, None] * ratios[None, :]
    in_range = known[:, None] & (multiples >= BPM_RANGE[0]) & (multiples <= BPM_RANGE[1])
    peaks, found = periodicity_peaks(curve)
    near = 2 * math.log2(1 + TOLERANCE)  # 4 % windows that would overlap
    by_multiple = (torch.log2(peaks[:, :, None] / multiples[:, None, :]).abs() <= near) & in_range[:, None]
    stronger = torch.ones(PEAK_CANDIDATES, PEAK_CANDIDATES, dtype=torch.bool).tril(diagonal=-1)  # [j, i]: i < j
    by_peak = (torch.log2(peaks[:, :, None] / peaks[:, None, :]).abs() <= near) & found[:, None] & stronger
    keep = found & known[:, None] & ~by_multiple.any(dim=-1) & ~by_peak.any(dim=-1)
    return torch.cat([multiples, peaks], dim=1), torch.cat([in_range, keep], dim=1)


def _within_tolerance(position: torch.Tensor) -> torch.Tensor:
    """(..., TEMPO_BINS) mask of the bins within 4 % of each fractional bin ``position``."""
    d = torch.arange(TEMPO_BINS, dtype=torch.float32) - position[..., None]
    return d.abs() <= BINS_PER_OCTAVE * math.log2(1 + TOLERANCE)


def _place_candidates(logits: torch.Tensor, score: torch.Tensor, position: torch.Tensor,
                      valid: torch.Tensor) -> torch.Tensor:
    """Every bin within 4 % of a valid candidate takes that candidate's ``score`` (the best one
    where windows overlap); the other bins keep ``logits``. Shapes: (n, bins), (n, r) x3."""
    window = _within_tolerance(position) & valid[:, :, None]                  # (n, r, bins)
    per_candidate = torch.where(window, score[:, :, None], torch.full_like(window, -torch.inf, dtype=logits.dtype))
    best = per_candidate.max(dim=1).values
    return torch.where(torch.isfinite(best), best, logits)


class TempoHead(nn.Module):
    """Logits over ``TEMPO_FINE_BPM`` (bins outside [bpm_min, bpm_max] masked).

    Parameters
    ----------
    context_dim : int
        Size of the context vector for the octave preference (percussive share and the
        standardised onset rate).
    bpm_min, bpm_max : float
        The label range: bins outside it never win.
    channels, width : int
        Hidden channels and kernel width (bins) of the convolution.
    """

    def __init__(self, *, context_dim: int, bpm_min: float, bpm_max: float, channels: int = 8, width: int = 5):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv1d(len(RATIO_OFFSETS), channels, width, padding=width // 2), nn.ReLU(),
                                  nn.Conv1d(channels, 1, 1))
        t = torch.as_tensor((LOG2_GRID - math.log2(PRIOR_MU_BPM)) / PRIOR_SIGMA_OCT, dtype=torch.float32)
        self.octave = nn.Linear(context_dim, 2)              # slope and curvature over log-tempo
        self.log_temperature = nn.Parameter(torch.zeros(()))  # calibration, without moving the mode
        with torch.no_grad():
            # Untrained, the head scores a tempo as the weak labeller scores its candidates:
            # 2 log periodicity + the log-normal prior + 2 x percussive share x octaves above
            # the prior's centre. The other hidden channels start silent and learn the rest. The
            # prior is a curvature over log-tempo, not a weight per bin: a free preference per
            # bin learnt the training set's tempi and read a 150 BPM section at 75.
            conv_in, conv_out = self.conv[0], self.conv[2]
            nn.init.zeros_(conv_in.weight[0])
            conv_in.weight[0, 0, width // 2] = 1.0
            conv_in.bias[0] = 0.0                            # the curve is >= 0: the ReLU passes it
            nn.init.zeros_(conv_out.weight)
            conv_out.weight[0, 0, 0] = 2.0 * -LOG_FLOOR      # 2 log periodicity, up to a constant
            conv_out.bias.fill_(0.0)
            nn.init.zeros_(self.octave.weight)
            self.octave.bias.copy_(torch.tensor([0.0, -0.5]))  # the labeller's log-normal prior
            self.octave.weight[0, 0] = 2.0 * PRIOR_SIGMA_OCT   # drums pull faster, as the labeller's perc term
        self.register_buffer("t", t, persistent=False)
        valid = (TEMPO_FINE_BPM >= bpm_min) & (TEMPO_FINE_BPM <= bpm_max)
        self.register_buffer("mask", torch.as_tensor(~valid), persistent=False)

    def forward(self, curve: torch.Tensor, context: torch.Tensor, tracker_bpm: torch.Tensor) -> torch.Tensor:
        """Tempo logits per section.

        Parameters
        ----------
        curve : torch.Tensor [shape=(n, TEMPO_BINS)]
            The sections' periodicity curves over ``TEMPO_FINE_BPM``.
        context : torch.Tensor [shape=(n, context_dim)]
            Percussive share and standardised onset rate.
        tracker_bpm : torch.Tensor [shape=(n,)]
            The beat tracker's tempo (NaN for none), whose multiples the labeller weighs.

        Returns
        -------
        torch.Tensor [shape=(n, TEMPO_BINS)]
            Logits; masked bins (outside the BPM range) are -1e4.
        """
        curve = periodicity_contrast(curve)
        evidence = self.conv(ratio_channels(log_periodicity(curve))).squeeze(1)     # (n, bins)
        octave = self.octave(context)                                                 # (n, 2)
        logits = evidence + octave[:, :1] * self.t + octave[:, 1:] * self.t**2
        # The labeller's candidates (tracker multiples, periodicity maxima) are the only
        # contenders: the learnt parts choose among them, as the labeller's score does (without
        # them the curve's short-lag lobe read sections of real recordings at 223 BPM; a learnt
        # bonus traded octaves for the training set's tempi). Each is scored at its own tempo,
        # the curve read between bins there, as the labeller scores it: scored at the nearest
        # bins instead, a peak 3 % away lent a candidate a score the labeller never gave it.
        bpm, valid = tempo_candidates(tracker_bpm, curve)
        position = bpm_bin_position(bpm)                                              # (n, r)
        t = (torch.log2(bpm) - math.log2(PRIOR_MU_BPM)) / PRIOR_SIGMA_OCT
        score = (self._evidence_at(curve, position) + octave[:, :1] * t + octave[:, 1:] * t**2
                 + CANDIDATE_BONUS * 2.0 * -LOG_FLOOR)
        logits = _place_candidates(logits, score, position, valid)
        return (self.log_temperature.exp() * logits).masked_fill(self.mask, -1e4)

    def _evidence_at(self, curve: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        """The convolution's output at fractional bins ``position`` [shape=(n, r)], exactly as at a
        bin of the curve shifted there: each tap reads the curve between bins (linearly, as
        ``tempo.acf_at`` reads a candidate), only the taps the output needs."""
        conv_in, conv_out = self.conv[0], self.conv[2]
        half = conv_in.kernel_size[0] // 2
        taps = torch.arange(-half, half + 1, dtype=torch.float32)
        offsets = torch.tensor(RATIO_OFFSETS, dtype=torch.float32)[:, None] + taps[None, :]   # (channels, width)
        x = position[:, :, None, None] + offsets                                               # (n, r, c, w)
        centre = position.round()[:, :, None, None] + taps                                     # the conv's own padding
        inside = (x >= 0) & (x <= TEMPO_BINS - 1) & (centre >= 0) & (centre <= TEMPO_BINS - 1)
        lo = x.floor().clamp(0, TEMPO_BINS - 2)
        frac = (x - lo).clamp(0, 1)
        n = curve.shape[0]
        flat_lo = lo.to(torch.long).reshape(n, -1)
        value = (curve.gather(1, flat_lo) * (1 - frac.reshape(n, -1))
                 + curve.gather(1, flat_lo + 1) * frac.reshape(n, -1)).reshape(x.shape)
        logp = _log_relative(value, curve.max(dim=-1).values[:, None, None, None])
        logp = torch.where(inside, logp, torch.zeros_like(logp))
        hidden = F.relu(torch.einsum("nrcw,hcw->nrh", logp, conv_in.weight) + conv_in.bias)
        return torch.einsum("nrh,h->nr", hidden, conv_out.weight[0, :, 0]) + conv_out.bias[0]


def bpm_bin_position(bpm: torch.Tensor) -> torch.Tensor:
    """Fractional bin index of each BPM on ``TEMPO_FINE_BPM``.

    Parameters
    ----------
    bpm : torch.Tensor [shape=(n,)]
        Tempi (beats per minute), positive.

    Returns
    -------
    torch.Tensor [shape=(n,)]
        0 at the grid's first bin, 24 per octave up.
    """
    return (torch.log2(bpm) - float(LOG2_GRID[0])) * BINS_PER_OCTAVE


def tempo_window_nll(logits: torch.Tensor, bpm: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """-log of the probability within 4 % of each label (the label's bin, its Acc1 window pooled).

    The cross-entropy of the label's bin with the bins of its tempo Acc1 window pooled.
    Pooled, not smoothed: a target spread over the window (a Gaussian over bins) is also a
    target for how probability lies inside it, and on the labelled composition set that
    term ruled the gradient: fitting strong labels lowered the training sections' own Acc1
    from 0.88 to 0.79 while the smoothed loss fell. The pooled loss is only about whether the
    head names the label's tempo.

    Parameters
    ----------
    logits : torch.Tensor [shape=(n, TEMPO_BINS)]
        ``TempoHead`` output.
    bpm : torch.Tensor [shape=(n,)]
        Tempo labels (beats per minute).
    mask : torch.Tensor [shape=(TEMPO_BINS,), dtype=bool]
        Bins that never count (``TempoHead.mask``).

    Returns
    -------
    torch.Tensor [shape=(n,)]
        0 for a label whose window lies wholly in masked bins.
    """
    window = _within_tolerance(bpm_bin_position(bpm)) & ~mask
    pooled = torch.logsumexp(F.log_softmax(logits, dim=-1).masked_fill(~window, -torch.inf), dim=-1)
    return torch.where(window.any(dim=-1), -pooled, torch.zeros_like(pooled))


def label_is_candidate(bpm: torch.Tensor, tracker_bpm: torch.Tensor, curve: torch.Tensor) -> torch.Tensor:
    """Whether each label lies within 4 % of one of the labeller's candidates (``tempo_candidates``).

    ``TempoHead`` chooses among the candidates, so a label none of them reaches says nothing
    about that choice: the head does not learn from it.

    Parameters
    ----------
    bpm, tracker_bpm : torch.Tensor [shape=(n,)]
        Labels and the sections' tracker tempo (NaN for none).
    curve : torch.Tensor [shape=(n, TEMPO_BINS)]
        The sections' periodicity curves.

    Returns
    -------
    torch.Tensor [shape=(n,), dtype=bool]
    """
    candidates, valid = tempo_candidates(tracker_bpm, curve)
    return ((torch.log2(candidates / bpm[:, None]).abs() <= math.log2(1 + TOLERANCE)) & valid).any(dim=1)


def decode_tempo(logits: torch.Tensor, *, tracker_bpm: torch.Tensor | None = None,
                 curve: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The BPM each tempo distribution names, and the probability within 4 % of it.

    The mode's bin, refined by a parabola through its log-probability and its neighbours'; a
    mode within 4 % of one of the labeller's candidates (``tempo_candidates``) is that
    candidate, exactly (``TempoHead`` scores each candidate at its own tempo).

    Parameters
    ----------
    logits : torch.Tensor [shape=(n, TEMPO_BINS)]
        ``TempoHead`` output.
    tracker_bpm : torch.Tensor [shape=(n,)], optional
        The tracker tempo the head was given (NaN for none); None decodes the mode alone.
    curve : torch.Tensor [shape=(n, TEMPO_BINS)], optional
        The periodicity curves the head was given; needed with ``tracker_bpm``.

    Returns
    -------
    bpm : torch.Tensor [shape=(n,)]
        Beats per minute.
    confidence : torch.Tensor [shape=(n,)]
        Probability within 4 % of it, in [0, 1].

    Raises
    ------
    ValueError
        When ``tracker_bpm`` comes without ``curve``.
    """
    logp = F.log_softmax(logits, dim=-1)
    best = logp.argmax(dim=-1)
    lo, hi = (best - 1).clamp(0, TEMPO_BINS - 1), (best + 1).clamp(0, TEMPO_BINS - 1)
    a, b, c = (logp.gather(1, i[:, None]).squeeze(1) for i in (lo, best, hi))
    curvature = a - 2 * b + c
    step = torch.where((curvature < -_EPS) & (lo < best) & (best < hi), 0.5 * (a - c) / curvature,
                       torch.zeros_like(b)).clamp(-0.5, 0.5)
    position = best.to(torch.float32) + step
    if tracker_bpm is not None:
        if curve is None:
            raise ValueError("decode_tempo: tracker_bpm needs the periodicity curves (curve=) its candidates come from")
        candidates, valid = tempo_candidates(tracker_bpm, curve)
        distance = (bpm_bin_position(candidates) - best[:, None].to(torch.float32)).abs().masked_fill(~valid, torch.inf)
        nearest = distance.argmin(dim=1)
        snap = distance.gather(1, nearest[:, None]).squeeze(1) <= BINS_PER_OCTAVE * math.log2(1 + TOLERANCE)
        position = torch.where(snap, bpm_bin_position(candidates.gather(1, nearest[:, None]).squeeze(1)), position)
    bpm = torch.exp2(float(LOG2_GRID[0]) + position / BINS_PER_OCTAVE)
    confidence = (logp.exp() * _within_tolerance(position)).sum(dim=-1)
    return bpm, confidence


def rotate_chroma(chroma: np.ndarray | torch.Tensor, *, semitones) -> torch.Tensor:
    """Transpose chroma up by ``semitones``: pitch class j moves to j + k, as transposed audio's would.

    Parameters
    ----------
    chroma : np.ndarray or torch.Tensor [shape=(n, 12)]
        Pitch-class histograms.
    semitones : int or array-like [shape=(n,)]
        One shift for all rows, or one per row (any integer; taken mod 12).

    Returns
    -------
    torch.Tensor [shape=(n, 12)]
    """
    chroma = torch.as_tensor(chroma)
    k = torch.as_tensor(semitones).reshape(-1, 1) % N_PITCH
    index = (torch.arange(N_PITCH)[None, :] - k) % N_PITCH
    return chroma.gather(-1, index.expand(len(chroma), N_PITCH))


def shift_periodicity(curve: np.ndarray | torch.Tensor, *, bins) -> torch.Tensor:
    """A periodicity curve of the same music played 2**(s/24) times faster: every peak moves up s bins.

    Parameters
    ----------
    curve : np.ndarray or torch.Tensor [shape=(n, m)]
        Periodicity over a log-tempo grid of 24 bins per octave.
    bins : int or array-like [shape=(n,)]
        The shift s in bins, one for all rows or one per row; negative is slower.

    Returns
    -------
    torch.Tensor [shape=(n, m)]
        Bins shifted in from beyond the grid take the edge value.
    """
    curve = torch.as_tensor(curve)
    s = torch.as_tensor(bins).reshape(-1, 1)
    index = (torch.arange(curve.shape[-1])[None, :] - s).clamp(0, curve.shape[-1] - 1)
    return curve.gather(-1, index.expand(len(curve), curve.shape[-1]))
