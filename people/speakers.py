"""Who spoke when in one recording, and which of the library's known voices each speaker is.

    result = diarize(audio, [(seg.start, seg.end) for seg in transcript.segments])
    result.turns    # [SpeakerTurn(start, end, speaker)], speaker 0..k-1 in order of first speech
    result.voices   # (k, 256) unit vectors, each speaker's mean voice
    ids = match_voices(result.voices, {person_id: voice_or_voices, ...})   # known id or None each

How: only the speech stretches are heard (the transcript's segments, joined where less than
JOIN_GAP apart, read PIECE_SECONDS at most at a time), as 1.6 s windows every HOP seconds, each
embedded by the GE2E voice encoder (models/voice_identity.py). Windows are grouped by agglomerative
clustering (cosine distance, average linkage) cut at CLUSTER_THRESHOLD, so the number of speakers
comes from the voices, and one speaker stays one; groups with less than MIN_SPEAKER_SECONDS of
speech are folded into the nearest voice (a cough, a laugh, the blur of a change). Every window is
then given its nearest speaker's mean voice, labels are smoothed with a SMOOTH_WINDOWS-wide mode
filter (turns shorter than about half of it are absorbed), and runs of one label become turns,
clipped to the speech stretches. A change inside a Whisper segment is found where the windows'
labels change (resolution: HOP).

Bounded work: a piece of audio is at most PIECE_SECONDS; an hour of speech is ~9000 windows
(9 MB of vectors); clustering sees at most MAX_CLUSTER_WINDOWS of them, spread evenly, and every
window is then assigned to the nearest centroid: linear time beyond that.

Thresholds and their measurements: bench/people_speakers.py and the constants below.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

SAMPLE_RATE = 16_000
DIM = 256
WINDOW = 1.6  # seconds per embedded window (the encoder's partial length)
HOP = 0.4  # seconds between windows: the resolution of a speaker change
PIECE_SECONDS = 60.0  # audio read at most at a time (3.8 MB float32)
JOIN_GAP = 0.5  # speech stretches closer than this are windowed as one (turns stay clipped to each)
# Windows of the whole recording at most; past it (over 2.2 hours of speech at HOP) the hop grows.
MAX_WINDOWS = 20_000
MAX_CLUSTER_WINDOWS = 1_500  # agglomerative clustering is quadratic: it sees at most this many
# One speaker or several: a recording is one voice when its windows' last average-linkage merge
# (cosine distance) is under this. Measured (bench/people_speakers.py, Whisper's segments): single
# real speakers 0.14-0.27, the real two-speaker recordings 0.36 (telephone) and 0.42 (AMI meeting),
# built ones 0.55-0.57. Windows of one speaker: median 0.18-0.31 apart; two speakers: 0.33-0.57.
CLUSTER_THRESHOLD = 0.3
# Several: how many and who by spectral clustering; each row of the affinity keeps its top 20%.
AFFINITY_PERCENTILE = 0.8
MIN_SPEAKER_SECONDS = 2.0  # a group holding less speech than this is not a speaker of its own
SMOOTH_WINDOWS = 5  # mode filter width over consecutive windows (2 s at HOP = 0.4)
# Two voices are one person above this cosine (mean voices over a recording's turns). Measured on
# real-media speech/en: same speaker 0.78-0.83 between 1.5-7.7 s clips (higher with more speech:
# models.md 0.92-0.95), different speakers 0.33-0.72.
MATCH_THRESHOLD = 0.75


@dataclass
class SpeakerTurn:
    start: float
    end: float
    speaker: int  # local to the recording: 0..k-1


@dataclass
class Diarization:
    turns: list[SpeakerTurn] = field(default_factory=list)
    voices: np.ndarray = field(default_factory=lambda: np.zeros((0, DIM), np.float32))  # (k, 256) unit rows
    seconds: list[float] = field(default_factory=list)  # speech seconds per speaker

    @property
    def speakers(self) -> int:
        return len(self.seconds)


# --------------------------------------------------------------------------- stretches and windows


def _clean(speech: Sequence[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    """Sorted, clipped to the track, overlaps merged."""
    out: list[tuple[float, float]] = []
    for a, b in sorted((max(0.0, float(a)), min(duration, float(b))) for a, b in speech):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _joined(stretches: list[tuple[float, float]], gap: float) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in stretches:
        if out and a - out[-1][1] < gap:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _pieces(stretches: list[tuple[float, float]], limit: float) -> list[tuple[float, float]]:
    out = []
    for a, b in stretches:
        n = max(1, int(np.ceil((b - a) / limit - 1e-9)))
        edges = np.linspace(a, b, n + 1)
        out += list(zip(edges[:-1], edges[1:]))
    return out


@dataclass
class _Windows:
    """Embedded windows in time order; cells: the stretch of time each window's label stands for."""
    vectors: np.ndarray  # (n, 256)
    cell_start: np.ndarray  # (n,)
    cell_end: np.ndarray  # (n,)
    piece: np.ndarray  # (n,) index of the piece each window came from (smoothing stays inside one)


def _embed(audio, pieces: list[tuple[float, float]], encoder, hop: float) -> _Windows:
    vectors, starts, ends, owner = [], [], [], []
    for k, (a, b) in enumerate(pieces):
        x = audio.read(a, b)
        offsets, v = encoder.embed_windows(x, hop=hop, window=WINDOW)
        if len(v) == 0:
            continue
        length = x.size / SAMPLE_RATE
        centres = a + np.minimum(offsets + WINDOW / 2, length / 2 if length < WINDOW else np.inf)
        bounds = (centres[1:] + centres[:-1]) / 2
        voiced = ~np.isnan(v).any(axis=1)  # silent windows: no one's, no turn there
        starts.append(np.concatenate([[a], bounds])[voiced])
        ends.append(np.concatenate([bounds, [a + length]])[voiced])
        vectors.append(v[voiced])
        owner.append(np.full(int(voiced.sum()), k))
    if not vectors:
        return _Windows(np.zeros((0, DIM), np.float32), np.zeros(0), np.zeros(0), np.zeros(0, int))
    return _Windows(np.concatenate(vectors), np.concatenate(starts), np.concatenate(ends),
                    np.concatenate(owner))


# --------------------------------------------------------------------------- clustering


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _top_merge(vectors: np.ndarray) -> float:
    """Average-linkage cosine distance at which the last two groups of windows merge."""
    if len(vectors) < 2:
        return 0.0
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import pdist

    return float(linkage(pdist(vectors.astype(np.float64), "cosine"), method="average")[-1, 2])


def _spectral(vectors: np.ndarray, max_k: int) -> np.ndarray:
    """Labels, k >= 2 by the largest eigengap of the refined affinity (Wang et al. 2018, "Speaker
    diarization with LSTM": row-wise thresholding, symmetrise, diffuse, row-max normalise)."""
    from sklearn.cluster import KMeans

    n = len(vectors)
    A = vectors.astype(np.float64) @ vectors.astype(np.float64).T
    np.fill_diagonal(A, 0.0)
    np.fill_diagonal(A, A.max(axis=1))
    keep = max(1, int(round(n * (1 - AFFINITY_PERCENTILE))))
    bar = np.sort(A, axis=1)[:, -keep][:, None]
    A = np.where(A >= bar, A, 0.01 * A)
    A = np.maximum(A, A.T)
    A = A @ A.T
    A = A / A.max(axis=1, keepdims=True)
    A = (A + A.T) / 2
    w, U = np.linalg.eigh(A)
    w, U = w[::-1], U[:, ::-1]
    max_k = max(2, min(max_k, n - 1))
    ratios = w[1:max_k] / np.maximum(w[2:max_k + 1], 1e-9)  # ratios[i]: gap after the (i+2)-th eigenvalue
    k = int(np.argmax(ratios)) + 2 if len(ratios) else 2
    return KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(U[:, :k])


def _centroids(vectors: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    return _unit(np.stack([vectors[labels == c].mean(axis=0) if np.any(labels == c) else np.zeros(DIM)
                           for c in range(k)]))


def _assign(vectors: np.ndarray, cents: np.ndarray) -> np.ndarray:
    return np.argmax(vectors @ cents.T, axis=1)


def cluster_windows(vectors: np.ndarray, seconds_per_window: float, max_speakers: int = 8,
                    threshold: float = CLUSTER_THRESHOLD, min_seconds: float = MIN_SPEAKER_SECONDS,
                    cap: int = MAX_CLUSTER_WINDOWS) -> np.ndarray:
    """Speaker label per window (0..k-1, unordered), k chosen by the threshold, at most max_speakers."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, int)
    vectors = _unit(vectors.astype(np.float32))
    sample = np.unique(np.linspace(0, n - 1, min(n, cap)).round().astype(int))
    if _top_merge(vectors[sample]) < threshold or len(sample) < 4 or max_speakers < 2:
        return np.zeros(n, int)  # one voice throughout
    labels = _spectral(vectors[sample], max_speakers)
    k = int(labels.max()) + 1
    cents = _centroids(vectors[sample], labels, k)
    labels = _assign(vectors, cents)
    # fold groups with too little speech into the rest, smallest first; keep at most max_speakers
    while True:
        sizes = np.bincount(labels, minlength=len(cents)) * seconds_per_window
        alive = np.flatnonzero(sizes > 0)
        if len(alive) < len(cents):  # a group no window is nearest to any more
            cents = cents[alive]
            labels = _assign(vectors, cents)
            continue
        if len(alive) <= 1:
            break
        smallest = alive[np.argmin(sizes[alive])]
        if sizes[smallest] >= min_seconds and len(alive) <= max_speakers:
            break
        cents = np.delete(cents, smallest, axis=0)
        labels = _assign(vectors, cents)
    # a few rounds of nearest-mean refinement over every window
    for _ in range(3):
        k = len(cents)
        new = _centroids(vectors, labels, k)
        relabel = _assign(vectors, new)
        cents = new
        if np.array_equal(relabel, labels):
            break
        labels = relabel
    used = np.unique(labels)
    return np.searchsorted(used, labels)


def _mode_filter(labels: np.ndarray, groups: np.ndarray, width: int) -> np.ndarray:
    """Each label replaced by the most frequent within `width` neighbours of the same group (ties: its own)."""
    if width <= 1 or len(labels) == 0:
        return labels
    out = labels.copy()
    half = width // 2
    k = int(labels.max()) + 1
    for i in range(len(labels)):
        lo, hi = max(0, i - half), min(len(labels), i + half + 1)
        window = labels[lo:hi][groups[lo:hi] == groups[i]]
        counts = np.bincount(window, minlength=k)
        best = counts.max()
        out[i] = labels[i] if counts[labels[i]] == best else int(np.argmax(counts))
    return out


# --------------------------------------------------------------------------- diarize


def diarize(audio, speech: list[tuple[float, float]], max_speakers: int = 8, *, encoder=None,
            threshold: float = CLUSTER_THRESHOLD, smooth: int = SMOOTH_WINDOWS, hop: float = HOP) -> Diarization:
    """Speaker turns of `audio` (`.read(start, end)` float32 16 kHz, `.duration`) within `speech`
    ((start, end) seconds: the transcript's segments), and each speaker's voice."""
    if encoder is None:
        from models.voice_identity import load_voice_encoder

        encoder = load_voice_encoder()
    duration = float(getattr(audio, "duration", np.inf))
    stretches = _clean(speech, duration)
    if not stretches:
        return Diarization()
    total = sum(b - a for a, b in stretches)
    hop = max(hop, total / MAX_WINDOWS)
    pieces = _pieces(_joined(stretches, JOIN_GAP), PIECE_SECONDS)
    w = _embed(audio, pieces, encoder, hop)
    if len(w.vectors) == 0:
        return Diarization()
    labels = cluster_windows(w.vectors, hop, max_speakers, threshold)
    labels = _mode_filter(labels, w.piece, smooth)
    # runs of one label within a piece -> spans
    spans: list[list] = []
    for i in range(len(labels)):
        if spans and spans[-1][2] == labels[i] and abs(w.cell_start[i] - spans[-1][1]) < 1e-6:
            spans[-1][1] = w.cell_end[i]
        else:
            spans.append([w.cell_start[i], w.cell_end[i], int(labels[i])])
    turns = _clip_to(spans, stretches)
    # speakers numbered in order of first speech; a speaker all of whose turns were clipped away is dropped
    order: list[int] = []
    for t in turns:
        if t.speaker not in order:
            order.append(t.speaker)
    remap = {old: new for new, old in enumerate(order)}
    for t in turns:
        t.speaker = remap[t.speaker]
    voices = np.stack([_unit(w.vectors[labels == old].mean(axis=0)) for old in order]).astype(np.float32) \
        if order else np.zeros((0, DIM), np.float32)
    seconds = [0.0] * len(order)
    for t in turns:
        seconds[t.speaker] += t.end - t.start
    return Diarization(turns=turns, voices=voices, seconds=[round(s, 3) for s in seconds])


def _clip_to(spans: list[list], stretches: list[tuple[float, float]]) -> list[SpeakerTurn]:
    """Turns: spans intersected with the speech stretches; a stretch no span reaches (too short to
    embed) goes to the speaker nearest in time; touching turns of one speaker are joined."""
    turns: list[SpeakerTurn] = []
    starts = np.array([s[0] for s in spans])
    ends = np.array([s[1] for s in spans])
    for a, b in stretches:
        hit = np.flatnonzero((starts < b) & (ends > a))
        if len(hit) == 0:
            if b - a >= WINDOW:  # long enough to have been heard: silence, no one's
                continue
            gaps = np.maximum(starts - b, 0) + np.maximum(a - ends, 0)
            pieces = [(a, b, spans[int(np.argmin(gaps))][2])]
        else:
            pieces = [(max(a, spans[i][0]), min(b, spans[i][1]), spans[i][2]) for i in hit]
        for s, e, spk in pieces:
            if e - s <= 1e-6:
                continue
            if turns and turns[-1].speaker == spk and s - turns[-1].end <= 1e-6:
                turns[-1].end = max(turns[-1].end, e)
            else:
                turns.append(SpeakerTurn(round(float(s), 3), round(float(e), 3), int(spk)))
    return turns


# --------------------------------------------------------------------------- across recordings


def match_voices(voices: np.ndarray, known: dict[int, np.ndarray],
                 threshold: float = MATCH_THRESHOLD) -> list[int | None]:
    """For each speaker (row of `voices`), the id of the known speaker with that voice, or None.

    `known`: id -> one voice (256,) or several (m, 256) (a person heard in several recordings);
    similarity to a person is the best cosine over their voices. A pair counts above `threshold`;
    pairs are taken best first, each local speaker and each known id at most once. Ties go to the
    lower local index, then the lower id: the same input always gives the same answer.
    """
    voices = np.asarray(voices, dtype=np.float32).reshape(-1, DIM) if np.size(voices) else np.zeros((0, DIM))
    result: list[int | None] = [None] * len(voices)
    if not len(voices) or not known:
        return result
    ids = sorted(known)
    mine = _unit(voices)
    sims = np.full((len(voices), len(ids)), -np.inf)
    for j, pid in enumerate(ids):
        theirs = _unit(np.asarray(known[pid], dtype=np.float32).reshape(-1, DIM))
        if len(theirs):
            sims[:, j] = (mine @ theirs.T).max(axis=1)
    pairs = sorted(((-float(sims[i, j]), i, ids[j]) for i in range(len(voices)) for j in range(len(ids))
                    if sims[i, j] >= threshold))
    taken: set[int] = set()
    for _, i, pid in pairs:
        if result[i] is None and pid not in taken:
            result[i] = pid
            taken.add(pid)
    return result
