"""Indexing speed: our pipeline vs a naive one on the same generated talk video, in one run.

    .venv/bin/python bench/index_speed.py [--minutes 10] [--keep DIR] [--people]
    .venv/bin/python bench/index_speed.py --long 10,60,180

`--long` instead indexes mostly silent 320x240 recordings of those lengths, with real sentences
(shared/real-media) at the start, in the middle and at the end, each in a process of its own, and
prints wall time, real-time factor, peak RSS and where each sentence's segment starts: memory must
not grow with length (target: 3 hours <= 1.2x 10 minutes).

Ours: keyframe-first decoding, int8 beam-1 ASR with VAD, pictures and sound side by side.
Naive: decode every frame, a keyframe per second, fp32 beam-5 ASR, one stage after the other.
Both embed with MiniLM and CLIP ViT-B-32. CLIP weights cannot be had here, so ViT-B-32 runs with
random weights: the timing is the architecture's, the vectors mean nothing (bench only).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av  # noqa: E402
import numpy as np  # noqa: E402

import models  # noqa: E402
import samples  # noqa: E402
from indexer.audio import decode_audio  # noqa: E402
from indexer.pipeline import Indexer  # noqa: E402
from models.device import cpu_threads  # noqa: E402
from catalog import Catalog, TranscriptSegment, upgrade  # noqa: E402
from sqlalchemy import select  # noqa: E402
from settings import Settings  # noqa: E402

BENCH_CLIP_NAME = "bench-vit-b-32-random"  # the registry's ViT-B-32 with random weights


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ours(video: Path, data_dir: Path, people: bool = True) -> dict:
    shutil.rmtree(data_dir, ignore_errors=True)
    settings = Settings(data_dir=data_dir, database_url="", device="cpu", clip_model=BENCH_CLIP_NAME, people=people)
    upgrade(settings.catalog_url)
    indexer = Indexer(settings, Catalog(settings.catalog_url))
    indexer.models.speech(), indexer.models.text(), indexer.models.clip()  # load outside the timing, as a running service has them loaded
    if people:
        from models.face_identity import load_face_identity
        from models.voice_identity import load_voice_encoder

        load_face_identity(), load_voice_encoder("cpu")
    started, cpu = time.perf_counter(), _cpu_seconds()
    outcome = indexer.index_path(video)
    wall = time.perf_counter() - started
    assert outcome.status == "indexed", outcome.message
    return {"wall": wall, "cpu": _cpu_seconds() - cpu, "stages": outcome.stages}


def _cpu_seconds() -> float:
    """User + system CPU of this process, every thread (the models' native threads too)."""
    times = os.times()
    return times.user + times.system


def naive(video: Path, models_dir: Path) -> dict:
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    samples_1fps, prev, cuts, next_sample = [], None, 0, 0.0
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            small = frame.to_ndarray(format="rgb24")[::20, ::20].astype(np.int16)
            if prev is not None and np.abs(small - prev).mean() > 28:
                cuts += 1
            prev = small
            if frame.time >= next_sample:
                samples_1fps.append(frame.to_image())
                next_sample += 1.0
    stages["decode_all_frames"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    models.load_clip(BENCH_CLIP_NAME, models_dir, "cpu").encode_images(samples_1fps)
    stages["clip_1fps"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    decoded = decode_audio(video, video.parent)
    audio = decoded.read(0.0, decoded.duration)  # the naive pipeline holds the whole track
    decoded.remove()
    stages["audio"] = time.perf_counter() - t0
    from faster_whisper import WhisperModel

    from models.weights import speech_model_dir

    folder = speech_model_dir(models.get_spec("speech", "whisper-base"), models_dir)
    fp32 = WhisperModel(str(folder), device="cpu", compute_type="float32", cpu_threads=cpu_threads())
    t0 = time.perf_counter()
    segments, _ = fp32.transcribe(audio, beam_size=5, word_timestamps=True)
    texts = [s.text for s in segments]
    stages["asr_fp32_beam5"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    models.load_text("all-MiniLM-L6-v2", "cpu").encode(texts)
    stages["text_embed"] = time.perf_counter() - t0
    return {"wall": sum(stages.values()), "stages": stages, "frames_sampled": len(samples_1fps)}


def long_recording(work: Path, minutes: float) -> tuple[Path, list]:
    from tests.real_media import build_recording, speech_clips

    clips = [c for c in speech_clips(("en",)) if 2.5 < c["duration"] < 12][:3]
    seconds = minutes * 60
    path = work / f"silent-{minutes:g}min-320x240.mp4"
    placed = build_recording(path, clips, place={0: 2.0, 1: seconds * 0.55, 2: seconds - clips[2]["duration"] - 2.0},
                             total=seconds, width=320, height=240)
    return path, placed


def index_in_child(video: Path, data_dir: Path) -> dict:
    """ours() in a fresh process, so each peak RSS is that file's alone."""
    code = ("import json, sys; sys.path.insert(0, 'bench'); import index_speed as b; "
            f"r = b.ours(__import__('pathlib').Path({str(video)!r}), __import__('pathlib').Path({str(data_dir)!r})); "
            "r['rss_mb'] = b.peak_rss_mb(); print(json.dumps(r))")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def long_runs(work: Path, lengths: list[float]) -> None:
    print(f"machine: {os.cpu_count()} cores; mostly silent 320x240 recordings, 3 real sentences each; "
          f"models loaded before timing, in each process")
    print("| minutes | wall s | x real time | peak RSS MB | sentence starts (placed -> segment) |")
    print("|---|---|---|---|---|")
    peaks = {}
    for minutes in lengths:
        path, placed = long_recording(work, minutes)
        result = index_in_child(path, work / f"data-{minutes:g}")
        catalog = Catalog(Settings(data_dir=work / f"data-{minutes:g}", database_url="").catalog_url)
        with catalog.session() as s:
            starts = sorted(s.scalars(select(TranscriptSegment.start)))
        catalog.dispose()
        found = [f"{u.start:.1f}->{min(starts, key=lambda t: abs(t - u.start)):.1f}" if starts else f"{u.start:.1f}->-"
                 for u in placed]
        peaks[minutes] = result["rss_mb"]
        print(f"| {minutes:g} | {result['wall']:.1f} | {minutes * 60 / result['wall']:.0f} | {result['rss_mb']:.0f} | "
              f"{', '.join(found)} |")
    first, last = min(peaks), max(peaks)
    print(f"\npeak RSS {last:g} min / {first:g} min = {peaks[last] / peaks[first]:.2f}x (target <= 1.2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--keep", type=Path, help="folder to keep the generated video in (reused when present)")
    parser.add_argument("--long", help="comma-separated lengths in minutes: mostly silent recordings, memory per length")
    parser.add_argument("--people", action="store_true",
                        help="also index with people off (REELSCOPE_PEOPLE=0) and print the speed ratio (goal >= 0.85)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="reelscope-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.long:
        long_runs(work, [float(m) for m in args.long.split(",")])
        return
    video_path = work / f"talk-{args.minutes:g}min-720p.mp4"
    t0 = time.perf_counter()
    video = samples.make_talk_video(video_path, minutes=args.minutes) if not video_path.exists() else None
    duration = video.duration if video else args.minutes * 60
    print(f"video: {video_path.name}, {duration:.0f} s 1280x720 25 fps, cut every 10 s, speech throughout "
          f"(generated in {time.perf_counter() - t0:.0f} s)")
    print(f"machine: {os.cpu_count()} cores; CLIP ViT-B-32 with random weights (architecture timing only)")

    a = ours(video_path, work / "data-ours")
    rss_ours = peak_rss_mb()
    print(f"\nours:  {a['wall']:.1f} s wall, {duration / a['wall']:.1f}x real time, peak RSS {rss_ours:.0f} MB; "
          f"CPU {a['cpu']:.1f} s ({a['cpu'] / a['wall']:.2f} of {os.cpu_count()} cores busy)")
    print("       stages (pictures and sound overlap, so they add up to more than the wall time):")
    for name, seconds in a["stages"].items():
        print(f"         {name:<12} {seconds:7.2f} s")
    if args.people:
        off = ours(video_path, work / "data-people-off", people=False)
        print(f"\npeople off: {off['wall']:.1f} s wall; people on (above) {a['wall']:.1f} s: speed with people "
              f"{off['wall'] / a['wall']:.2f}x of without (goal >= 0.85); people stages: "
              + ", ".join(f"{k} {a['stages'].get(k, 0.0):.2f} s" for k in ("faces_text", "speakers")))
    cpu = _cpu_seconds()
    b = naive(video_path, work / "data-ours" / "models")  # the Whisper folder ours just prepared
    b["cpu"] = _cpu_seconds() - cpu
    print(f"\nnaive: {b['wall']:.1f} s wall, {duration / b['wall']:.1f}x real time ({b['frames_sampled']} frames at 1 fps); "
          f"CPU {b['cpu']:.1f} s, model loading included")
    for name, seconds in b["stages"].items():
        print(f"         {name:<18} {seconds:7.2f} s")
    print(f"\nours is {b['wall'] / a['wall']:.1f}x faster than naive; {duration / a['wall']:.1f}x faster than real time "
          f"(targets: 3x and 15x)")


if __name__ == "__main__":
    main()
