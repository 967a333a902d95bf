"""On-screen text in keyframes: RapidOCR (PP-OCRv4 detection + recognition, ONNX inside the wheel)."""
from __future__ import annotations

import hashlib
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cache import once

# Text is found (detection, most of the cost) on a copy whose longest side is at most 960 px, and
# read (recognition) from the full-size frame. RapidOCR's default ("min" side 736) upscales a 720p
# frame to 1308x736 for detection. Its "max" mode does not cap at the side one asks for: 1.4.4
# rounds the cap up to 960, 1500 or 2000 by image size (TextDetector.get_preprocess), so the copy
# is made here. Reading from the shrunk copy instead loses the spaces between words of small text
# ("Remembertocheckthe..."), which keyword search cannot match.
DET_LIMIT_TYPE = "max"
DET_LIMIT_SIDE = 960
# Lines read with less confidence than this are mostly texture read as letters (brick, foliage).
MIN_CONFIDENCE = 0.6
# A lone character (or two) is what the recogniser makes of a stray edge; real captions are longer.
MIN_CHARACTERS = 2
# Indexing reads text beside speech recognition, which has the other core: with its default pool,
# onnxruntime's threads spun on that core (a 2-minute talk indexed in 12.6 s with it, 11.5 s with one).
READ_THREADS = 1


class OcrMissing(RuntimeError):
    """rapidocr-onnxruntime (or its models) is not installed."""


@dataclass(frozen=True)
class TextLine:
    text: str
    confidence: float
    box: tuple[int, int, int, int]  # x, y, w, h around the line, in the image's pixels


def _package_dir() -> Path:
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or spec.origin is None:
        raise OcrMissing("on-screen text needs rapidocr-onnxruntime: pip install rapidocr-onnxruntime==1.4.4 "
                         "'opencv-python<5'")
    return Path(spec.origin).parent


def _models_version(package: Path) -> str:
    from importlib.metadata import PackageNotFoundError, version

    models = sorted((package / "models").glob("*.onnx"))
    if len(models) < 3:
        raise OcrMissing(f"{package / 'models'} lacks its ONNX models: reinstall rapidocr-onnxruntime")
    digest = hashlib.sha256()
    for path in models:
        # size + name is enough to tell model files apart without reading 15 MB at every start
        digest.update(f"{path.name}:{path.stat().st_size};".encode())
    try:
        package_version = version("rapidocr-onnxruntime")
    except PackageNotFoundError:
        package_version = "unknown"
    return f"rapidocr@{package_version}+{digest.hexdigest()[:12]}"


class ScreenTextReader:
    def __init__(self, threads: int | None = READ_THREADS, max_side: int | None = DET_LIMIT_SIDE, **overrides):
        """`overrides` go to RapidOCR as is (its own parameter names), e.g. for comparing settings;
        `max_side=None` hands frames over at their own size; `threads=None`: onnxruntime's default."""
        package = _package_dir()
        self.max_side = max_side
        self.model_version = _models_version(package)
        from rapidocr_onnxruntime import RapidOCR

        params = {"det_limit_type": DET_LIMIT_TYPE, "det_limit_side_len": DET_LIMIT_SIDE}
        if threads:
            params["intra_op_num_threads"] = threads
        params.update(overrides)
        self._engine = RapidOCR(**params)
        import cv2

        self._cv2 = cv2
        # onnxruntime sessions are thread-safe, but RapidOCR keeps per-call state on itself
        self._lock = threading.Lock()

    def read(self, image_rgb: np.ndarray) -> list[TextLine]:
        """The lines of text in an RGB uint8 image, top to bottom, without noise."""
        image = np.asarray(image_rgb)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
            raise ValueError(f"expected an RGB uint8 image (h, w, 3), got {image.dtype} {image.shape}")
        if min(image.shape[:2]) < 8:
            return []
        # RapidOCR takes arrays as OpenCV's BGR
        bgr = self._cv2.cvtColor(np.ascontiguousarray(image[..., :3]), self._cv2.COLOR_RGB2BGR)
        with self._lock:
            if self.max_side and max(bgr.shape[:2]) > self.max_side and not self._letterboxed(bgr):
                result = self._detect_small_read_full(bgr)
            else:
                result, _ = self._engine(bgr)
        lines = []
        for points, text, score in result or ():
            text = " ".join(str(text).split())
            score = float(score)
            if score < MIN_CONFIDENCE or sum(ch.isalnum() for ch in text) < MIN_CHARACTERS:
                continue
            pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
            x0, y0 = np.floor(pts.min(axis=0)).astype(int)
            x1, y1 = np.ceil(pts.max(axis=0)).astype(int)
            lines.append(TextLine(text=text, confidence=score, box=(int(x0), int(y0), int(x1 - x0), int(y1 - y0))))
        return lines

    def _letterboxed(self, bgr: np.ndarray) -> bool:
        """Whether RapidOCR would pad this image before detection (very flat or thin strips);
        those go through its own path, which knows how to undo the padding."""
        h, w = bgr.shape[:2]
        ratio = self._engine.width_height_ratio
        return h <= self._engine.min_height or (ratio != -1 and w / h > ratio)

    def _detect_small_read_full(self, bgr: np.ndarray) -> list:
        """RapidOCR's own steps (1.4.4, pinned), with detection on a shrunk copy."""
        cv2, engine = self._cv2, self._engine
        scale = self.max_side / max(bgr.shape[:2])
        small = cv2.resize(bgr, (round(bgr.shape[1] * scale), round(bgr.shape[0] * scale)),
                           interpolation=cv2.INTER_AREA)
        boxes, _ = engine.text_det(small)
        if boxes is None or len(boxes) == 0:
            return []
        boxes = [np.ascontiguousarray(box / scale, dtype=np.float32) for box in engine.sorted_boxes(boxes)]
        crops = engine.get_crop_img_list(bgr, boxes)
        crops, _, _ = engine.text_cls(crops)
        recognised, _ = engine.text_rec(crops)
        return [(box, result[0], result[1]) for box, result in zip(boxes, recognised)]


def screen_text(lines: list[TextLine]) -> str:
    """The lines of one keyframe as the one string the catalog's ScreenText row holds."""
    return "\n".join(line.text for line in lines)


def load_ocr() -> ScreenTextReader:
    """The process's OCR reader, built on first use. Raises OcrMissing when the package is absent."""
    return once(("ocr",), ScreenTextReader)
