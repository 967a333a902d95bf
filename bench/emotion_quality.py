"""Emotion tag quality on real signals: spoken sentences with an intended emotion.

    .venv/bin/python bench/emotion_quality.py [--limit N] [--data-dir DIR]

Each sentence of bench/emotion_data.py (168, 24 per label, never trained or tuned on) is spoken by
espeak-ng with a voice that fits its emotion (indexer/samples.speak), transcribed by the project's
Whisper base exactly as the indexer does, and the transcript is classified. Printed, per label
precision/recall/F1 and macro-F1, for:
  (a) the speech-text classifier (models/emotion_text.py) on the written sentences,
  (b) the same classifier on the ASR transcripts (what the indexer really sees),
  (c) the baseline, run in the same process on the same inputs: nearest prototype, MiniLM cosine
      between the sentence and each label's name.
The face channel's top-1 on real face photos follows (bench/face_quality.py).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import models  # noqa: E402
from indexer.audio import ArrayAudio  # noqa: E402
from indexer.transcribe import transcribe  # noqa: E402
from emotion_data import dataset  # noqa: E402
import samples  # noqa: E402
from models.emotion_text import EMOTIONS, load_emotion_text  # noqa: E402
from settings import Settings  # noqa: E402


def face_channel_report():
    """The face channel's own evaluation (bench/face_quality.py: top-1 on real face photos)."""
    from face_quality import face_channel_report as run

    return run()


def nearest_prototype(vectors: np.ndarray, embedder) -> np.ndarray:
    """The baseline: each label's name embedded by MiniLM; the closest one wins."""
    prototypes = embedder.encode(list(EMOTIONS))
    return (vectors @ prototypes.T).argmax(axis=1)


def scores(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, str]:
    from sklearn.metrics import classification_report, f1_score

    report = classification_report(truth, predicted, labels=range(len(EMOTIONS)), target_names=EMOTIONS,
                                   digits=3, zero_division=0)
    return float(f1_score(truth, predicted, labels=range(len(EMOTIONS)), average="macro", zero_division=0)), report


def calibration(probs: np.ndarray, truth: np.ndarray, bins: int = 5) -> str:
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == truth
    lines = []
    for lo, hi in zip(np.linspace(0, 1, bins + 1)[:-1], np.linspace(0, 1, bins + 1)[1:]):
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            lines.append(f"    confidence {lo:.1f}-{hi:.1f}: {inside.sum():3d} sentences, "
                         f"mean confidence {confidence[inside].mean():.2f}, accuracy {correct[inside].mean():.2f}")
    return "\n".join(lines)


def confusions(truth: np.ndarray, predicted: np.ndarray) -> str:
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(truth, predicted, labels=range(len(EMOTIONS)))
    head = "    " + " ".join(f"{e[:5]:>6}" for e in EMOTIONS) + "   <- predicted"
    rows = [f"    {' '.join(f'{n:6d}' for n in row)}   {EMOTIONS[i]}" for i, row in enumerate(matrix)]
    return "\n".join([head, *rows])


def section(title: str, truth, predicted, baseline, probs=None) -> float:
    f1, report = scores(truth, predicted)
    base_f1, base_report = scores(truth, baseline)
    print(f"\n=== {title}: classifier ===\n{report}")
    print(confusions(truth, predicted))
    if probs is not None:
        print("  calibration (top label):\n" + calibration(probs, truth))
    print(f"\n=== {title}: baseline, nearest label-name prototype ===\n{base_report}")
    ratio = f1 / base_f1 if base_f1 else float("inf")
    print(f"{title}: macro-F1 classifier {f1:.3f}, baseline {base_f1:.3f}, ratio {ratio:.2f}x")
    return f1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N sentences of each label (quick look)")
    parser.add_argument("--data-dir", type=Path, default=None, help="where the packaged Whisper model is prepared")
    args = parser.parse_args(argv)

    items = dataset()
    if args.limit:
        items = [it for e in EMOTIONS for it in [x for x in items if x.emotion == e][: args.limit]]
    truth = np.array([EMOTIONS.index(it.emotion) for it in items])
    settings = Settings(device="cpu") if args.data_dir is None else Settings(data_dir=args.data_dir, device="cpu")

    embedder = models.load_text(settings.text_model, "cpu")
    classifier = load_emotion_text("cpu")
    print(f"{len(items)} sentences; classifier {classifier.model_version}; text model {embedder.version}")

    # (a) written sentences
    written = [it.text for it in items]
    vectors = embedder.encode(written)
    probs = classifier.predict(written, vectors)
    written_f1 = section("written sentences", truth, probs.argmax(axis=1), nearest_prototype(vectors, embedder), probs)

    # (b) spoken, then transcribed as the indexer does
    speech = models.load_speech(settings.speech_model, settings.models_dir, "cpu")
    started = time.perf_counter()
    heard = []
    for it in items:
        audio = samples.speak(it.text, voice=it.voice, speed=it.speed, pitch=it.pitch)
        transcript = transcribe(ArrayAudio(audio), speech)
        heard.append(" ".join(seg.text for seg in transcript.segments).strip())
    asr_seconds = time.perf_counter() - started
    empty = sum(1 for h in heard if not h)
    changed = [(it.text, h) for it, h in zip(items, heard) if _words(it.text) != _words(h)]
    heard_vectors = embedder.encode(heard)
    heard_probs = classifier.predict(heard, heard_vectors)
    asr_f1 = section("ASR transcripts (espeak-ng -> Whisper base)", truth, heard_probs.argmax(axis=1),
                     nearest_prototype(heard_vectors, embedder), heard_probs)
    print(f"\nASR: {asr_seconds:.1f} s for {len(items)} sentences; {len(changed)} transcripts differ from the "
          f"written words, {empty} empty. Some of them:")
    for said, got in changed[:8]:
        print(f"    said {said!r}\n    got  {got!r}")

    print("\nface channel (real photos: scikit-image's astronaut and LFW faces):")
    face_channel_report()
    print(f"\nsummary: text classifier macro-F1 {written_f1:.3f} written, {asr_f1:.3f} on ASR transcripts "
          f"(target >= 0.70)")
    return 0


def _words(text: str) -> list[str]:
    return "".join(c.lower() if c.isalnum() or c.isspace() else " " for c in text).split()


if __name__ == "__main__":
    sys.exit(main())
