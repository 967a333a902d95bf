"""Files that appear whole or not at all: written beside their final name, then renamed over it."""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replaced_when_done(path: Path, suffix: str = "") -> Iterator[Path]:
    """A new hidden file beside `path` that replaces it when the block ends without an error and is
    removed when it does not, so a reader (or the next start after a crash or a full disk) sees the
    old file or the whole new one. `suffix` keeps an extension that a writer looks at (np.savez)."""
    fd, tmp = tempfile.mkstemp(dir=Path(path).parent, prefix=f".{Path(path).name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
