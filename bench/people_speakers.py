"""Speaker turns on real voices: diarization error rate of people.speakers.diarize beside baselines.

    .venv/bin/python bench/people_speakers.py [--json] [--oracle] [--threshold T] [--smooth N]
                                              [--models-dir DIR]

Recordings: the two real two-speaker excerpts of shared/real-media/speakers (pyannote's sample, an
AMI meeting; reference turns from their RTTM), and recordings built in memory from the real
single-speaker clips of speech/en (each clip's speech span, trimmed, laid end to end with short
gaps, so turns and who speaks them are known to the sample).

Speech stretches given to diarize: Whisper base's segments (faster-whisper, int8 on the CPU, run
through indexer.transcribe.transcribe as the indexer does). `--oracle` also scores with the
reference's own speech regions.

Systems, all on the same recording:
  ours        people.speakers.diarize over Whisper's segments
  fixed-2s    fixed 2 s windows over the whole file, each embedded (same encoder) and clustered by
              the same clusterer, no smoothing, no speech detection (every second is someone's)
  one-spk     everything in Whisper's segments is one speaker

DER = (missed + false alarm + speaker confusion) / reference speech, on 10 ms frames, with the
optimal one-to-one speaker mapping (scipy linear_sum_assignment on co-occurring time), a 0.25 s
collar (frames within 0.25 s of any reference turn boundary are not scored). Overlapping speech is
scored as in md-eval's default: a frame where the reference has n speakers counts n; a system that
outputs one speaker per frame (all three here) misses at least n - 1 of them.
RTF = diarize wall time / recording duration (Whisper excluded).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

SAMPLE_RATE = 16_000
FRAME = 0.01
COLLAR = 0.25
GOAL_DER = 0.20
GAP = 0.4  # silence between concatenated clips (Whisper often keeps such a pause inside one segment)

# Built recordings: (name, [(clip stem, part)]) where part None = whole speech span, (i, n) = i-th of n parts
BUILT = [
    ("lj+libri2412", [("ljspeech_LJ050-0131", None), ("librispeech_2412-153948-0000", None)]),
    ("libri2412+lj+libri1089", [("librispeech_2412-153948-0000", (0, 2)), ("ljspeech_LJ050-0131", None),
                                ("librispeech_2412-153948-0000", (1, 2)), ("librispeech_1089-134686-0001", None)]),
    ("4spk-alternating", [("ljspeech_LJ050-0131", (0, 2)), ("librispeech_2412-153948-0000", (0, 3)),
                          ("deepspeech_new-home-in-the-stars", None), ("ljspeech_LJ050-0131", (1, 2)),
                          ("librispeech_2412-153948-0000", (1, 3)), ("librispeech_1089-134686-0001", None),
                          ("librispeech_2412-153948-0000", (2, 3))]),
]


# --------------------------------------------------------------------------- data


def real_media() -> Path:
    from tests.real_media import REAL_MEDIA

    return REAL_MEDIA


def two_speaker_recordings() -> list[dict]:
    from tests.real_media import load_manifest, read_clip

    out = []
    for entry in load_manifest():
        if entry.get("kind") != "speaker_turns":
            continue
        turns = [(t["start"], t["end"], t["speaker"]) for t in entry["reference"]["turns"]]
        out.append({"name": Path(entry["path"]).stem, "samples": np.asarray(read_clip(entry)), "turns": turns})
    return out


def built_recording(parts: list[tuple[str, tuple[int, int] | None]], gap: float = GAP, lead: float = 0.5) -> dict:
    """Clips' speech spans laid end to end: samples and reference turns (speaker = manifest speaker)."""
    from tests.real_media import load_manifest, read_clip, speech_span

    by_stem = {Path(e["path"]).stem: e for e in load_manifest()}
    pieces, turns, t = [np.zeros(int(lead * SAMPLE_RATE), np.float32)], [], lead
    for stem, part in parts:
        entry = by_stem[stem]
        a, b = speech_span(entry)
        if part is not None:
            i, n = part
            a, b = a + (b - a) * i / n, a + (b - a) * (i + 1) / n
        x = np.asarray(read_clip(entry))[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)]
        pieces += [x, np.zeros(int(gap * SAMPLE_RATE), np.float32)]
        turns.append((t, t + x.size / SAMPLE_RATE, entry["reference"]["speaker"]))
        t += (x.size + int(gap * SAMPLE_RATE)) / SAMPLE_RATE
    return {"samples": np.concatenate(pieces).astype(np.float32), "turns": turns}


# --------------------------------------------------------------------------- scoring


def der(reference: list[tuple[float, float, str]], hypothesis: list[tuple[float, float, object]],
        duration: float, collar: float = COLLAR) -> dict:
    """Diarization error rate and its parts (see the module's docstring for the rules)."""
    from scipy.optimize import linear_sum_assignment

    n = int(np.ceil(duration / FRAME))
    ref_ids = sorted({s for _, _, s in reference})
    hyp_ids = sorted({s for _, _, s in hypothesis}, key=str)
    R = np.zeros((n, len(ref_ids)), bool)
    H = np.zeros((n, max(1, len(hyp_ids))), bool)
    for a, b, s in reference:
        R[int(round(a / FRAME)):int(round(b / FRAME)), ref_ids.index(s)] = True
    for a, b, s in hypothesis:
        H[int(round(a / FRAME)):int(round(b / FRAME)), hyp_ids.index(s)] = True
    scored = np.ones(n, bool)
    for a, b, _ in reference:
        for edge in (a, b):
            scored[max(0, int(round((edge - collar) / FRAME))):int(round((edge + collar) / FRAME))] = False
    R, H = R[scored], H[scored]
    n_ref, n_hyp = R.sum(1), H.sum(1)
    co = R.T.astype(np.int64) @ H.astype(np.int64)  # frames where ref i and hyp j both speak
    rows, cols = linear_sum_assignment(-co)
    correct = np.zeros(len(R), np.int64)
    for i, j in zip(rows, cols):
        correct += R[:, i] & H[:, j]
    total = int(n_ref.sum())
    missed = int(np.maximum(n_ref - n_hyp, 0).sum())
    false_alarm = int(np.maximum(n_hyp - n_ref, 0).sum())
    confusion = int((np.minimum(n_ref, n_hyp) - correct).sum())
    overlap = int((n_ref > 1).sum())
    return {"der": (missed + false_alarm + confusion) / max(total, 1), "missed": missed / max(total, 1),
            "false_alarm": false_alarm / max(total, 1), "confusion": confusion / max(total, 1),
            "ref_speech_s": total * FRAME, "overlap_s": overlap * FRAME}


# --------------------------------------------------------------------------- systems


def whisper_segments(samples: np.ndarray, speech_model) -> list[tuple[float, float]]:
    from indexer.audio import ArrayAudio
    from indexer.transcribe import transcribe

    return [(s.start, s.end) for s in transcribe(ArrayAudio(samples), speech_model, language="en").segments]


def ours(samples, speech, threshold, smooth, encoder):
    from indexer.audio import ArrayAudio
    from people.speakers import diarize

    t = time.perf_counter()
    result = diarize(ArrayAudio(samples), speech, encoder=encoder, threshold=threshold, smooth=smooth)
    return [(x.start, x.end, x.speaker) for x in result.turns], time.perf_counter() - t


def fixed_windows(samples, threshold, encoder, seconds: float = 2.0):
    from people.speakers import cluster_windows

    step = int(seconds * SAMPLE_RATE)
    clips = [samples[i:i + step] for i in range(0, samples.size, step)]
    clips = [c for c in clips if c.size >= 0.5 * SAMPLE_RATE]
    vectors = encoder.embed_clips(clips)
    silent = np.isnan(vectors).any(axis=1)  # no voice at all: still someone's, as there is no VAD
    if silent.all():
        return [(0.0, samples.size / SAMPLE_RATE, 0)]
    vectors[silent] = vectors[~silent].mean(axis=0)
    labels = cluster_windows(vectors, seconds, threshold=threshold, min_seconds=0.0)
    return [(i * seconds, min((i + 1) * seconds, samples.size / SAMPLE_RATE), int(l)) for i, l in enumerate(labels)]


def one_speaker(speech):
    return [(a, b, 0) for a, b in speech]


def reference_speech(turns) -> list[tuple[float, float]]:
    spans = sorted((a, b) for a, b, _ in turns)
    out: list[tuple[float, float]] = []
    for a, b in spans:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


# --------------------------------------------------------------------------- run


def run(args) -> dict:
    import models
    from models.voice_identity import load_voice_encoder
    from people.speakers import CLUSTER_THRESHOLD, SMOOTH_WINDOWS

    threshold = getattr(args, "threshold", None) or CLUSTER_THRESHOLD
    smooth = getattr(args, "smooth", None) or SMOOTH_WINDOWS
    oracle = bool(getattr(args, "oracle", False))
    models_dir = Path(getattr(args, "models_dir", None) or os.environ.get(
        "REELSCOPE_BENCH_MODELS_DIR", Path.home() / ".cache" / "reelscope" / "models"))
    encoder = load_voice_encoder("cpu")
    speech_model = models.load_speech("whisper-base", models_dir, "cpu")

    recordings = two_speaker_recordings()
    for name, parts in BUILT:
        recordings.append({"name": name, **built_recording(parts)})
    rows = []
    for rec in recordings:
        x, ref = rec["samples"], rec["turns"]
        duration = x.size / SAMPLE_RATE
        segs = whisper_segments(x, speech_model)
        hyp, seconds = ours(x, segs, threshold, smooth, encoder)
        row = {"recording": rec["name"], "duration_s": round(duration, 2),
               "ref_speakers": len({s for _, _, s in ref}), "whisper_segments": len(segs),
               "ours": der(ref, hyp, duration), "ours_speakers": len({s for _, _, s in hyp}),
               "rtf": seconds / duration,
               "fixed_2s": der(ref, fixed_windows(x, threshold, encoder), duration),
               "one_spk": der(ref, one_speaker(segs), duration)}
        if oracle:
            hyp_o, _ = ours(x, reference_speech(ref), threshold, smooth, encoder)
            row["ours_oracle_speech"] = der(ref, hyp_o, duration)
        rows.append(row)

    def pooled(key):
        total = sum(r[key]["ref_speech_s"] for r in rows)
        return sum(r[key]["der"] * r[key]["ref_speech_s"] for r in rows) / total

    keys = ["ours", "fixed_2s", "one_spk"] + (["ours_oracle_speech"] if oracle else [])
    summary = {k: pooled(k) for k in keys}
    summary["rtf"] = float(np.mean([r["rtf"] for r in rows]))
    summary["goal_der"] = GOAL_DER
    summary["goal_met"] = summary["ours"] <= GOAL_DER and summary["ours"] < min(summary["fixed_2s"], summary["one_spk"])
    return {"bench": "people_speakers", "threshold": threshold, "smooth_windows": smooth, "collar_s": COLLAR,
            "speech_stretches": "whisper-base segments (indexer.transcribe.transcribe, int8 CPU)",
            "overlap": "scored (md-eval default): each overlapping reference speaker counts; one-speaker-per-frame "
                       "systems miss the extra ones",
            "recordings": rows, "summary": summary}


def print_table(result: dict) -> None:
    print(f"speaker turns: DER (missed+false alarm+confusion)/reference speech, collar {result['collar_s']} s, "
          f"optimal mapping; speech = {result['speech_stretches']}")
    print(f"overlap: {result['overlap']}; threshold {result['threshold']}, smoothing {result['smooth_windows']} windows")
    oracle = "ours_oracle_speech" in result["recordings"][0]
    head = f"{'recording':<30}{'dur':>6}{'spk':>5}{'ours':>7}{'miss':>6}{'fa':>6}{'conf':>6}{'found':>6}" \
           f"{'fix2s':>7}{'1spk':>7}{'rtf':>7}" + (f"{'oracle':>8}" if oracle else "")
    print(head)
    for r in result["recordings"]:
        o = r["ours"]
        line = (f"{r['recording']:<30}{r['duration_s']:>6.1f}{r['ref_speakers']:>5}{o['der']:>7.1%}{o['missed']:>6.1%}"
                f"{o['false_alarm']:>6.1%}{o['confusion']:>6.1%}{r['ours_speakers']:>6}{r['fixed_2s']['der']:>7.1%}"
                f"{r['one_spk']['der']:>7.1%}{r['rtf']:>7.3f}")
        if oracle:
            line += f"{r['ours_oracle_speech']['der']:>8.1%}"
        print(line)
    s = result["summary"]
    line = f"{'pooled (by reference speech)':<30}{'':>11}{s['ours']:>7.1%}{'':>24}{s['fixed_2s']:>7.1%}{s['one_spk']:>7.1%}" \
           f"{s['rtf']:>7.3f}" + (f"{s['ours_oracle_speech']:>8.1%}" if oracle else "")
    print(line)
    print(f"goal: DER <= {s['goal_der']:.0%} and below both baselines: {'met' if s['goal_met'] else 'NOT met'}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--oracle", action="store_true", help="also score with the reference's speech regions")
    parser.add_argument("--threshold", type=float, help="clustering cut (cosine distance)")
    parser.add_argument("--smooth", type=int, help="mode filter width, windows")
    parser.add_argument("--models-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
