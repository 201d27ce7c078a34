"""Music videos: a click track the test makes drives a morph to the frame, the MP4 carries the sound
as long as the video, silence stands still, and bad audio is one line before any frame."""

from __future__ import annotations

import json
import re
import subprocess
import wave
from pathlib import Path

import imageio.v2 as imageio
import imageio_ffmpeg
import numpy as np
import pytest

from cppnart.cli import app
from cppnart.io.audio import analyse_audio

from ..conftest import files_in, one_error_line

RATE = 44100
FPS = 25.0
# Uneven, so a fixed-tempo guess cannot pass; each in the middle of its frame at 25 fps, so "the
# frame of the click" is one frame.
CLICK_FRAMES = (12, 25, 42, 62, 77, 85)
CLICKS = tuple((f + 0.5) / 25 for f in CLICK_FRAMES)
LENGTH = 4.0


def write_wav(path: Path, samples: np.ndarray, declared: int | None = None, sparse: bool = False) -> Path:
    """A 16-bit mono WAV; ``declared`` frames in the header instead of the real count (a file cut
    short), and with ``sparse`` the file extended to that length with zeros (silence) that take no disk."""
    data = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data)
    if declared is not None:  # patch the RIFF and data sizes to claim `declared` frames
        raw = bytearray(path.read_bytes())
        at = raw.index(b"data")
        raw[at + 4 : at + 8] = (declared * 2).to_bytes(4, "little")
        raw[4:8] = (36 + declared * 2).to_bytes(4, "little")
        path.write_bytes(bytes(raw))
        if sparse:
            with open(path, "r+b") as f:
                f.truncate(at + 8 + declared * 2)
    return path


def click_track(seconds: float = LENGTH, clicks: tuple[float, ...] = CLICKS) -> np.ndarray:
    samples = np.zeros(int(seconds * RATE), np.float32)
    burst = np.sin(np.arange(300) * 0.7) * np.exp(-np.arange(300) / 80)
    for t in clicks:
        start = int(t * RATE)
        samples[start : start + 300] += 0.8 * burst
    return samples


@pytest.fixture
def work(tmp_path: Path, tiny_preset: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(3)
    for name in ("a", "b", "c"):
        np.save(tmp_path / f"{name}.npy", rng.uniform(-1, 1, 4).astype(np.float32))
    write_wav(tmp_path / "clicks.wav", click_track())
    return tmp_path


def run(runner, *args):
    return runner.invoke(app, [str(a) for a in args])


def morph(runner, audio: str, out: str = "video.mp4", *extra: str):
    return run(runner, "morph", "a.npy", "b.npy", "c.npy", "-m", "tiny.toml", "--seed", "1", "--res", "32x32",
               "--fps", FPS, "--audio", audio, "--beats-per-key", "1", "-o", out, *extra)  # fmt: skip


def read_video(path: Path) -> np.ndarray:
    reader = imageio.get_reader(path)
    try:
        return np.stack([np.asarray(f, np.float32) for f in reader])
    finally:
        reader.close()


def streams(path: Path) -> tuple[list[str], float]:
    """The stream lines `ffmpeg -i` prints (what ffprobe shows) and the seconds of decoded sound."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    text = subprocess.run([ffmpeg, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    lines = re.findall(r"Stream #0:\d.*", text)
    raw = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(path), "-map", "0:a", "-ac", "1", "-ar", str(RATE), "-f", "s16le", "-"],
        capture_output=True,
    ).stdout
    return lines, len(raw) / 2 / RATE


def test_clicks_move_the_morph_to_the_frame_and_the_mp4_carries_the_sound(runner, work):
    result = morph(runner, "clicks.wav", "video.mp4", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["beats"] == len(CLICKS)
    frames = read_video(work / "video.mp4")
    assert len(frames) == int(LENGTH * FPS)
    change = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))  # change[i]: frame i -> i + 1
    click_frames = list(CLICK_FRAMES)
    peaks = sorted(np.argsort(change)[-len(CLICKS) :] + 1)  # the frames that differ most from the one before
    for click, peak in zip(click_frames, peaks):
        assert abs(click - peak) <= 1, (click_frames, peaks)
    clicks = np.zeros(len(frames))
    clicks[click_frames] = 1.0
    correlation = np.corrcoef(change, clicks[1:])[0, 1]
    print(f"click envelope vs frame-to-frame change: correlation {correlation:.3f}")
    assert correlation > 0.8

    lines, sound = streams(work / "video.mp4")
    video = [line for line in lines if "Video:" in line]
    audio = [line for line in lines if "Audio:" in line]
    assert len(video) == 1 and "h264" in video[0] and len(audio) == 1, lines
    assert abs(sound - len(frames) / FPS) <= 1 / FPS, (sound, len(frames) / FPS)


def test_the_recipe_keeps_the_analysis_and_info_reads_it(runner, work):
    assert morph(runner, "clicks.wav").exit_code == 0
    recipe = json.loads(run(runner, "info", "video.mp4", "--json").output)
    timing = analyse_audio("clicks.wav", FPS)
    assert recipe["audio"]["beats"] == list(timing.beats)
    np.testing.assert_allclose(recipe["audio"]["envelope"], timing.envelope, atol=1e-4)


def test_seconds_renders_the_first_seconds_only(runner, work):
    result = morph(runner, "clicks.wav", "preview.mp4", "--seconds", "1.2", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["frames"] == 30
    _, sound = streams(work / "preview.mp4")
    assert abs(sound - 1.2) <= 1 / FPS


def test_silence_gives_a_still_video(runner, work):
    write_wav(work / "silence.wav", np.zeros(int(2 * RATE), np.float32))
    assert morph(runner, "silence.wav", "still.mp4").exit_code == 0
    frames = read_video(work / "still.mp4")
    assert len(frames) == 50
    assert np.abs(frames - frames[0]).max() <= 2  # the codec's noise, no motion


@pytest.mark.parametrize("codec,suffix", [("flac", ".flac"), ("libmp3lame", ".mp3")])
def test_flac_and_mp3_are_read(work, codec, suffix):
    target = work / f"clicks{suffix}"
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run([ffmpeg, "-v", "error", "-i", "clicks.wav", "-c:a", codec, str(target)], check=True)
    timing = analyse_audio(target, FPS)
    found = list(timing.beats)
    assert len(found) == len(CLICKS)
    # MP3 adds its encoder delay (~26 ms at the start): still within one frame
    assert all(abs(b - f) <= 1 for b, f in zip(found, CLICK_FRAMES)), found


def bad_files(work: Path) -> dict[str, Path]:
    (work / "text.wav").write_text("this is not a song\n")
    one_second = np.random.default_rng(0).uniform(-0.5, 0.5, RATE).astype(np.float32)
    return {
        "not audio": work / "text.wav",
        "truncated": write_wav(work / "truncated.wav", one_second, declared=10 * RATE),
        "0 s": write_wav(work / "empty.wav", np.zeros(0, np.float32)),
        "10 hours": write_wav(work / "long.wav", one_second, declared=10 * 3600 * RATE, sparse=True),
        "missing": work / "missing.wav",
    }


@pytest.mark.parametrize(
    "case,message",
    [("not audio", "no sound"), ("truncated", "truncated"), ("0 s", "0 s"), ("10 hours", "10.0 hours"),
     ("missing", "not found")],
)  # fmt: skip
def test_bad_audio_is_one_line_exit_2_and_nothing_left(runner, work, case, message):
    path = bad_files(work)[case]
    before = files_in(work)
    line = one_error_line(morph(runner, path.name, "video.mp4"))
    assert message in line, line
    assert files_in(work) == before
    line = one_error_line(run(runner, "loop", "tiny.toml", "--audio", path.name, "--res", "16x16", "-o", "l.mp4"))
    assert message in line and files_in(work) == before


def test_the_first_seconds_of_a_ten_hour_file_render(runner, work):
    bad_files(work)
    result = morph(runner, "long.wav", "start.mp4", "--seconds", "0.8", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["frames"] == 20


def test_sound_only_goes_into_an_mp4(runner, work):
    line = one_error_line(morph(runner, "clicks.wav", "video.gif"))
    assert "MP4" in line and "video.mp4" in line


def test_loop_audio_is_as_long_as_the_song_and_closes(runner, work):
    result = run(runner, "loop", "tiny.toml", "--seed", "2", "--res", "32x32", "--fps", FPS, "--audio", "clicks.wav",
                 "-o", "loop.mp4", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    frames = read_video(work / "loop.mp4")
    assert len(frames) == int(LENGTH * FPS)
    lines, sound = streams(work / "loop.mp4")
    assert sum("Audio:" in line for line in lines) == 1
    assert abs(sound - LENGTH) <= 1 / FPS
    change = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    peaks = set(np.argsort(change)[-len(CLICKS) :] + 1)
    assert all(any(abs(f - p) <= 1 for p in peaks) for f in CLICK_FRAMES), sorted(peaks)


def test_save_animation_takes_a_sound_file(work):
    from cppnart.io.animation import save_animation

    frames = (np.full((16, 16, 3), v, np.uint8) for v in range(0, 250, 10))  # 25 frames: one second
    out = save_animation(work / "api.mp4", frames, 16, 16, 3, FPS, audio=str(work / "clicks.wav"))
    lines, sound = streams(out)
    assert sum("Audio:" in line for line in lines) == 1
    assert abs(sound - 1.0) <= 1 / FPS  # cut to the video, not the song's 4 s


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_mid_music_video_leaves_nothing(work, sig):
    import os
    import signal
    import sys
    import time

    write_wav(work / "long.wav", click_track(30.0, tuple(0.5 * k + 0.25 for k in range(60))))
    repo = Path(__file__).resolve().parents[2]
    args = ["loop", "tiny.toml", "--seed", "1", "--res", "256x256", "--fps", "30", "--audio", "long.wav", "-o", "v.mp4"]
    proc = subprocess.Popen([sys.executable, "-m", "cppnart", *args, "-q"], cwd=work,
                            env={**os.environ, "PYTHONPATH": str(repo)}, stderr=subprocess.PIPE)  # fmt: skip
    time.sleep(2.5)  # past start-up and the analysis, mid-render
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (128 + getattr(signal, sig), -getattr(signal, sig)), err.decode()
    assert "v.mp4" not in files_in(work) and not [f for f in files_in(work) if f.startswith(".v")], files_in(work)


def test_from_renders_a_music_video_again_from_its_stored_analysis(runner, work):
    assert morph(runner, "clicks.wav", "first.mp4").exit_code == 0
    again = run(runner, "morph", "a.npy", "b.npy", "c.npy", "--from", "first.mp4", "--beats-per-key", "1",
                "--res", "32x32", "-o", "again.mp4", "--json")  # fmt: skip
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["beats"] == len(CLICKS)
    np.testing.assert_array_equal(read_video(work / "again.mp4"), read_video(work / "first.mp4"))
    (work / "clicks.wav").unlink()  # the analysis is stored, but the sound to mux is gone: one line
    line = one_error_line(run(runner, "morph", "a.npy", "b.npy", "--from", "first.mp4", "-o", "third.mp4"))
    assert "clicks.wav" in line and "--audio" in line


def test_a_recipe_cannot_name_sound_outside_the_folder(runner, work):
    from cppnart.io.animation import save_animation
    from cppnart.io.metadata import animation_comment

    assert morph(runner, "clicks.wav", "first.mp4").exit_code == 0
    recipe = json.loads(run(runner, "info", "first.mp4", "--json").output)
    recipe["audio"]["source"] = "/etc/hostname"
    frames = [np.zeros((32, 32, 3), np.uint8)]
    save_animation(work / "hostile.gif", frames, 32, 32, 3, FPS, comment=animation_comment(recipe))
    line = one_error_line(run(runner, "morph", "a.npy", "b.npy", "--from", "hostile.gif", "-o", "out.mp4"))
    assert "outside the current folder" in line
    assert "out.mp4" not in files_in(work)
