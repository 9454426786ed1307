"""Writers of the bad inputs the analysis must survive (issue 2's list)."""

from pathlib import Path

import numpy as np
import soundfile as sf

SR = 22050


def _music(seconds: float, sr: int = SR, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sign(np.sin(2 * np.pi * 2 * t))) / 2
    return np.repeat(y[:, None], channels, axis=1).astype(np.float32)


def write_bad_inputs(folder: Path) -> dict[str, str]:
    """Write each bad input; returns file name -> expected outcome ("error" or "ok")."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.wav").write_bytes(b"")
    (folder / "random_bytes.wav").write_bytes(np.random.default_rng(0).bytes(4096))
    (folder / "text.mp3").write_text("this is not audio\n" * 50)
    sf.write(folder / "silence.wav", np.zeros(SR * 4, dtype=np.float32), SR)
    sf.write(folder / "half_second.wav", _music(0.5), SR)
    nan = _music(3.0)
    nan[1000:1010] = np.nan
    nan[2000] = np.inf
    sf.write(folder / "nan_inf.wav", nan, SR, subtype="FLOAT")
    sf.write(folder / "six_channels.flac", _music(3.0, 48000, 6), 48000)
    sf.write(folder / "rate_8k.wav", _music(3.0, 8000), 8000)
    sf.write(folder / "rate_96k.flac", _music(3.0, 96000, 2), 96000)
    return {"empty.wav": "error", "random_bytes.wav": "error", "text.mp3": "error",
            "silence.wav": "ok", "half_second.wav": "ok", "nan_inf.wav": "error",
            "six_channels.flac": "ok", "rate_8k.wav": "ok", "rate_96k.flac": "ok"}
