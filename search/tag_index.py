"""Reading tags back: a video's tags for the API, counts per label, and the spans a tag filter lets through."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import distinct, func, select

from catalog import ScreenText, Tag, TagKind, Video, VideoStatus

# Span tags below this confidence do not pass a filter: a 0.2 "joy" is a shrug, not a finding.
FILTER_MIN_CONFIDENCE = 0.35


def _tag_dict(t: Tag) -> dict:
    return {"kind": t.kind, "label": t.label, "confidence": round(t.confidence, 4), "sources": t.sources or {}}


def video_tags(session, video_id: int) -> dict:
    """{summary, segments: {segment id: [...]}, shots: {shot id: [...]}, screen_text: [...]}."""
    by_segment, by_shot = defaultdict(list), defaultdict(list)
    emotions, content, version = [], [], None
    for t in session.scalars(select(Tag).where(Tag.video_id == video_id).order_by(Tag.confidence.desc(), Tag.id)):
        version = t.model_version
        if t.owner_kind == "segment":
            by_segment[t.owner_id].append(_tag_dict(t))
        elif t.owner_kind == "shot":
            by_shot[t.owner_id].append(_tag_dict(t))
        elif t.kind == TagKind.EMOTION:
            emotions.append({"label": t.label, "share": t.confidence,
                             "mean_probability": (t.sources or {}).get("mean_probability")})
        else:
            content.append({"kind": t.kind, "label": t.label, "share": t.confidence})
    texts = [{"keyframe_id": st.keyframe_id, "time": st.time, "text": st.text, "confidence": st.confidence}
             for st in session.scalars(select(ScreenText).where(ScreenText.video_id == video_id)
                                       .order_by(ScreenText.time))]
    summary = {"dominant_emotion": emotions[0]["label"] if emotions else None, "emotions": emotions,
               "content": content, "model_version": version}
    return {"summary": summary, "segments": dict(by_segment), "shots": dict(by_shot), "screen_text": texts}


def tag_counts(session, kind: str | None = None) -> list[dict]:
    """Every label in use: in how many indexed videos, and on how many segments and shots."""
    q = (select(Tag.kind, Tag.label, func.count(distinct(Tag.video_id)),
                func.count(Tag.id).filter(Tag.owner_kind != "video"))
         .join(Video, Video.id == Tag.video_id).where(Video.status == VideoStatus.INDEXED)
         .group_by(Tag.kind, Tag.label))
    if kind:
        q = q.where(Tag.kind == kind)
    rows = session.execute(q).all()
    return sorted(({"kind": k, "label": label, "videos": videos, "spans": int(spans or 0)}
                   for k, label, videos, spans in rows), key=lambda r: (r["kind"], -r["videos"], r["label"]))


@dataclass
class Span:
    video_id: int
    start: float
    end: float
    confidence: float
    label: str


def tagged_spans(session, kind: str | None, labels: list[str], video_ids: list[int] | None = None,
                 min_confidence: float = FILTER_MIN_CONFIDENCE) -> dict[int, list[Span]]:
    """Segments and shots carrying any of `labels` (of `kind`, or any content kind when None), by video."""
    q = select(Tag.video_id, Tag.start, Tag.end, Tag.confidence, Tag.label).where(
        Tag.label.in_(labels), Tag.owner_kind != "video", Tag.confidence >= min_confidence)
    q = q.where(Tag.kind == kind) if kind else q.where(Tag.kind != TagKind.EMOTION)
    if video_ids is not None:
        q = q.where(Tag.video_id.in_(video_ids))
    spans: dict[int, list[Span]] = defaultdict(list)
    for row in session.execute(q):
        spans[row.video_id].append(Span(row.video_id, row.start, row.end, row.confidence, row.label))
    return dict(spans)

