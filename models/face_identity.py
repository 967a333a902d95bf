"""Who a face is: dlib's HOG detector finds faces, its 5-point shape aligns them, its ResNet turns each into a
128-d descriptor in which one person's faces lie close together (dlib's own cut: 0.6 Euclidean).

The two .dat files come from the `face_recognition_models` package (CC0 weights). It is located, not imported:
its __init__ imports pkg_resources, which current setuptools no longer ships.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .cache import once

# Detection runs on a copy no longer than this on its long side: HOG cost grows with pixels, and with one
# upsampling step the detector still sees faces down to ~40 px of that copy (6% of the long side).
DETECT_SIDE = 640
# Upsampling once doubles the copy before HOG's 80 px window slides over it: 4x the cost (0.02 -> 0.09 s on
# a 640 px photo here) but faces half as large are found, e.g. the third, smaller face in the group photo.
# A person in a medium shot of a video is that size; 0.1 s per keyframe is affordable.
UPSAMPLE = 1
# Below ~40 px the descriptor stops telling people apart; a share of the short side drops faces in the
# background of a big frame, which are not who the video is about.
MIN_FACE_PIXELS = 40
MIN_FACE_FRACTION = 0.04
# A crowd gives faces nobody will search for and costs a descriptor each: keep the largest.
MAX_FACES_PER_FRAME = 8
# Sharpness is the variance of the Laplacian of the grey face resized to this side, so that it does not
# depend on how large the face is. The real photos here measure 480-4000; the same faces under a Gaussian
# blur of 2% of the face's width 27-88, of 4% 5-14. The bar drops only the heavily blurred (motion, focus
# pulls), whose descriptors drift towards other people's, and keeps soft video frames.
SHARPNESS_SIDE = 64
MIN_SHARPNESS = 25.0
# num_jitters > 1 averages descriptors of randomly shifted chips; 0 and 1 give the same single pass (measured:
# identical). 5 jitters cost 0.5 s a face here (5x) and move a descriptor by up to 0.18, where one person's
# photos lie 0.33-0.53 apart and two people's 0.70 or more: the margin does not need it.
NUM_JITTERS = 0

_PREDICTOR = "shape_predictor_5_face_landmarks.dat"
_DESCRIPTOR = "dlib_face_recognition_resnet_model_v1.dat"


class FaceIdentityMissing(RuntimeError):
    """dlib or the face_recognition_models files are not installed."""


@dataclass(frozen=True)
class FaceFound:
    box: tuple[int, int, int, int]  # left, top, right, bottom in the given image's pixels
    descriptor: np.ndarray  # (128,) float32
    sharpness: float  # variance of the Laplacian at SHARPNESS_SIDE; higher is sharper

    @property
    def size(self) -> int:
        """The box's shorter side, in pixels."""
        return min(self.box[2] - self.box[0], self.box[3] - self.box[1])


def _model_files() -> tuple[Path, Path]:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceIdentityMissing("face identity needs the `face_recognition_models` package (dlib's model files): "
                                  "pip install face_recognition_models==0.3.0")
    folder = Path(list(spec.submodule_search_locations)[0]) / "models"
    files = folder / _PREDICTOR, folder / _DESCRIPTOR
    for f in files:
        if not f.is_file():
            raise FaceIdentityMissing(f"{f} is missing: pip install --force-reinstall face_recognition_models==0.3.0")
    return files


def sharpness(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of a uint8 grey crop, resized to SHARPNESS_SIDE first."""
    if grey.size == 0:
        return 0.0
    small = np.asarray(Image.fromarray(grey).resize((SHARPNESS_SIDE, SHARPNESS_SIDE), Image.BOX), dtype=np.float32)
    lap = (small[:-2, 1:-1] + small[2:, 1:-1] + small[1:-1, :-2] + small[1:-1, 2:] - 4 * small[1:-1, 1:-1])
    return float(lap.var())


def _rgb(image) -> np.ndarray:
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(f"expected a PIL image or an RGB uint8 array (h, w, 3), got {arr.dtype} {arr.shape}")
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    # dlib reads the buffer directly: it must be contiguous RGB
    return np.ascontiguousarray(arr[..., :3])


class FaceIdentity:
    def __init__(self, predictor_path: Path, descriptor_path: Path):
        try:
            import dlib
        except ImportError as exc:
            raise FaceIdentityMissing("face identity needs dlib: pip install dlib-bin==20.0.1.post1") from exc
        self._dlib = dlib
        self._descriptor_path = Path(descriptor_path)
        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(str(predictor_path))
        self._net = dlib.face_recognition_model_v1(str(descriptor_path))
        # dlib's detector, predictor and network keep scratch state in the object: two threads on one
        # of them corrupt each other's results. One lock, not one copy per thread: 31 MB of weights each,
        # and the indexer runs pictures in one thread per file anyway.
        self._lock = threading.Lock()

    @functools.cached_property
    def version(self) -> str:
        """Names the descriptor space: descriptors of two versions must not be compared."""
        digest = hashlib.sha1(self._descriptor_path.read_bytes()).hexdigest()[:12]
        return f"dlib-resnet-v1@{digest}"

    def detect(self, rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Face boxes (left, top, right, bottom) in rgb's pixels, largest first, before the size filter."""
        h, w = rgb.shape[:2]
        scale = min(1.0, DETECT_SIDE / max(h, w))
        small = rgb if scale == 1.0 else np.asarray(
            Image.fromarray(rgb).resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR))
        with self._lock:
            rects = self._detector(small, UPSAMPLE)
        boxes = []
        for r in rects:
            box = (max(0, round(r.left() / scale)), max(0, round(r.top() / scale)),
                   min(w, round((r.right() + 1) / scale)), min(h, round((r.bottom() + 1) / scale)))
            if box[2] > box[0] and box[3] > box[1]:
                boxes.append(box)
        # largest first; position breaks ties so the order never depends on dlib's
        return sorted(boxes, key=lambda b: (-(b[2] - b[0]) * (b[3] - b[1]), b[1], b[0]))

    def find(self, image, max_faces: int = MAX_FACES_PER_FRAME) -> list[FaceFound]:
        """The faces in a PIL image or RGB uint8 array worth recognising: large, sharp, at most max_faces
        (the largest), each with its descriptor. Largest first."""
        rgb = _rgb(image)
        h, w = rgb.shape[:2]
        smallest = max(MIN_FACE_PIXELS, MIN_FACE_FRACTION * min(h, w))
        grey = None
        kept: list[tuple[tuple[int, int, int, int], float]] = []
        for box in self.detect(rgb):
            if len(kept) >= max_faces:
                break
            if min(box[2] - box[0], box[3] - box[1]) < smallest:
                continue
            if grey is None:
                grey = np.asarray(Image.fromarray(rgb).convert("L"))
            sharp = sharpness(grey[box[1]:box[3], box[0]:box[2]])
            if sharp < MIN_SHARPNESS:
                continue
            kept.append((box, sharp))
        if not kept:
            return []
        dlib = self._dlib
        with self._lock:
            shapes = dlib.full_object_detections()
            for box, _ in kept:
                shapes.append(self._shape(rgb, dlib.rectangle(box[0], box[1], box[2] - 1, box[3] - 1)))
            # full size, not the detection copy: the network's 150 px chip is cut from the sharpest pixels
            vectors = self._net.compute_face_descriptor(rgb, shapes, NUM_JITTERS)
        return [FaceFound(box=box, descriptor=np.asarray(v, dtype=np.float32), sharpness=sharp)
                for (box, sharp), v in zip(kept, vectors)]


def load_face_identity() -> FaceIdentity:
    """The process's face-identity model, built on first use. Raises FaceIdentityMissing when it cannot be."""
    return once(("face-identity",), lambda: FaceIdentity(*_model_files()))
