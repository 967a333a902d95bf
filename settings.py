"""Configuration from the environment (REELSCOPE_*), with defaults that need no setup.

Read once per process through `get_settings()`; tests build their own `Settings`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ENV_PREFIX = "REELSCOPE_"


def _env(name: str, default: str) -> str:
    return os.environ.get(ENV_PREFIX + name, default)


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "reelscope"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(_env("DATA_DIR", str(_default_data_dir()))).expanduser())
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", ""))
    # "auto" picks CUDA when torch sees a GPU, else the CPU
    device: str = field(default_factory=lambda: _env("DEVICE", "auto"))
    speech_model: str = field(default_factory=lambda: _env("SPEECH_MODEL", "whisper-base"))
    # No one model wins both ways (bench/RESULTS.md, "Multilingual search"): MiniLM is better on English
    # paraphrases, three times faster to encode a query and its scores separate matches from misses
    # better; multilingual-e5 (4-bit, packaged) puts English and Chinese in one space, so a query in
    # one finds what was said in the other. The default stays MiniLM until both can be fused.
    text_model: str = field(default_factory=lambda: _env("TEXT_MODEL", "all-MiniLM-L6-v2"))
    clip_model: str = field(default_factory=lambda: _env("CLIP_MODEL", "ViT-B-32/laion2b_s34b_b79k"))
    # a long shot still gets a keyframe at least this often, so no stretch of video goes unseen; 10 s
    # matches most encoders' keyframe spacing, so typical files need no extra decoding for it
    keyframe_interval: float = field(default_factory=lambda: float(_env("KEYFRAME_INTERVAL", "10")))
    # of a file's audio tracks, the one in this language is heard when none is flagged default ("en", "zh", "deu")
    audio_language: str = field(default_factory=lambda: _env("AUDIO_LANGUAGE", ""))
    admin_token: str = field(default_factory=lambda: _env("ADMIN_TOKEN", ""))
    broker_url: str = field(default_factory=lambda: _env("BROKER_URL", ""))
    # on-screen text (OCR) costs 0.15-0.4 s per keyframe; "0" turns it off
    read_screen_text: bool = field(default_factory=lambda: _env("SCREEN_TEXT", "1") not in ("0", "false", "no"))
    # people: faces grouped into people, voices into speakers; "0" turns recognition off (nothing of it is
    # computed or stored; what was found before stays until a re-index or `people` is asked to forget it)
    people: bool = field(default_factory=lambda: _env("PEOPLE", "1") not in ("0", "false", "no"))
    # a JSON file of CLIP zero-shot prompts (scenes, objects, safety, moods) replacing the packaged
    # search/tag_vocabulary.json; empty = the packaged one
    tag_vocabulary: str = field(default_factory=lambda: _env("TAG_VOCABULARY", ""))
    # who is asking: "password" (accounts that sign in here) or "proxy" (an auth proxy in front names the
    # user in `auth_header`, believed only from the addresses in `trusted_proxies`)
    auth: str = field(default_factory=lambda: _env("AUTH", "password"))
    auth_header: str = field(default_factory=lambda: _env("AUTH_HEADER", "Remote-User"))
    trusted_proxies: str = field(default_factory=lambda: _env("TRUSTED_PROXIES", "127.0.0.1,::1"))
    # "1": the library itself (search, videos, pictures, media, status) answers only signed-in users;
    # by default anyone who reaches the server may search and watch, and only their own data is private
    sign_in_required: bool = field(default_factory=lambda: _env("SIGN_IN_REQUIRED", "0") in ("1", "true", "yes"))
    # the folders (os.pathsep between them) an admin may index from the web; empty: the folders already indexed
    library_roots: str = field(default_factory=lambda: _env("LIBRARY_ROOTS", ""))
    # sign-in attempts one address may make (Flask-Limiter notation); where the counts live ("memory://",
    # or a redis:// URL shared by every serving process)
    signin_limit: str = field(default_factory=lambda: _env("SIGNIN_LIMIT", "10 per minute;100 per hour"))
    rate_limit_storage: str = field(default_factory=lambda: _env("RATE_LIMIT_STORAGE", "memory://"))
    host: str = field(default_factory=lambda: _env("HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(_env("PORT", "8000")))

    @property
    def catalog_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'catalog.sqlite3'}"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def thumbnails_dir(self) -> Path:
        return self.data_dir / "thumbnails"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
