"""The speech-text emotion classifier: real MiniLM vectors, the packaged head (no Whisper here)."""
from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import models
from models.emotion_text import EMOTIONS, HEAD_FILE, TRAIN_FILE, TextEmotionClassifier, load_emotion_text

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def classifier():
    return load_emotion_text("cpu")


def _eval_set():
    spec = importlib.util.spec_from_file_location("emotion_data", ROOT / "bench" / "emotion_data.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module.dataset()


# Written for this test; neither in the training sentences nor in bench/emotion_data.py.
CLEAR = [
    ("I just got engaged and I'm the happiest person alive!", "joy"),
    ("We won the cup after twenty years of trying, what a feeling!", "joy"),
    ("This is the fourth time you've messed up my order and I am furious.", "anger"),
    ("Stop shouting at my kids or I'll call your boss, you rude man!", "anger"),
    ("My old dog died this morning and I can't stop crying.", "sadness"),
    ("Since my wife left, the evenings are long and empty.", "sadness"),
    ("I'm terrified, there's a stranger banging on my door at midnight.", "fear"),
    ("I'm so scared the lump they found is cancer.", "fear"),
]
FACTUAL = [
    "The meeting is at three o'clock in room B.",
    "The invoice lists four items and a delivery charge.",
    "Chapter two explains how the pump is assembled.",
    "Set the oven to two hundred degrees and grease the tray.",
]


@pytest.mark.parametrize("text,emotion", CLEAR)
def test_clear_sentences_get_their_emotion(classifier, text, emotion):
    probs = classifier.predict([text])[0]
    assert EMOTIONS[int(probs.argmax())] == emotion, dict(zip(EMOTIONS, probs.round(2)))


def test_factual_sentences_are_neutral(classifier):
    probs = classifier.predict(FACTUAL)
    top = [EMOTIONS[i] for i in probs.argmax(axis=1)]
    assert top == ["neutral"] * len(FACTUAL), list(zip(FACTUAL, top))


def test_probabilities_are_rows_in_label_order(classifier):
    texts = [t for t, _ in CLEAR] + FACTUAL
    probs = classifier.predict(texts)
    assert probs.shape == (len(texts), len(EMOTIONS))
    assert np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert classifier.predict([]).shape == (0, len(EMOTIONS))


def test_gibberish_gets_low_confidence(classifier):
    clear = classifier.predict([t for t, _ in CLEAR]).max(axis=1)
    for nonsense in ["blorf quazzle mipt zzkra vloo", "xq zt vrrp klm"]:
        top = float(classifier.predict([nonsense])[0].max())
        assert top < 0.6, (nonsense, top)
        assert top < clear.min(), (nonsense, top, clear.min())


def test_confidence_is_calibrated_on_clear_cases(classifier):
    # Temperature scaling on held-out folds: clear sentences are confident, not just argmax-right.
    probs = classifier.predict([t for t, _ in CLEAR] + FACTUAL)
    assert probs.max(axis=1).mean() > 0.6


def test_indexer_vectors_give_the_same_answer(classifier):
    texts = [t for t, _ in CLEAR[:3]]
    vectors = models.load_text("all-MiniLM-L6-v2", "cpu").encode(texts)
    np.testing.assert_allclose(classifier.predict(texts, vectors), classifier.predict(texts), atol=1e-5)


def test_wrong_vectors_are_refused_clearly(classifier):
    with pytest.raises(ValueError, match="all-MiniLM-L6-v2"):
        classifier.predict(["hello", "there"], np.zeros((2, 512), dtype=np.float32))
    with pytest.raises(TypeError):
        classifier.predict("one string, not a list")


def test_version_names_the_weights_file(classifier):
    digest = hashlib.sha256(HEAD_FILE.read_bytes()).hexdigest()[:8]
    assert classifier.model_version == f"emotion-text-minilm-head@{digest}"
    assert load_emotion_text("cpu") is classifier  # once per process
    assert TextEmotionClassifier().model_version == classifier.model_version
    head = json.loads(HEAD_FILE.read_text())
    assert head["labels"] == list(EMOTIONS)
    # Trained on the vectors of the MiniLM that ships now: another one needs a retrained head.
    assert head["text_model_version"] == models.load_text("all-MiniLM-L6-v2", "cpu").version
    assert HEAD_FILE.stat().st_size < 300_000


def test_eval_set_is_separate_from_training():
    items = _eval_set()
    assert len(items) >= 140
    assert all(sum(it.emotion == e for it in items) >= 20 for e in EMOTIONS)
    with open(TRAIN_FILE, encoding="utf-8", newline="") as f:
        training = {row["text"].strip().lower() for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)}
    assert not [it.text for it in items if it.text.strip().lower() in training]


def test_eval_set_macro_f1_guard(classifier):
    """Guards the figure in bench/RESULTS.md: macro-F1 >= 0.70 on the written evaluation sentences."""
    from sklearn.metrics import f1_score

    items = _eval_set()
    truth = [EMOTIONS.index(it.emotion) for it in items]
    predicted = classifier.predict([it.text for it in items]).argmax(axis=1)
    assert f1_score(truth, predicted, average="macro") >= 0.70
