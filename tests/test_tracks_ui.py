"""The watch and library pages for audio-only items and for videos with several text tracks, in a
real browser (the browser, page and screenshot set-up of tests/test_ui.py, over rows written directly:
no models run)."""
from __future__ import annotations

import threading

import pytest

from catalog import Catalog, upgrade
from tests.conftest import make_settings
from tests.test_ui import _screenshot, browser, page, shots, wait_for  # noqa: F401 - fixtures, used by name
from tests.tracks_library import (FILM_FRENCH, FILM_GERMAN, FILM_SPEECH, FILM_WARNING, PODCAST_SPEECH,
                                  SILENT_ENGLISH, add_tracks_library)

TRACKS = """() => Array.from(document.querySelectorAll('#player track')).map((el, i) => ({
    label: el.label, srclang: el.srclang, key: el.dataset.key,
    mode: document.getElementById('player').textTracks[i].mode }))"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The track rows with real media files, served by waitress like tests/test_ui.py serves its library."""
    from waitress.server import create_server

    from web import create_app

    settings = make_settings(tmp_path_factory.mktemp("tracks-ui") / "data")
    upgrade(settings.catalog_url)
    catalog = Catalog(settings.catalog_url)
    ids = add_tracks_library(catalog, settings, media=True)
    app = create_app(settings)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.effective_port}", "settings": settings, "ids": ids, "catalog": catalog}
    server.close()
    catalog.dispose()


def _ready(page):
    wait_for(page, "document.getElementById('player').readyState >= 1", timeout=15000)


def _lines(page) -> list[str]:
    return [t.inner_text() for t in page.locator("#transcript .text").all()]


def test_an_audio_item_plays_in_an_audio_element_under_its_picture(page, served, shots):
    podcast = served["ids"]["podcast"]
    page.goto(f"/watch/{podcast}?t=2.5")
    assert page.locator("audio#player").count() == 1 and page.locator("video").count() == 0
    _ready(page)
    assert abs(page.evaluate("document.getElementById('player').currentTime") - 2.5) < 0.5  # ?t= still starts there
    art = page.locator(".audio-art img")
    art.wait_for()
    wait_for(page, "img => img.complete && img.naturalWidth > 0", arg=art.element_handle())
    # the picture sits above the controls
    assert art.bounding_box()["y"] + art.bounding_box()["height"] <= page.locator("audio#player").bounding_box()["y"] + 1
    assert page.evaluate(TRACKS) == [{"label": "Speech (transcribed)", "srclang": "en", "key": "speech",
                                      "mode": "showing"}]
    assert page.locator("#transcript-track").count() == 0  # one track: nothing to pick
    assert page.locator(".shots").count() == 0  # its one keyframe is the picture, not a shot
    assert "audio" in page.locator(".title-row .meta").first.inner_text()
    assert page.locator(".audio-track").count() == 0  # a single audio stream: no choice worth telling
    assert _lines(page) == PODCAST_SPEECH

    line = page.locator("#transcript button").nth(2)
    start = float(line.get_attribute("data-t"))
    line.click()
    wait_for(page, "t => Math.abs(document.getElementById('player').currentTime - t) < 1.5", arg=start)
    wait_for(page, "el => el.getAttribute('aria-current') === 'true'", arg=line.element_handle())
    assert page.locator("#caption").inner_text() == PODCAST_SPEECH[2]  # the line being said, under the picture
    _screenshot(page, shots / "watch-audio.png")


def test_a_video_offers_each_text_track_and_the_transcript_switches(page, served, shots):
    page.goto(f"/watch/{served['ids']['film']}")
    _ready(page)
    assert page.evaluate(TRACKS) == [
        {"label": "Speech (transcribed)", "srclang": "en", "key": "speech", "mode": "showing"},
        {"label": "Français", "srclang": "fr", "key": "embedded:3", "mode": "disabled"},
        {"label": "Deutsch (film.de.srt)", "srclang": "de", "key": "sidecar:film.de.srt", "mode": "disabled"}]
    assert page.locator(".audio-track").inner_text() == "Audio: track 2 of 2 · English · default-flagged"
    notes = page.locator(".notes").inner_text()
    assert FILM_WARNING in notes and "embedded:4 (Japanese) was not read" in notes
    assert _lines(page) == FILM_SPEECH

    picker = page.get_by_label("Track")
    assert [o.inner_text() for o in picker.locator("option").all()] == [
        "Speech (transcribed)", "Français", "Deutsch (film.de.srt)"]
    picker.select_option("sidecar:film.de.srt")
    assert _lines(page) == FILM_GERMAN  # line break kept, markup shown as text
    assert page.locator("#transcript b").count() == 0
    assert page.locator("#transcript").get_attribute("lang") == "de"
    # the player's subtitles follow the panel while they are on
    modes = [t["mode"] for t in page.evaluate(TRACKS)]
    assert modes == ["disabled", "disabled", "showing"], modes
    wait_for(page, "document.getElementById('player').textTracks[2].cues?.length === 2", timeout=10000)

    line = page.locator("#transcript button").nth(1)
    start = float(line.get_attribute("data-t"))
    line.click()
    wait_for(page, "t => Math.abs(document.getElementById('player').currentTime - t) < 1.5", arg=start)
    wait_for(page, "el => el.getAttribute('aria-current') === 'true'", arg=line.element_handle())
    wait_for(page, """() => { const c = document.getElementById('player').textTracks[2].activeCues;
        return c && Array.from(c).some(cue => cue.text.includes('mittags')); }""", timeout=10000)
    _screenshot(page, shots / "watch-tracks.png")

    # captions off: switching the panel leaves them off
    page.evaluate("Array.from(document.getElementById('player').textTracks).forEach(t => t.mode = 'disabled')")
    picker.select_option("embedded:3")
    assert _lines(page) == FILM_FRENCH
    assert {t["mode"] for t in page.evaluate(TRACKS)} == {"disabled"}


def test_without_speech_the_first_subtitle_track_is_shown(page, served):
    page.goto(f"/watch/{served['ids']['silent film']}")
    _ready(page)
    assert page.evaluate(TRACKS) == [{"label": "English (silent film.en.srt)", "srclang": "en",
                                      "key": "sidecar:silent film.en.srt", "mode": "showing"}]
    assert _lines(page) == SILENT_ENGLISH


def test_the_library_marks_audio_items_and_lists_skipped_tracks_and_warnings(page, served, shots):
    page.goto("/library")
    rows = {r.locator("td:nth-child(2) > a").inner_text(): r for r in page.locator("table.library tbody tr").all()}
    assert rows["Bread podcast"].locator(".badge.kind-audio").inner_text() == "audio"
    assert rows["Film with subtitles"].locator(".badge.kind-audio").count() == 0
    film = rows["Film with subtitles"].inner_text()
    assert FILM_WARNING in film and "Skipped track embedded:4 (Japanese): picture-based subtitles" in film
    assert rows["Old talk"].locator(".note").count() == 0
    _screenshot(page, shots / "library-tracks.png")


def test_the_pages_label_every_control(page, served):
    for name in ("film", "podcast"):
        page.goto(f"/watch/{served['ids'][name]}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("Array.from(document.images).filter(i => !i.hasAttribute('alt')).length") == 0
        unlabelled = page.evaluate("""() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, button'))
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.innerText.trim())
            .map(el => el.outerHTML)""")
        assert unlabelled == [], (name, unlabelled)


def test_the_audio_page_fits_a_phone_in_the_dark(browser, served, shots):  # noqa: F811 - the imported fixture
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark",
                                  base_url=served["url"], is_mobile=True, has_touch=True)
    page = context.new_page()
    for name in ("podcast", "film"):
        page.goto(f"/watch/{served['ids'][name]}")
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} is wider than a phone by {overflow}px"
        _screenshot(page, shots / f"phone-dark-watch-{name}.png")
    context.close()
