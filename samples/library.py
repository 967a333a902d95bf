"""Ready-made media: the demo library, talk videos of any length, and broken files.

Used by ``reelscope demo`` (a small library to search), by test fixtures and by the benchmarks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from pathlib import Path
from typing import Sequence

import numpy as np

from samples.media import Scene, SampleVideo, make_audio_only, make_video
from samples.speech import Utterance, speech_seconds

# Bumped whenever the bytes generated for the same plan change, so that
# make_sample_library re-encodes files made by an older version.
_GENERATOR_VERSION = 1

# Everyday sentences for the talk video: varied vocabulary so transcripts and
# text search have something to discriminate on.
TALK_SENTENCES = (
    "Good morning, and thank you all for coming along today.",
    "The weather this week has been surprisingly warm for the time of year.",
    "If you water tomato plants in the evening, the leaves stay healthy for longer.",
    "A good night's sleep does more for your memory than an extra hour of study.",
    "Our train was delayed by twenty minutes because of a signal failure near the bridge.",
    "The library on the high street now opens on Sunday afternoons.",
    "Remember to check the tyre pressure before a long drive on the motorway.",
    "She learned to play the violin at the age of forty, and now plays in a small orchestra.",
    "Fresh basil keeps better in a glass of water than in the fridge.",
    "The children built a tree house out of old pallets and a blue tarpaulin.",
    "Most coffee tastes best when the water is just below boiling.",
    "We walked along the coast path and watched the seals on the rocks.",
    "Paying off the credit card each month avoids a surprising amount of interest.",
    "The new bicycle lane has made the school run much safer.",
    "A spoonful of honey in hot water with lemon helps a sore throat.",
    "The museum has a new exhibition about ancient Egyptian jewellery.",
    "My grandmother always said that a tidy kitchen makes for a tidy mind.",
    "Please switch off the lights and close the windows when you leave the office.",
    "The football match went to penalties after a goalless draw.",
    "Mountain hikers should always carry a map, water and a warm jacket.",
    "Our neighbours adopted a rescue dog called Biscuit last spring.",
    "Online banking makes it easy to set up a monthly savings transfer.",
    "The recipe calls for two eggs, a cup of sugar and a pinch of cinnamon.",
    "Traffic in the city centre is much lighter during the school holidays.",
    "He repaired the old radio with a soldering iron and a lot of patience.",
    "The farmers market sells cheese, bread and apples from local orchards.",
    "Stretching for five minutes after running helps prevent sore muscles.",
    "The concert in the park was cancelled because of the thunderstorm.",
    "Learning a few words of the local language makes travelling more fun.",
    "At the end of the day, a short walk outside clears the head.",
)

# Cycled by make_talk_video: alternating colour and grey, bright and dark, so
# every cut changes the picture a lot.
_TALK_PHOTOS = (
    "astronaut", "camera", "coffee", "moon", "chelsea", "gravel", "rocket", "page",
    "hubble_deep_field", "coins", "immunohistochemistry", "brick", "colorwheel",
    "clock", "retina", "grass",
)


def make_talk_video(
    path, minutes: float = 10, size: tuple[int, int] = (1280, 720), cut_every: float = 10.0, fps: int = 25
) -> SampleVideo:
    """A talk-like video: speech throughout and a hard cut every `cut_every` seconds."""
    total = float(minutes) * 60.0
    if total <= 0 or cut_every <= 0:
        raise ValueError("minutes and cut_every must be positive")
    scenes = []
    t = 0.0
    while total - t > 1e-9:
        length = min(cut_every, total - t)
        # A sliver of a shot at the end would be a cut no real editor makes.
        if scenes and length < min(1.0, cut_every / 2):
            scenes[-1] = Scene(scenes[-1].seconds + length, photo=scenes[-1].photo)
        else:
            scenes.append(Scene(length, photo=_TALK_PHOTOS[len(scenes) % len(_TALK_PHOTOS)]))
        t += length
    duration = round(total * fps) / fps

    rng = random.Random(7)
    utterances = []
    t = 0.8
    i = 0
    while True:
        text = TALK_SENTENCES[i % len(TALK_SENTENCES)]
        length = speech_seconds(text)
        if t + length > duration - 0.3:
            break
        utterances.append(Utterance(round(t, 3), text))
        t += length + rng.uniform(0.5, 1.5)
        i += 1
    return make_video(path, scenes, utterances, fps=fps, size=size)


def _lay_out(sentences: Sequence[str], voice: str, first: float = 1.0, pause: float = 1.0) -> list[Utterance]:
    out = []
    t = first
    for text in sentences:
        out.append(Utterance(round(t, 3), text))
        t += speech_seconds(text, voice) + pause
    return out


# The demo library: distinct topics a person might search for, with photos
# that fit as well as skimage.data allows.
DEMO_LIBRARY = (
    (
        "Kneading dough for bread.mp4", "en-us",
        (("coffee",), ((236, 224, 196),), ("brick",), ("gravel",)),
        (
            "Today we are baking a simple loaf of bread at home.",
            "Mix the flour, water, salt and yeast, then knead the dough for ten minutes until it feels smooth.",
            "Let it rise somewhere warm for an hour, and bake it in a hot oven until the crust is golden brown.",
        ),
    ),
    (
        "Saving money on groceries.mp4", "en-gb",
        (("coins",), ("page",), ((46, 125, 50),), ("text",)),
        (
            "Here are three easy ways to spend less at the supermarket.",
            "Write a shopping list before you leave home, and stick to it.",
            "Buy vegetables that are in season, and compare the price per kilo, not the price per pack.",
            "Cooking a big batch on Sunday saves both time and money during the week.",
        ),
    ),
    (
        "Our cat Chelsea.mp4", "en-us",
        (("chelsea",), ("grass",), ((92, 64, 140),), ("cat",)),
        (
            "This is our cat Chelsea, a tabby who loves sleeping in the sun.",
            "Every morning she waits by the kitchen door for her breakfast.",
            "In the afternoon she chases leaves in the garden, and then naps on the sofa.",
        ),
    ),
    (
        "Fusée – a rocket launch.mp4", "en-us",
        (("rocket",), ("moon",), ("hubble_deep_field",), ("astronaut",), ((12, 16, 40),)),
        (
            "The rocket lifted off right on time, just after sunrise.",
            "Within two minutes the boosters separated and fell back towards the ocean.",
            "Later tonight the astronauts will dock with the space station.",
        ),
    ),
)


def _library_plan(entry) -> tuple[str, list[Scene], list[Utterance], str]:
    name, voice, looks, sentences = entry
    utterances = _lay_out(sentences, voice, first=1.5, pause=1.2)
    last_end = utterances[-1].start + speech_seconds(sentences[-1], voice)
    # Lengths follow the speech (so they differ, as real clips do), within 20-40 s.
    total = min(max(20.0, round(last_end + 2.5, 1)), 40.0)
    per_scene = round(total / len(looks), 2)
    scenes = []
    for i, look in enumerate(looks):
        seconds = per_scene if i < len(looks) - 1 else round(total - per_scene * (len(looks) - 1), 2)
        if isinstance(look[0], str):
            scenes.append(Scene(seconds, photo=look[0]))
        else:
            scenes.append(Scene(seconds, colour=look[0]))
    return name, scenes, utterances, voice


def _plan_key(scenes, utterances, **settings) -> str:
    plan = {
        "version": _GENERATOR_VERSION,
        "scenes": [dataclasses.astuple(s) for s in scenes],
        "utterances": [(u.start, u.text) for u in utterances],
        **settings,
    }
    return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()[:16]


def _stored_comment(path: Path) -> dict | None:
    import av

    try:
        with av.open(str(path)) as container:
            return json.loads(container.metadata.get("comment", ""))
    except (av.FFmpegError, ValueError, OSError):
        return None


def make_sample_library(folder) -> list[SampleVideo]:
    """The demo library: four short 640x360 videos on distinct topics, with speech.

    Idempotent: a file whose stored plan matches is kept, not re-encoded.
    """
    folder = Path(folder)
    fps, size = 25, (640, 360)
    videos = []
    for entry in DEMO_LIBRARY:
        name, scenes, utterances, voice = _library_plan(entry)
        path = folder / name
        key = _plan_key(scenes, utterances, fps=fps, size=size, voice=voice)
        stored = _stored_comment(path) if path.exists() else None
        if stored and stored.get("reelscope_sample") == key and len(stored.get("ends", ())) == len(utterances):
            bounds = np.cumsum([0.0] + [s.seconds for s in scenes])
            frames = [round(b * fps) for b in bounds]
            videos.append(SampleVideo(
                path=path,
                duration=frames[-1] / fps,
                fps=fps,
                cuts=[f / fps for f in frames[1:-1]],
                utterances=[dataclasses.replace(u, end=e) for u, e in zip(utterances, stored["ends"])],
                has_audio=True,
            ))
            continue
        # The ends are only known after synthesis, and belong with the file:
        # encode once to learn them, then store them in the comment tag.
        ends = [u.start + speech_seconds(u.text, voice) for u in utterances]
        comment = json.dumps({"reelscope_sample": key, "ends": ends})
        videos.append(make_video(path, scenes, utterances, fps=fps, size=size, voice=voice, comment=comment))
    return videos


def make_bad_files(folder) -> dict[str, Path]:
    """Small files that break in the ways real libraries do, keyed by what is wrong."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    size = (320, 180)
    speech = [Utterance(0.5, "This recording is only a short test.")]
    scenes = [Scene(2.0, photo="astronaut"), Scene(2.0, photo="coffee"), Scene(2.0, colour=(30, 60, 150))]
    files: dict[str, Path] = {}

    truncated = folder / "truncated.mp4"
    make_video(truncated, scenes, speech, size=size)
    data = truncated.read_bytes()
    truncated.write_bytes(data[: int(len(data) * 0.4)])
    files["truncated"] = truncated

    files["not_video"] = folder / "not_video.mp4"
    files["not_video"].write_text("This is a text file pretending to be a video.\n", encoding="utf-8")

    files["zero_length"] = folder / "zero_length.mp4"
    files["zero_length"].write_bytes(b"")

    files["no_audio"] = make_video(folder / "no_audio.mp4", scenes, size=size, audio=False).path
    files["silent"] = make_video(folder / "silent.mp4", scenes, size=size).path
    files["audio_only"] = make_audio_only(folder / "audio_only.m4a", speech, 4.0)
    files["odd_name"] = make_video(folder / "Réunion d'équipe – 2026 (1).mp4", scenes, speech, size=size).path
    return files
