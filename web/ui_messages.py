"""Messages other modules write in English (the recommender's reasons, account, admin and query errors,
the visual channel's state) as the pages show them, in the page's language.

Those modules speak to the CLI and the JSON API too, which stay English; a page matches their
messages here and says each in its own words, with the data in it (names, paths, titles) marked as
data. A message not listed here is shown as it came: new English text in those modules needs a line here.
"""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from .i18n import ui_locale
from .ui_display import with_data

# (the English message, the page's sentence); named groups are data, put into the sentence as they are
REASONS = [
    (r"continue watching", _l("continue watching")),
    (r"something different", _l("something different")),
    (r"popular this week", _l("popular this week")),
    (r"new in your library", _l("new in your library")),
    (r"because you liked “(?P<title>.*)”", _l("because you liked %(title)s")),
    (r"because you finished “(?P<title>.*)”", _l("because you finished %(title)s")),
    (r"because you watched “(?P<title>.*)”", _l("because you watched %(title)s")),
    (r"more about (?P<topic>.*)", _l("more about %(topic)s")),
    (r"people who watched “(?P<title>.*)” also watched this", _l("people who watched %(title)s also watched this")),
]
ERRORS = [
    # accounts.AccountError
    (r"a user name is 1 to 64 letters, digits or \. _ @ \+ -, starting with a letter or digit",
     _l("A user name is 1 to 64 letters, digits or . _ @ + -, starting with a letter or digit.")),
    (r"a password has at least (?P<n>\d+) characters", _l("A password has at least %(n)s characters.")),
    (r"a password has at most (?P<n>\d+) characters", _l("A password has at most %(n)s characters.")),
    (r"a name has at most (?P<n>\d+) characters", _l("A name has at most %(n)s characters.")),
    (r"the user name (?P<name>.+) is taken", _l("The user name %(name)s is taken.")),
    (r"(?P<name>.+) is already an account \((?P<username>.+)\)", _l("%(name)s is already the account %(username)s.")),
    (r"this is the last admin: make another admin first", _l("This is the last admin: make another admin first.")),
    (r"name the key \(1 to (?P<n>\d+) characters\), e\.g\. after the script that uses it",
     _l("Name the key (1 to %(n)s characters), e.g. after the script that uses it.")),
    # admin_api.AdminError
    (r"give the path of a folder or video file on the server", _l("Give the path of a folder or video file on the server.")),
    (r"that is not a valid path", _l("That is not a valid path.")),
    (r"give an absolute path \(starting with /\), not '?(?P<path>.*?)'?", _l("Give an absolute path (starting with /), not %(path)s.")),
    (r"no library folders are set: .*", _l("No library folders are set: start the server with REELSCOPE_LIBRARY_ROOTS naming the folders it may index.")),
    (r"(?P<path>.+) is outside the library folders \((?P<roots>.*)\);.*",
     _l("%(path)s is outside the library folders (%(roots)s).")),
    (r"cannot look at (?P<path>.+): (?P<why>.*)", _l("Cannot look at %(path)s: %(why)s.")),
    (r"(?P<path>.+) does not exist on the server", _l("%(path)s does not exist on the server.")),
    (r"the server may not read (?P<path>.+) \(permission denied\)", _l("The server may not read %(path)s (permission denied).")),
    (r"no video files found under (?P<path>.+)", _l("No video files found under %(path)s.")),
    (r"(?P<n>\d+) file\(s\) skipped: they lie outside the library folders, or are links leading out of them",
     _l("%(n)s file(s) skipped: they lie outside the library folders, or are links leading out of them.")),
    # hardening.SignInLimit
    (r"too many failed sign-ins from this address: wait a few minutes and try again",
     _l("Too many failed sign-ins from this address: wait a few minutes and try again.")),
    # search.request.QueryError
    (r"the query is empty .*", _l("The query is empty: give words, or pick an emotion or tag to browse.")),
    (r"the query is longer than (?P<n>\d+) characters", _l("The query is longer than %(n)s characters.")),
    (r"then is empty: .*", _l("“Then” is empty: say what follows, or leave it out.")),
    (r"then is longer than (?P<n>\d+) characters", _l("“Then” is longer than %(n)s characters.")),
    (r"then follows a query \(q\): ignored while browsing by filters", _l("“Then” needs a search to follow: type what comes first in the search box.")),
    # search_api.PictureError
    (r"the image is larger than 8 MB", _l("The picture is larger than 8 MB.")),
    (r"the upload is not an image Pillow can read", _l("The file is not a picture this server can read.")),
]
VISUAL = [
    (r"visual search off: no CLIP weights for (?P<name>[^;]+); run `(?P<pull>[^`]+)` where the hub is reachable, "
     r"or `(?P<load>[^`]+)`",
     _l("visual search off: no CLIP weights for %(name)s; run %(pull)s where the model hub is reachable, or %(load)s")),
    (r"visual search off: (?P<why>.*)", _l("visual search off: %(why)s")),
    (r"visual channel uses a TEST-ONLY random model.*",
     _l("the visual channel uses a random model made for tests only: its results are meaningless")),
    (r"visual search on \((?P<name>.*)\)", _l("visual search on (%(name)s)")),
]
# what the search engine says about a result besides the visual channel's state
NOTICES = [
    (r"no good match: nothing in the library is close to this; these are the nearest moments",
     _l("No good match: nothing in the library is close to this; these are the nearest moments.")),
    (r"no moment where '(?P<then>.*)' follows '(?P<query>.*)' within (?P<within>[\d.]+) s",
     _l("No moment where %(then)s follows %(query)s within %(within)s seconds.")),
    (r"nothing is said or seen there to compare with", _l("Nothing is said or seen there to compare with.")),
    (r"unknown language '(?P<code>[^']*)': give an ISO 639-1 code such as en or zh",
     _l("Unknown language %(code)s: give an ISO 639-1 code such as en or zh.")),
    (r"within goes with then: ignored", _l("A time window goes with “then”: ignored.")),
    (r"to must be later than from: no moment lies between them",
     _l("The end of the time range must be later than its start: no moment lies between them.")),
]
_COMPILED = {id(table): [(re.compile(pattern, re.DOTALL), said) for pattern, said in table]
             for table in (REASONS, ERRORS, VISUAL, NOTICES)}


def _say(table: list, text: str, english: str) -> Markup:
    """In English, the message as the other module wrote it (`english`); else the matching sentence.
    A message not listed is shown as it came, unmarked: untranslated UI shows up, not hidden as data."""
    if ui_locale().language == "en":
        return escape(english)
    for pattern, said in _COMPILED[id(table)]:
        match = pattern.fullmatch(text)
        if match:
            return with_data(str(said), **match.groupdict())
    return escape(english)


def reason(text) -> Markup:
    """One of the recommender's reasons for a pick."""
    return _say(REASONS, str(text), str(text))


def refusal(exc_or_text, english: str | None = None) -> Markup:
    """An account, admin or query error, as a sentence (in English `english`, else the message as it is)."""
    text = str(exc_or_text)
    return _say(ERRORS, text, text if english is None else english)


def visual_state(text) -> Markup:
    """The visual channel's state (models.clip_availability's reason)."""
    return _say(VISUAL, str(text or ""), str(text or ""))


def notice(text) -> Markup:
    """A search result's notice (search.engine's): the visual channel's state, or how good the match is."""
    text = str(text or "")
    said = _say(NOTICES, text, text)
    return said if said != escape(text) else visual_state(text)
