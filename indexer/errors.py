class MediaError(Exception):
    """A file that cannot be indexed; the message is meant for the person who owns the file."""


class Cancelled(Exception):
    """Indexing was asked to stop (Ctrl-C, a cancelled job); nothing of the video was written."""
