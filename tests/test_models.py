"""Model provisioning: packaged weights, CLIP import, and the visual channel saying plainly when it is off."""
from __future__ import annotations

import json

import numpy as np
import pytest

import models
from models import weights
from models.registry import get_spec
from tests.conftest import make_settings, run_cli


def test_whisper_parts_join_into_a_checked_model_folder(tmp_path):
    spec = get_spec("speech", "whisper-base")
    folder = weights.speech_model_dir(spec, tmp_path)
    assert (folder / "model.bin").stat().st_size == spec.params["joined_size"]
    assert {p.name for p in folder.iterdir()} >= {"model.bin", "config.json", "tokenizer.json", "vocabulary.json"}
    # a torn file from an earlier crash is replaced, not trusted
    (folder / "model.bin").write_bytes(b"torn")
    weights.speech_model_dir(spec, tmp_path)
    assert (folder / "model.bin").stat().st_size == spec.params["joined_size"]


def test_minilm_puts_paraphrases_closer_than_unrelated_sentences():
    embedder = models.load_text("all-MiniLM-L6-v2", "cpu")
    a, b, c = embedder.encode(["How do I bake bread at home?", "a recipe for homemade loaves",
                               "the rocket reached orbit"])
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-4)
    assert a @ b > a @ c + 0.2


def test_visual_channel_is_off_without_weights_and_says_how_to_fix_it(tmp_path):
    availability = models.clip_availability("ViT-B-32/laion2b_s34b_b79k", tmp_path)
    assert not availability.enabled
    assert "models pull" in availability.reason and "models import" in availability.reason
    assert models.load_clip("ViT-B-32/laion2b_s34b_b79k", tmp_path, "cpu") is None
    test_only = models.clip_availability("test-tiny-random", tmp_path)
    assert test_only.enabled and test_only.test_only and "TEST-ONLY" in test_only.reason


def test_imported_clip_weights_are_checked_then_used(tmp_path):
    """`models import` loads the file with open_clip first; a bad file is refused with a reason."""
    import torch

    reference = models.load_clip("test-tiny-random", tmp_path, "cpu")
    checkpoint = tmp_path / "tiny.pt"
    torch.save(reference._model.state_dict(), checkpoint)
    settings = make_settings(tmp_path / "data", clip_model="reelscope-test-tiny/imported")

    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"not a checkpoint")
    refused = run_cli(["models", "import", str(garbage)], settings)
    assert refused.returncode != 0 and "not a reelscope-test-tiny checkpoint" in refused.stderr

    imported = run_cli(["models", "import", str(checkpoint)], settings)
    assert imported.returncode == 0, imported.stderr
    listed = {(m["family"], m["name"]): m for m in json.loads(run_cli(["models", "list", "--json"], settings).stdout)}
    assert listed[("clip", "reelscope-test-tiny/imported")]["available"]
    assert models.clip_availability(settings.clip_model, settings.models_dir).enabled
    loaded = models.load_clip(settings.clip_model, settings.models_dir, "cpu")
    texts = ["a cat", "a rocket"]
    assert np.allclose(loaded.encode_texts(texts), reference.encode_texts(texts), atol=1e-5)
    assert loaded.version.startswith("reelscope-test-tiny/imported@")


def test_pull_without_network_fails_with_advice(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(weights.WeightsMissing, match="models import"):
        weights.pull_clip("ViT-B-32/laion2b_s34b_b79k", tmp_path)
    assert weights.clip_weights_file(get_spec("clip", "ViT-B-32/laion2b_s34b_b79k"), tmp_path) is None


def test_status_api_reports_counts_and_the_visual_channel(tmp_path):
    from catalog import upgrade
    from web import create_app

    settings = make_settings(tmp_path / "data")
    upgrade(settings.catalog_url)
    client = create_app(settings).test_client()
    body = client.get("/api/v1/status").get_json()
    assert body["counts"]["videos"] == 0
    assert body["channels"] == {"transcript": True, "visual": False}
    assert "visual search off" in body["visual"]["message"]
    page = client.get("/")
    assert page.status_code == 200 and b"visual search off" in page.data
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"


def test_clip_text_encoding_without_padding_is_exact(tmp_path):
    """Queries are encoded on their own tokens, not 77 padded ones: same vectors, less work."""
    import torch

    clip = models.load_clip("test-tiny-random", tmp_path, "cpu")
    texts = ["a cat", "the moment where the rocket boosters fall back towards the ocean after launch"]
    with torch.inference_mode():
        padded = clip._normalise(clip._model.encode_text(clip._tokenizer(texts)))
    assert clip._can_trim()
    assert np.allclose(clip.encode_texts(texts), padded, atol=1e-5)


QUERIES = ["a cat", "the part where he talks about saving money on groceries", "Zürich — 東京, 1999!",
           "the moment where the rocket boosters fall back towards the ocean after launch " * 8]


@pytest.mark.parametrize("kind,name", [("text", "all-MiniLM-L6-v2"), ("clip", "test-tiny-random")])
def test_query_encoder_runs_on_onnx_runtime_with_the_same_vectors_and_keeps_its_export(tmp_path, monkeypatch,
                                                                                       kind, name):
    """Searches encode queries with ONNX Runtime: the vectors are PyTorch's (any length, batched or
    not); the graph is exported once, and later processes use it without loading PyTorch's weights."""
    from models import query_encoder as qe

    model = models.load_text(name, "cpu") if kind == "text" else models.load_clip(name, tmp_path, "cpu")
    reference = model.encode(QUERIES) if kind == "text" else model.encode_texts(QUERIES)
    monkeypatch.setattr(qe, "_sessions", {})
    assert models.load_query_encoder(kind, name, tmp_path, "cpu", export=False).runtime == "torch"  # none yet

    encoder = models.load_query_encoder(kind, name, tmp_path, "cpu")
    assert encoder.runtime == "onnxruntime" and encoder.version == model.version
    single = np.concatenate([encoder.encode([q]) for q in QUERIES])
    for vectors in (single, encoder.encode(QUERIES)):
        assert vectors.dtype == np.float32 and vectors.shape == reference.shape == (len(QUERIES), encoder.dim)
        assert np.min(np.sum(vectors * reference, axis=1)) > 0.9999

    monkeypatch.setattr(qe, "_sessions", {})  # a new process: the saved graph, no PyTorch model, no export
    monkeypatch.setattr(qe, "_export", lambda *a: pytest.fail("exported again"))
    monkeypatch.setattr(models, "load_text", lambda *a: pytest.fail("loaded the PyTorch model"))
    monkeypatch.setattr(models, "load_clip", lambda *a: pytest.fail("loaded the PyTorch model"))
    again = models.load_query_encoder(kind, name, tmp_path, "cpu", export=False)
    assert again.runtime == "onnxruntime" and np.allclose(again.encode(QUERIES), encoder.encode(QUERIES))


def test_a_damaged_or_disagreeing_query_encoder_graph_is_not_used(tmp_path, monkeypatch, caplog):
    from models import query_encoder as qe

    model = models.load_clip("test-tiny-random", tmp_path, "cpu")
    monkeypatch.setattr(qe, "_sessions", {})
    models.load_query_encoder("clip", "test-tiny-random", tmp_path, "cpu")
    [graph] = (tmp_path / "onnx").glob("*.onnx")
    [probes] = (tmp_path / "onnx").glob("*.probes.npy")

    graph.write_bytes(graph.read_bytes()[:1000])  # truncated, as by a full disk
    monkeypatch.setattr(qe, "_sessions", {})
    encoder = models.load_query_encoder("clip", "test-tiny-random", tmp_path, "cpu")
    assert encoder.runtime == "onnxruntime" and graph.stat().st_size > 1_000_000
    assert "exporting it again" in caplog.text

    # vectors that do not agree with what PyTorch gave at export: the graph is not trusted
    np.save(probes, -np.load(probes))
    monkeypatch.setattr(qe, "_sessions", {})
    fallback = models.load_query_encoder("clip", "test-tiny-random", tmp_path, "cpu", export=False)
    assert fallback.runtime == "torch" and "disagrees with PyTorch" in caplog.text
    assert np.allclose(fallback.encode(["a cat"]), model.encode_texts(["a cat"]))
    monkeypatch.setattr(qe, "_sessions", {})
    assert models.load_query_encoder("clip", "test-tiny-random", tmp_path, "cpu").runtime == "onnxruntime"
