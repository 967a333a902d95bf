"""The web UI in a real browser (Debian Chromium through Playwright) against the served app.

Every page is also saved as a screenshot under this module's tmp dir (printed at the end), to be
looked at by a person: passing tests do not prove a page looks finished.
"""
from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from catalog import Catalog, Event
from tests.conftest import PASSWORD, make_account, service_missing

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKEN = "ui-admin-token"
SPOKEN = "knead the dough for ten minutes"


@pytest.fixture(scope="module")
def served(search_library, tmp_path_factory):
    """The indexed sample library, copied (this module writes users, events and jobs), served by waitress."""
    from waitress.server import create_server

    from web import create_app

    settings, videos, ids = search_library
    data = tmp_path_factory.mktemp("ui") / "data"
    shutil.copytree(settings.data_dir, data, ignore=shutil.ignore_patterns("models", "secret_key"))
    (data / "models").symlink_to(settings.models_dir)
    # the admin test indexes a folder of its own tmp dir: every tmp dir of this run is a library root
    own = replace(settings, data_dir=data, admin_token=TOKEN, library_roots=str(tmp_path_factory.getbasetemp()))
    app = create_app(own)
    app.extensions["engine"].warm()
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.effective_port}", "settings": own, "videos": videos, "ids": ids,
           "catalog": Catalog(own.catalog_url)}
    server.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        service_missing(f"{CHROMIUM} missing: `make system-deps` installs it (apt package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("screenshots")
    yield folder
    print(f"\nUI screenshots: {folder}")


@pytest.fixture
def page(browser, served):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=served["url"])
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    assert not page.errors, page.errors  # no script on any page may throw
    context.close()


def wait_for(page, expression: str, arg=None, timeout: float = 30000):
    """page.wait_for_function, by polling page.evaluate: Playwright's own waiting evaluates its
    predicate with eval(), which the pages' Content-Security-Policy rightly refuses."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout / 1000:.0f} s: {expression}")
        time.sleep(0.05)


def _screenshot(page, path):
    """Full page, with every lazy image scrolled into view and loaded first."""
    page.evaluate("""async () => {
        for (let y = 0; y < document.body.scrollHeight; y += window.innerHeight / 2) {
            window.scrollTo(0, y); await new Promise(r => setTimeout(r, 30)); }
        window.scrollTo(0, 0);
        // hidden lazy images never load: wait for the visible ones, and never for long
        const pending = Array.from(document.images).filter(i => !i.complete && i.offsetParent !== null)
            .map(i => new Promise(r => { i.addEventListener("load", r); i.addEventListener("error", r); }));
        await Promise.race([Promise.all(pending), new Promise(r => setTimeout(r, 3000))]);
    }""")
    page.screenshot(path=path, full_page=True)


def _player(page) -> dict:
    return page.evaluate("""() => { const v = document.getElementById('player'), tr = v.textTracks[0];
        const cues = tr && tr.activeCues ? Array.from(tr.activeCues).map(c => c.text) : [];
        return {time: v.currentTime, ready: v.readyState, cues, mode: tr ? tr.mode : null}; }""")


def _wait_for_cue(page):
    wait_for(page, """() => { const v = document.getElementById('player');
        return v && v.readyState >= 1 && v.textTracks[0] && v.textTracks[0].activeCues
               && v.textTracks[0].activeCues.length > 0; }""", timeout=15000)


def _sign_in(page, served, name):
    """A new account, signed in through the sign-in form."""
    make_account(served["catalog"], name)
    page.goto("/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert page.locator(".who").inner_text().strip().endswith(name)


def test_search_a_spoken_phrase_then_play_from_the_moment(page, served, shots):
    page.goto("/")
    assert "Visual search is off" in page.locator(".notice").inner_text()  # no CLIP weights in tests
    assert page.locator(".recent .card").count() == 4  # the empty state shows the library, not a blank page
    _screenshot(page, shots / "search-empty.png")

    page.locator("#q").fill(SPOKEN)  # instant: no submit
    first = page.locator(".moment-link").first
    first.wait_for()
    assert "q=knead+the+dough" in page.url  # the URL follows the query
    assert first.locator(".title").inner_text() == "Kneading dough for bread"
    assert page.locator(".moment").first.locator("mark").count() >= 2  # matched words marked
    _screenshot(page, shots / "search-results.png")

    moment = float(first.get_attribute("href").split("t=")[1])
    first.click()
    page.wait_for_url("**/watch/**")
    _wait_for_cue(page)
    state = _player(page)
    assert abs(state["time"] - moment) <= 2.0, (state, moment)
    assert state["mode"] == "showing" and "knead" in " ".join(state["cues"]).lower()
    page.wait_for_timeout(300)  # thumbnails and similar videos finish loading
    _screenshot(page, shots / "watch.png")

    page.go_back()  # back to the same search, results and all
    page.wait_for_url("**/?q=*")
    assert page.locator("#q").input_value() == SPOKEN
    assert page.locator(".moment-link").count() > 0


def test_an_off_topic_search_says_no_good_match_and_offers_the_nearest(page, served, shots):
    page.goto("/")
    page.locator("#q").fill("a volcano erupting in iceland")
    page.locator("[data-state=no-good-match]").wait_for()
    assert "No good match" in page.locator("[data-state=no-good-match]").inner_text()
    assert page.locator(".moment").count() > 0  # the nearest moments are still offered
    assert page.locator("[data-state=less-related]").count() == 0  # no divider: nothing above it
    _screenshot(page, shots / "search-no-good-match.png")
    page.locator("#q").fill(SPOKEN)
    wait_for(page, "() => !document.querySelector('[data-state=no-good-match]') && "
                   "document.querySelectorAll('.moment').length > 0")
    # the sure match first; the rest, if any, under "Less related"
    assert page.locator(".moment .title").first.inner_text() == "Kneading dough for bread"
    cards = page.locator("#moments > li")
    classes = [cards.nth(i).get_attribute("class") for i in range(cards.count())]
    assert classes[0].startswith("card")
    if "divider" in classes:
        assert classes.count("divider") == 1


def test_more_like_this_moment_from_a_hit(page, served):
    page.goto("/?q=" + urllib.parse.quote(SPOKEN))
    page.locator(".moment .more-like").first.click()
    page.wait_for_url("**like=*")
    assert "More like" in page.locator(".like-head").inner_text()
    assert "Kneading dough for bread" in page.locator(".like-head").inner_text()


def test_transcript_and_shots_seek_and_the_transcript_follows(page, served):
    video_id = served["ids"]["Saving money on groceries"]
    page.goto(f"/watch/{video_id}")
    wait_for(page, "document.getElementById('player').readyState >= 1")
    segments = page.locator("#transcript button")
    assert segments.count() >= 3
    target = segments.nth(2)
    start = float(target.get_attribute("data-t"))
    target.click()
    _wait_for_cue(page)
    state = _player(page)
    assert start - 0.1 <= state["time"] <= start + 2.0, (state, start)
    wait_for(page, "el => el.getAttribute('aria-current') === 'true'", arg=target.element_handle())
    assert segments.nth(0).get_attribute("aria-current") is None

    shot = page.locator(".shots button").last
    shot_time = float(shot.get_attribute("data-t"))
    shot.click()
    wait_for(page, "t => Math.abs(document.getElementById('player').currentTime - t) < 2", arg=shot_time)


def test_a_script_in_the_query_is_shown_as_text(page, served, shots):
    attack = '<script>alert("boom")</script>'
    page.goto("/?" + urllib.parse.urlencode({"q": attack}))
    assert page.locator("#q").input_value() == attack
    assert attack in page.locator("#results").inner_text()  # quoted back, as text
    assert page.locator("#results script").count() == 0
    page.goto("/?" + urllib.parse.urlencode({"q": attack + " zzyzx", "mode": "keyword"}))
    assert page.locator("[data-state=no-results]").inner_text().startswith(f"No moments match “{attack} zzyzx”")
    _screenshot(page, shots / "search-no-results.png")
    page.locator("#q").fill('<img src=x onerror="alert(1)"> dough')  # through the instant path too
    wait_for(page, "() => document.querySelector('#results').innerText.includes('onerror')"
                           " || document.querySelectorAll('.moment').length > 0")
    assert page.locator("#results img[src='x']").count() == 0
    page.wait_for_timeout(300)
    assert page.dialogs == []


def test_keyboard_slash_focuses_search_and_arrows_reach_results(page, served):
    page.goto(f"/watch/{served['ids']['Our cat Chelsea']}")
    page.keyboard.press("/")  # from any page: to the search page
    page.wait_for_url(served["url"] + "/")
    page.locator("body").click()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("a tabby cat asleep in the sun")
    page.locator(".moment-link").first.wait_for()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.classList.contains('moment-link')")
    page.keyboard.press("Enter")
    page.wait_for_url("**/watch/**")
    assert page.locator("h1").inner_text() == "Our cat Chelsea"


def test_playback_sends_view_progress_and_complete_for_the_user(page, served):
    _sign_in(page, served, "ada")
    video_id = served["ids"]["Fusée – a rocket launch"]
    page.goto(f"/watch/{video_id}")
    wait_for(page, "document.getElementById('player').readyState >= 1")
    duration = page.evaluate("document.getElementById('player').duration")
    page.evaluate("t => { const v = document.getElementById('player'); v.currentTime = t; v.play(); }", duration - 3)
    wait_for(page, "document.getElementById('player').ended", timeout=20000)
    with served["catalog"].session() as s:
        deadline = time.monotonic() + 5
        while True:
            events = s.execute(select(Event.type, Event.watch_seconds, Event.position)
                               .where(Event.video_id == video_id)).all()
            kinds = [e.type for e in events]
            if {"view", "progress", "complete"} <= set(kinds) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
            s.expire_all()
    assert {"view", "progress", "complete"} <= set(kinds), kinds
    watched = sum(e.watch_seconds or 0 for e in events if e.type == "progress")
    assert 1.5 <= watched <= 4.0, events  # the last ~3 s, not the whole video


def test_state_changing_posts_need_the_csrf_token(page, served):
    page.goto("/login")
    forged = page.request.post(served["url"] + "/login", form={"username": "mallory", "password": PASSWORD})
    assert forged.status == 400 and "reload the page" in forged.text()
    event = page.request.post(served["url"] + "/ui/events", data=json.dumps({"type": "view", "video_id": 1}),
                              headers={"Content-Type": "application/json"})
    assert event.status == 400


def test_a_like_changes_the_viewers_own_feed_and_no_one_elses(page, served, shots):
    _sign_in(page, served, "grace")
    page.goto("/for-you")
    before = [c.get_attribute("data-video-id") for c in page.locator("#feed .card").all()]
    liked = served["ids"]["Our cat Chelsea"]
    page.goto(f"/watch/{liked}")
    page.get_by_role("button", name="Like", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="Like", exact=True).get_attribute("aria-pressed") == "true"
    page.goto("/for-you")
    after = [c.get_attribute("data-video-id") for c in page.locator("#feed .card").all()]
    assert after and after != before, (before, after)
    print("feed before", before, "after", after, [r.inner_text() for r in page.locator("#feed .reasons").all()])
    _screenshot(page, shots / "for-you.png")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    page.goto("/for-you")
    assert "/login" in page.url  # signed out: no feed for whoever uses this browser next
    _sign_in(page, served, "heidi")
    page.goto("/for-you")
    theirs = [c.get_attribute("data-video-id") for c in page.locator("#feed .card").all()]
    assert theirs == before, (theirs, before)  # Grace's like shapes only Grace's feed
    page.goto(f"/watch/{liked}")
    assert page.get_by_role("button", name="Like", exact=True).get_attribute("aria-pressed") != "true"
    own_history = page.request.get(served["url"] + "/api/v1/me/export").json()["events"]
    assert own_history == []
    page.goto("/me")
    _screenshot(page, shots / "account.png")


def test_library_lists_every_video_with_its_status(page, served, shots):
    page.goto("/library")
    rows = page.locator("table.library tbody tr")
    assert rows.count() == 4
    assert page.locator("table.library .status.indexed").count() == 4
    page.get_by_role("link", name="Title").click()
    # read the sorted page, not the one the click leaves (that raced: rows of the old page, then no body)
    page.wait_for_url("**/library?sort=title*")
    titles = [t.inner_text() for t in page.locator("table.library tbody td:nth-child(2) > a").all()]
    assert titles == sorted(titles, key=str.lower) or titles == sorted(titles)
    _screenshot(page, shots / "library.png")


def test_admin_indexes_a_folder_and_shows_job_progress_live(page, served, shots, tmp_path):
    import samples

    page.goto("/admin")
    page.get_by_label("Or the admin token").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    assert "not the admin token" in page.locator(".flash").inner_text()
    page.get_by_label("Or the admin token").fill(TOKEN)
    page.get_by_role("button", name="Log in").click()

    folder = tmp_path / "new"
    samples.make_video(folder / "night sky.mp4", [samples.Scene(1.5, photo="moon"), samples.Scene(1.5, photo="rocket")],
                       audio=False, size=(320, 180))
    (folder / "broken.mp4").write_text("not a video\n")
    page.get_by_label("Add a folder or file").fill(str(folder))
    page.get_by_role("button", name="Index", exact=True).click()
    assert "Queued 2 file(s)" in page.locator(".flash").inner_text()
    page.locator("tr.job.status-done").first.wait_for(timeout=60000)
    page.locator("tr.job.status-failed").first.wait_for(timeout=60000)
    failed = page.locator("tr.job.status-failed").first.inner_text()
    assert "broken.mp4" in failed
    done = page.locator("tr.job.status-done").first
    assert done.locator("progress").get_attribute("value") == "1.0" and "100%" in done.inner_text()
    _screenshot(page, shots / "admin.png")

    # a job started elsewhere (the JSON API) appears on the open page by itself
    page.evaluate("window.stillTheSamePage = true")
    request = urllib.request.Request(served["url"] + "/api/v1/admin/index", method="POST",
                                     data=json.dumps({"path": str(folder / "night sky.mp4"), "force": True}).encode(),
                                     headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        job_id = json.load(response)["jobs"][0]
    page.locator(f'tr.job[data-job-id="{job_id}"]').wait_for(timeout=10000)
    page.locator(f'tr.job.status-done[data-job-id="{job_id}"]').wait_for(timeout=60000)
    assert page.evaluate("window.stillTheSamePage") is True

    page.goto("/library?sort=status")
    assert page.locator("table.library .status.failed").count() == 1
    assert page.locator("table.library tr.status-failed .error").inner_text()  # the reason, shown
    _screenshot(page, shots / "library-with-failure.png")


def test_pages_fit_a_phone_and_follow_a_dark_system_theme(browser, served, shots):
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark",
                                  base_url=served["url"], is_mobile=True, has_touch=True)
    page = context.new_page()
    light = browser.new_context(color_scheme="light", base_url=served["url"]).new_page()
    for name, path in (("search", "/?q=" + urllib.parse.quote(SPOKEN)),
                       ("watch", f"/watch/{served['ids']['Kneading dough for bread']}?t=5"),
                       ("library", "/library"), ("admin", "/admin"), ("sign-in", "/login"), ("for-you", "/for-you")):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} is wider than a phone by {overflow}px"
        _screenshot(page, shots / f"phone-dark-{name}.png")
    light.goto("/")
    background = "getComputedStyle(document.body).backgroundColor"
    assert page.evaluate(background) != light.evaluate(background)
    context.close()
    light.context.close()


def test_every_image_has_alt_text_and_every_control_a_label(page, served):
    for path in ("/", "/?q=bread", f"/watch/{served['ids']['Kneading dough for bread']}", "/library", "/me", "/admin"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        missing_alt = page.evaluate("Array.from(document.images).filter(i => !i.hasAttribute('alt')).length")
        assert missing_alt == 0, path
        unlabelled = page.evaluate("""() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, button'))
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.innerText.trim())
            .map(el => el.outerHTML)""")
        assert unlabelled == [], (path, unlabelled)
