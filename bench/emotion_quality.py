"""Emotion tag quality on real signals: spoken sentences with an intended emotion.

    .venv/bin/python bench/emotion_quality.py [--limit N] [--data-dir DIR] [--languages en,zh]

Each sentence of bench/emotion_data.py (English, 168, 24 per label) and bench/emotion_data_zh.py
(Chinese, 98, 14 per label), never trained or tuned on, is spoken by espeak-ng with a voice that
fits its emotion (samples.speak; Mandarin as pinyin with `-v cmn-latn-pinyin`, since this
espeak-ng's `cmn` reads tone digits as English numbers), transcribed by the project's Whisper base
exactly as the indexer does (language detected; for Chinese also with the language told), and the
transcript is classified. Printed per language, per label precision/recall/F1 and macro-F1, for:
  (a) the speech-text classifier (models/emotion_text.py) on the written sentences,
  (b) the same classifier on the ASR transcripts (what the indexer really sees),
  (c) the baseline, run in the same process on the same inputs: nearest prototype, cosine between
      the sentence and each label's name (in the sentence's language) in the classifier's text
      model's space.
The classifier is given the indexer's text vectors (settings.text_model) as the indexer gives them;
it uses them only when they come from its own text model. The face channel's top-1 on real face
photos follows (bench/face_quality.py).
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
from emotion_data_zh import dataset as dataset_zh  # noqa: E402
import samples  # noqa: E402
from models.emotion_text import EMOTIONS, load_emotion_text  # noqa: E402
from settings import Settings  # noqa: E402


def face_channel_report():
    """The face channel's own evaluation (bench/face_quality.py: top-1 on real face photos)."""
    from face_quality import face_channel_report as run

    return run()


# The label names in each language: dictionary translations, not tuned on the evaluation sentences.
LABEL_NAMES = {"en": list(EMOTIONS), "zh": ["喜悦", "悲伤", "愤怒", "恐惧", "惊讶", "厌恶", "中性"]}
SETS = {"en": ("English", dataset), "zh": ("Chinese", dataset_zh)}


def nearest_prototype(vectors: np.ndarray, embedder, names: list[str]) -> np.ndarray:
    """The baseline: each label's name embedded as a query (what e5 expects of a short label); the
    closest one wins."""
    encode = getattr(embedder, "encode_queries", embedder.encode)
    prototypes = encode(names)
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
    parser.add_argument("--languages", default="en,zh", help="which evaluation sets, comma-separated (en, zh)")
    parser.add_argument("--no-faces", action="store_true", help="skip the face channel's report")
    args = parser.parse_args(argv)

    settings = Settings(device="cpu") if args.data_dir is None else Settings(data_dir=args.data_dir, device="cpu")
    indexer_embedder = models.load_text(settings.text_model, "cpu")
    classifier = load_emotion_text("cpu")
    embedder = models.load_text(classifier.text_model, "cpu")  # the space the head and the baseline work in
    speech = models.load_speech(settings.speech_model, settings.models_dir, "cpu")
    print(f"classifier {classifier.model_version}; its text model {embedder.version}; the indexer's text model "
          f"{indexer_embedder.version}")
    summary = []
    for language in args.languages.split(","):
        title, make = SETS[language]
        summary.append(evaluate(title, language, make(), args.limit, classifier, indexer_embedder, embedder, speech))

    if not args.no_faces:
        print("\nface channel (real photos: scikit-image's astronaut and LFW faces):")
        face_channel_report()
    print()
    for title, written_f1, written_base, results in summary:
        print(f"summary {title}: text classifier macro-F1 {written_f1:.3f} written (baseline {written_base:.3f}); "
              + "; ".join(f"{f1:.3f} on ASR transcripts, {how} (baseline {base:.3f})" for how, f1, base in results)
              + "; target >= 0.70")
    return 0


def evaluate(title: str, language: str, items: list, limit: int, classifier, indexer_embedder, embedder, speech):
    """One language's set: the written sentences, then the same spoken and transcribed."""
    if limit:
        items = [it for e in EMOTIONS for it in [x for x in items if x.emotion == e][:limit]]
    truth = np.array([EMOTIONS.index(it.emotion) for it in items])
    names = LABEL_NAMES[language]
    print(f"\n##### {title}: {len(items)} sentences")

    def classify(texts: list[str]) -> np.ndarray:
        # as the indexer does: its segment vectors and the name of the model that made them
        return classifier.predict(texts, indexer_embedder.encode(texts), indexer_embedder.name)

    # (a) written sentences
    written = [it.text for it in items]
    probs = classify(written)
    written_base = nearest_prototype(embedder.encode(written), embedder, names)
    written_f1 = section(f"{title}, written sentences", truth, probs.argmax(axis=1), written_base, probs)

    # (b) spoken, then transcribed as the indexer does: the language detected (AUDIO_LANGUAGE unset),
    # and for Chinese also told (AUDIO_LANGUAGE=zh), since Whisper base rarely takes espeak-ng's
    # Mandarin for Chinese
    audio = [samples.speak(getattr(it, "pinyin", "") or it.text, voice=it.voice, speed=it.speed, pitch=it.pitch)
             for it in items]
    results = []
    for told in [None] + ([language] if language != "en" else []):
        started = time.perf_counter()
        heard, languages = [], []
        for clip in audio:
            transcript = transcribe(ArrayAudio(clip), speech, language=told)
            heard.append(" ".join(seg.text for seg in transcript.segments).strip())
            languages.append(transcript.language)
        asr_seconds = time.perf_counter() - started
        empty = sum(1 for h in heard if not h)
        changed = [(it.text, h) for it, h in zip(items, heard) if _words(it.text) != _words(h)]
        heard_probs = classify(heard)
        heard_base = nearest_prototype(embedder.encode(heard), embedder, names)
        how = "language detected" if told is None else f"language told: {told}"
        asr_f1 = section(f"{title}, ASR transcripts (espeak-ng -> Whisper base, {how})", truth,
                         heard_probs.argmax(axis=1), heard_base, heard_probs)
        detected = {str(code): languages.count(code) for code in sorted(set(languages), key=str)}
        print(f"\nASR ({how}): {asr_seconds:.1f} s for {len(items)} sentences; languages detected {detected}; "
              f"{len(changed)} transcripts differ from the written words, {empty} empty. Some of them:")
        for said, got in changed[:8]:
            print(f"    said {said!r}\n    got  {got!r}")
        results.append((how, asr_f1, scores(truth, heard_base)[0]))
    return title, written_f1, scores(truth, written_base)[0], results


def _words(text: str) -> list[str]:
    """The words, lower case, without punctuation; Chinese (no spaces) character by character."""
    spaced = "".join(f" {c} " if "\u4e00" <= c <= "\u9fff" else c for c in text)
    return "".join(c.lower() if c.isalnum() or c.isspace() else " " for c in spaced).split()


if __name__ == "__main__":
    sys.exit(main())
