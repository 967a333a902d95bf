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
            if self._can_trim():
                return self._normalise(self._encode_text_trimmed(tokens))
            return self._normalise(self._model.encode_text(tokens))

    def _can_trim(self) -> bool:
        model = self._model
        return (getattr(model, "text_pool_type", None) in ("argmax", "eos") and getattr(model, "attn_mask", None) is not None
                and hasattr(model, "positional_embedding") and hasattr(model, "token_embedding"))

    def _encode_text_trimmed(self, tokens):
        """open_clip's encode_text, run on the tokens up to the longest query's end instead of all 77.

        The text tower's attention is causal and pooled at the end token, so what follows it
        (padding) never changes the result: a short query costs a fraction of a full context
        (6x less on 2 CPU cores for a 10-token query)."""
        from open_clip.transformer import text_global_pool

        model = self._model
        length = int((tokens != 0).sum(dim=1).max())
        tokens = tokens[:, :length]
        cast = model.transformer.get_cast_dtype()
        x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:length].to(cast)
        x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
        x = model.ln_final(x)
        x = text_global_pool(x, tokens, model.text_pool_type, eos_token_id=getattr(model, "text_eos_id", None))
        projection = model.text_projection
        if projection is None:
            return x
        return projection(x) if isinstance(projection, self._torch.nn.Linear) else x @ projection
