"""CLIP image and text towers (open_clip) for keyframes and visual queries."""
from __future__ import annotations

from pathlib import Path

import numpy as np

TEST_CONFIG_DIR = Path(__file__).parent / "configs"


def register_test_configs() -> None:
    """Make the test-only architectures (models/configs) known to open_clip."""
    import open_clip

    if "reelscope-test-tiny" not in open_clip.list_models():
        open_clip.add_model_config(TEST_CONFIG_DIR)


class ClipModel:
    def __init__(self, arch: str, weights: str | None, device: str, name: str, version: str, seed: int | None = None):
        import open_clip
        import torch

        self.name = name
        self.version = version
        self.device = device
        register_test_configs()
        if weights is None:
            # only the test model gets here: a small config, seeded random weights
            torch.manual_seed(seed or 0)
        model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=weights, device=device)
        model.eval()
        if device == "cuda":
            model = model.half()
        self._model = model
        self._preprocess = preprocess
        self._tokenizer = open_clip.get_tokenizer(arch)
        self._torch = torch
        self.dim = int(model.text_projection.shape[1]) if hasattr(model, "text_projection") else None

    def _normalise(self, features) -> np.ndarray:
        features = features.float()
        features = features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return np.ascontiguousarray(features.cpu().numpy(), dtype=np.float32)

    def encode_images(self, images: list, batch_size: int = 16) -> np.ndarray:
        """`images`: PIL images. Returns L2-normalised float32 rows."""
        torch = self._torch
        out = []
        dtype = torch.float16 if self.device == "cuda" else torch.float32
        with torch.inference_mode():
            for i in range(0, len(images), batch_size):
                batch = torch.stack([self._preprocess(im.convert("RGB")) for im in images[i:i + batch_size]])
                out.append(self._normalise(self._model.encode_image(batch.to(self.device, dtype=dtype))))
        return np.concatenate(out) if out else np.zeros((0, self.dim or 0), dtype=np.float32)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            tokens = self._tokenizer(list(texts)).to(self.device)
            return self._normalise(self._model.encode_text(tokens))
