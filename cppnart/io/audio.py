"""Sound in: a song decoded in a stream and reduced to what a music video moves by.

The audio is decoded by the ffmpeg binary that imageio-ffmpeg already ships for MP4 (WAV,
FLAC, MP3, AAC, Ogg: whatever that ffmpeg reads), to mono float32 at ``RATE`` Hz, piped and
read a block at a time: ten hours of sound never sit in memory, only its per-frame numbers.

What is kept, per video frame: the **onset envelope** (spectral flux: how much new energy the
spectrum gains, half-wave rectified and summed over bins, on log-compressed magnitudes, the
detector librosa's ``onset_strength`` also uses), normalised to [0, 1] over the clip, so louder
passages and sharper attacks move the picture further; and the **beats**, the frames where the
envelope peaks (a local maximum above ``BEAT_THRESHOLD`` and ``MIN_BEAT_GAP`` after the one before).
librosa is not used: it does not install here (numba), and this numpy detector finds every click of
a synthetic click track within one frame (tests/io/test_audio.py) and analyses a 3-minute MP3 in 1.0 s,
MP3 decode included (measured on this machine's 2 shared CPUs).

``AudioTiming`` is what a render needs and what its recipe stores, so a render can be redone
without analysing again.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PARAM, ParamError, UserError

RATE = 22050  # Hz: onsets live well below 11 kHz
HOP = 512  # samples between spectra: 43 per second, finer than any video frame rate up to 43 fps
FFT = 1024
BLOCK = HOP * 256  # samples read from ffmpeg at a time (0.5 MiB)
MAX_SECONDS = 2 * 3600.0  # a music video of at most two hours (use ``seconds`` for the first part of longer)
SILENCE_RMS = 1e-4  # -80 dBFS: below this everywhere, the clip is silence and nothing moves
BEAT_THRESHOLD = 0.3  # of the clip's strongest onset
MIN_BEAT_GAP = 0.2  # seconds: faster than 300 beats a minute is a roll, not beats
# What ffmpeg says when a file ends before its header says it does (a WAV cut short: "Packet corrupt";
# an MP3 cut mid-frame: "Header missing"; an MP4 without its index: "moov atom not found").
DAMAGE_SIGNS = ("corrupt", "partial file", "truncat", "header missing", "moov atom not found", "invalid data")
TRUNCATED_SLACK = 0.5  # seconds the decoded sound may fall short of the length its header declares


@dataclass(frozen=True, eq=False)
class AudioTiming:
    """A clip's analysis at a video frame rate: ``envelope`` [frames] in [0, 1] and ``beats`` (frame
    indices), for ``seconds`` of ``source`` from its start."""

    source: str
    fps: float
    seconds: float
    envelope: np.ndarray
    beats: tuple[int, ...]

    @property
    def frames(self) -> int:
        """Video frames the clip lasts."""
        return len(self.envelope)

    def recipe(self) -> dict[str, Any]:
        """The analysis as the recipe stores it (``timing_from_recipe`` reads it back)."""
        return {
            "source": self.source,
            "fps": self.fps,
            "seconds": round(self.seconds, 6),
            # float32 values written exactly (repr round-trips), so a render from the recipe is the same render
            "envelope": [float(v) for v in np.asarray(self.envelope, np.float32)],
            "beats": list(self.beats),
        }


def timing_from_recipe(data: Any, where: str) -> AudioTiming:
    """The ``AudioTiming`` a recipe stored, every field checked (a recipe is untrusted input)."""
    try:
        envelope = np.asarray(data["envelope"], np.float64)
        beats = tuple(int(b) for b in data["beats"])
        timing = AudioTiming(str(data["source"]), float(data["fps"]), float(data["seconds"]), envelope, beats)
    except (KeyError, TypeError, ValueError):
        raise UserError(f"{where}: the audio analysis is damaged") from None
    ok = envelope.ndim == 1 and len(envelope) > 0 and np.isfinite(envelope).all() and (envelope >= 0).all()
    if not ok or any(not 0 <= b < len(envelope) for b in beats) or not 0 < timing.fps <= 1000:
        raise UserError(f"{where}: the audio analysis is damaged")
    if len(envelope) > MAX_SECONDS * 1000 or len(timing.source) > 4096 or "\0" in timing.source:
        raise UserError(f"{where}: the audio analysis is damaged")
    # A recipe may only name sound beside where it is rendered (as its models): never any file on the machine.
    if not Path(timing.source).resolve().is_relative_to(Path.cwd().resolve()):
        raise ParamError(
            "audio", f"{where}: the sound '{timing.source[:200]}' is outside the current folder; give {PARAM} the song"
        )
    return AudioTiming(timing.source, timing.fps, timing.seconds, envelope.astype(np.float32), beats)


def ffmpeg_input(path: str | Path) -> str:
    """A local file as ffmpeg's input: ``file:`` and the absolute path, so a name with a colon (or a
    recipe naming ``http://...``) is never taken for one of ffmpeg's network protocols."""
    return "file:" + str(Path(path).resolve())


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def probe_seconds(path: Path) -> float:
    """The length the file declares (ffmpeg's ``Duration``), or a one-line error when ffmpeg finds no
    sound in it."""
    command = [_ffmpeg(), "-hide_banner", "-nostdin", "-i", ffmpeg_input(path)]
    result = subprocess.run(command, capture_output=True, timeout=60)
    text = result.stderr.decode("utf-8", "replace")
    if " Audio:" not in text:
        raise UserError(
            f"'{path}' holds no sound ffmpeg can read (not an audio file, or damaged); give a WAV, FLAC or MP3"
        )
    match = re.search(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", text)
    if not match:
        return float("nan")  # a stream without a declared length: the decode measures it
    hours, minutes, secs = match.groups()
    if any(sign in text.lower() for sign in DAMAGE_SIGNS):
        raise UserError(f"'{path}' is truncated or damaged (ffmpeg: {_damage_line(text)}); export it again")
    return int(hours) * 3600 + int(minutes) * 60 + float(secs)


def _damage_line(text: str) -> str:
    """The first line of ffmpeg's report that says the file is damaged, without its [demuxer @ 0x...] tag."""
    for line in text.splitlines():
        if any(sign in line.lower() for sign in DAMAGE_SIGNS):
            return re.sub(r"^\[[^]]*\]\s*", "", line.strip())[:120]
    return "damaged"


def _spectral_flux(blocks: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """Per hop: the onset strength and the RMS, from float32 sample blocks; and the sample count."""
    window = np.hanning(FFT).astype(np.float32)
    flux: list[np.ndarray] = []
    rms: list[np.ndarray] = []
    tail = np.zeros(FFT - HOP, np.float32)  # the hop before the first one is silence
    previous: np.ndarray | None = None
    total = 0
    for block in blocks:
        total += len(block)
        data = np.concatenate([tail, block])
        count = (len(data) - FFT) // HOP + 1
        if count <= 0:
            tail = data
            continue
        frames = np.lib.stride_tricks.sliding_window_view(data, FFT)[::HOP][:count]
        magnitude = np.log1p(100.0 * np.abs(np.fft.rfft(frames * window, axis=1)))
        before = np.vstack([previous if previous is not None else magnitude[:1], magnitude[:-1]])
        flux.append(np.maximum(magnitude - before, 0).sum(axis=1))
        rms.append(np.sqrt((frames[:, FFT - HOP :] ** 2).mean(axis=1)))
        previous = magnitude[-1:]
        tail = data[count * HOP :]
    if not flux:
        return np.zeros(0), np.zeros(0), total
    return np.concatenate(flux), np.concatenate(rms), total


def _decode(path: Path, seconds: float | None) -> tuple[np.ndarray, np.ndarray, int]:
    """Stream the sound through ffmpeg into ``_spectral_flux``; a decode error is a one-line error."""
    import tempfile

    cmd = [_ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-i", ffmpeg_input(path)]
    if seconds is not None:
        cmd += ["-t", f"{seconds:.6f}"]
    cmd += ["-vn", "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"]
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors)
        assert proc.stdout is not None

        def blocks() -> Any:
            while chunk := proc.stdout.read(BLOCK * 4):  # type: ignore[union-attr]
                usable = len(chunk) - len(chunk) % 4
                yield np.frombuffer(chunk[:usable], np.float32)

        try:
            result = _spectral_flux(blocks())
        finally:
            proc.stdout.close()
            status = proc.wait()
        if status != 0:
            errors.seek(0)
            lines = errors.read()[-2000:].decode("utf-8", "replace").strip().splitlines()
            raise UserError(f"cannot decode the sound of '{path}': {lines[-1] if lines else f'ffmpeg exit {status}'}")
    return result


def per_frame(values: np.ndarray, fps: float, frames: int, how: str) -> np.ndarray:
    """Hop values resampled to video frames: each frame takes the max (or mean) of its hops.

    >>> per_frame(np.array([0.0, 1.0, 0.0, 0.0]), fps=RATE / HOP / 2, frames=2, how="max").tolist()
    [1.0, 0.0]
    """
    out = np.zeros(frames, np.float64)
    if len(values) == 0:
        return out
    frame_of_hop = np.minimum((np.arange(len(values)) * HOP / RATE * fps).astype(int), frames - 1)
    if how == "max":
        np.maximum.at(out, frame_of_hop, values)
    else:
        sums = np.bincount(frame_of_hop, values, minlength=frames)
        counts = np.maximum(np.bincount(frame_of_hop, minlength=frames), 1)
        out = sums / counts
    return out


def find_beats(envelope: np.ndarray, fps: float) -> tuple[int, ...]:
    """Frames where the envelope peaks: a maximum of its neighbours, above ``BEAT_THRESHOLD``, at
    least ``MIN_BEAT_GAP`` after the beat before (the stronger of two close peaks wins).

    >>> find_beats(np.array([0, 0, 1, 0.2, 0, 0, 0.9, 0, 0]), fps=10)
    (2, 6)
    """
    env = np.asarray(envelope, np.float64)
    if len(env) == 0 or env.max() <= 0:
        return ()
    padded = np.concatenate([[-1.0], env, [-1.0]])
    peaks = np.flatnonzero((env >= padded[:-2]) & (env > padded[2:]) & (env >= BEAT_THRESHOLD * env.max()))
    gap = max(1, int(round(MIN_BEAT_GAP * fps)))
    beats: list[int] = []
    for p in peaks:
        if beats and p - beats[-1] < gap:
            if env[p] > env[beats[-1]]:
                beats[-1] = int(p)
            continue
        beats.append(int(p))
    return tuple(beats)


def analyse_audio(path: str | Path, fps: float, seconds: float | None = None) -> AudioTiming:
    """The ``AudioTiming`` of ``path`` at ``fps``: the whole clip, or its first ``seconds``.
    Anything that is not usable sound (missing, not audio, damaged, truncated, empty, longer
    than ``MAX_SECONDS``) is a one-line ``UserError``, raised before any frame is rendered."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"audio file '{path}' not found")
    declared = probe_seconds(path)
    span = declared if seconds is None else min(seconds, declared) if np.isfinite(declared) else seconds
    if np.isfinite(span) and span > MAX_SECONDS:
        raise ParamError(
            "audio",
            f"'{path}' lasts {declared / 3600:.1f} hours; a music video is at most {MAX_SECONDS / 3600:g} hours: "
            "render its first part with {seconds}, or cut the file",
            also=("seconds",),
        )
    flux, rms, samples = _decode(path, seconds)
    decoded = samples / RATE
    if decoded <= 0 or samples < HOP:
        raise UserError(f"'{path}' holds no sound (0 s of audio); give a file with sound in it")
    if decoded > MAX_SECONDS:
        raise ParamError(
            "seconds", f"'{path}' lasts more than {MAX_SECONDS / 3600:g} hours; render its first part with {PARAM}"
        )
    wanted = declared if seconds is None else min(seconds, declared)
    if np.isfinite(wanted) and decoded < wanted - TRUNCATED_SLACK:
        raise UserError(
            f"'{path}' is truncated: it declares {declared:.1f} s but holds {decoded:.1f} s of sound; export it again"
        )
    frames = max(1, int(round(decoded * fps)))
    onset = per_frame(flux, fps, frames, "max")
    loud = per_frame(rms, fps, frames, "mean")
    silent = loud.max() < SILENCE_RMS or onset.max() <= 0
    envelope = np.zeros(frames) if silent else onset / onset.max()
    return AudioTiming(str(path), float(fps), frames / fps, envelope.astype(np.float32), find_beats(envelope, fps))


def check_sound_output(timing: AudioTiming, out: str | Path, kind: str) -> None:
    """Before any frame: sound goes only into an MP4, and its source must still be there to mux."""
    if kind != "mp4":
        raise UserError(
            f"sound goes into an MP4 only; write '{Path(out).with_suffix('.mp4')}' (GIF and WebP are silent)"
        )
    if not Path(timing.source).is_file():
        raise ParamError("audio", f"the sound '{timing.source}' the recipe names is not there; give {PARAM} the song")
