"""A 12-second beat to try the README's music videos with (use your own song for real work).

    python examples/make_song.py song.wav

120 beats per minute: a low drum on every beat, a brighter one on every fourth, over a quiet
hum, so `cppnart morph --audio` has beats to change keyframes on and onsets to follow. Written
with the standard library's `wave` (16-bit mono, 22,050 Hz); the file is refused if it exists.
"""

import sys
import wave
from pathlib import Path

import numpy as np

RATE = 22050
SECONDS = 12.0
BEAT = 0.5  # seconds: 120 bpm


def beat(seconds: float = SECONDS) -> np.ndarray:
    """The samples in [-1, 1]: decaying drum hits on every beat over a quiet 110 Hz hum."""
    t = np.arange(int(seconds * RATE)) / RATE
    signal = 0.05 * np.sin(2 * np.pi * 110 * t)
    for index, start in enumerate(np.arange(0, seconds, BEAT)):
        after = t - start
        hit = after >= 0
        pitch = 180.0 if index % 4 == 0 else 90.0
        signal[hit] += 0.8 * np.exp(-after[hit] * 18) * np.sin(2 * np.pi * pitch * after[hit])
    return np.clip(signal, -1, 1)


def main(path: Path) -> None:
    """Write the beat to ``path`` (a new file)."""
    if path.exists():
        sys.exit(f"error: {path} exists; name a new file")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((beat() * 32767).astype("<i2").tobytes())
    print(f"wrote {path} ({SECONDS:.0f} s, 120 bpm)")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "song.wav"))
