"""The pages in English and Simplified Chinese: chosen by Accept-Language or the header's switch (which
is remembered), dates and numbers written the reader's way, and no English left in the Chinese UI.

The browser test reads every page as a Chinese reader's Chromium shows it and lists each English word
left in the text and in the controls' labels. What is data, not UI (titles, transcripts, user names,
file names, commands), is marked translate="no" in the templates, and only that is left out.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import timezone

import pytest

from catalog import User
from tests.conftest import PASSWORD, make_account, session_csrf, sign_in
from tests.test_ui import _screenshot, browser, served, shots, wait_for  # noqa: F401 (fixtures, shared with the UI tests)

CJK = re.compile(r"[\u4e00-\u9fff]")
CHINESE_WRITING = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")  # with Chinese punctuation


@pytest.fixture
def app(empty_catalog):
    from web import create_app

    settings, catalog = empty_catalog
    return create_app(settings)


def _page(client, path: str, accept: str | None = None) -> str:
    headers = {"Accept-Language": accept} if accept else {}
    response = client.get(path, headers=headers)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def test_accept_language_picks_chinese_or_english(app):
    client = app.test_client()
    for accept in ("zh-CN", "zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans", "zh-TW", "zh", "fr-FR, zh;q=0.5"):
        body = _page(client, "/login", accept)
        assert '<html lang="zh-Hans">' in body, accept
        assert "<h1>登录</h1>" in body and "用户名" in body, accept
        assert "User name" not in body, accept
    for accept in ("en", "en-GB,en;q=0.9", "fr-FR", "de, en;q=0.2", None):
        body = _page(client, "/login", accept)
        assert '<html lang="en">' in body, accept
        assert "<h1>Sign in</h1>" in body and "User name" in body, accept
    # a language at quality 0 is one the reader refuses
    assert '<html lang="en">' in _page(client, "/login", "zh;q=0, en;q=0.1")


def test_the_switch_is_remembered_across_requests(app):
    client = app.test_client()
    response = client.get("/lang/zh-Hans?next=/library?sort=title")
    assert response.status_code == 302 and response.headers["Location"] == "/library?sort=title"
    cookie = client.get_cookie("lang")
    assert cookie is not None and cookie.value == "zh-Hans" and cookie.http_only
    # the choice beats the browser's own language, on every page after
    assert "<h1>媒体库</h1>" in _page(client, "/library", "en-US")
    assert "<h1>登录</h1>" in _page(client, "/login", "en-US")
    # and back: English now, even for a Chinese browser
    client.get("/lang/en?next=/login")
    assert "<h1>Sign in</h1>" in _page(client, "/login", "zh-CN")


def test_every_page_links_to_each_language_back_to_itself(app):
    body = _page(app.test_client(), "/library?sort=title", "zh-CN")
    links = dict(re.findall(r'<a href="(/lang/[^"]+)" lang="([^"]+)"', body))
    assert set(links.values()) == {"en", "zh-Hans"}
    back = {lang: href for href, lang in links.items()}
    assert back["en"] == "/lang/en?next=/library?sort%3Dtitle"
    assert 'aria-current="true">简体中文</a>' in re.sub(r"\s+", " ", body)


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", "evil.example", "/%0d%0aSet-Cookie:x=1", ""])
def test_the_switch_never_redirects_off_site(app, target):
    client = app.test_client()
    response = client.get("/lang/zh-Hans", query_string={"next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/" or (location.startswith("/") and not location.startswith(("//", "/\\"))
                               and "\n" not in location and "\r" not in location), location
    if target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        assert location == "/"
    assert client.get_cookie("lang").value == "zh-Hans"  # the choice is kept all the same


def test_an_unknown_language_is_no_route(app):
    assert app.test_client().get("/lang/fr?next=/").status_code == 404


def test_the_json_api_stays_english(app):
    client = app.test_client()
    response = client.get("/api/v1/search?k=0", headers={"Accept-Language": "zh-CN"})
    body = response.get_json()
    assert response.status_code == 422, response.status_code
    assert not CJK.search(str(body)), body
    nothing = client.get("/api/v1/search?q=", headers={"Accept-Language": "zh-CN"}).get_json()
    assert nothing["notices"] and not CJK.search(str(nothing)), nothing
    response = client.get("/watch/424242", headers={"Accept-Language": "zh-CN", "Accept": "application/json"})
    assert response.status_code == 404
    page = client.get("/watch/424242", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "404 · 未找到" in page and "此媒体库中没有视频 424242。" in page


def test_dates_and_numbers_follow_the_language(app, empty_catalog):
    settings, catalog = empty_catalog
    user_id = make_account(catalog, "mei")
    client = app.test_client()
    sign_in(client, "mei")
    client.post("/me/keys", data={"name": "备份脚本", "csrf_token": session_csrf(client)})
    with catalog.session() as s:
        made = s.get(User, user_id).created_at
    made = made if made.tzinfo else made.replace(tzinfo=timezone.utc)
    today = made.astimezone(timezone.utc)
    zh = _page(client, "/me", "zh-CN")
    assert f"{today.year}年{today.month}月{today.day}日" in zh  # CLDR's Chinese medium date
    assert "从未" in zh  # the key was never used
    en = _page(client, "/me", "en")
    assert today.strftime("%b") + f" {today.day}, {today.year}" in en
    assert ">never<" in en


def test_language_names_are_in_the_page_language(app):
    from web.ui_display import language_name

    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert (language_name("ja"), language_name("en"), language_name("zh")) == ("日语", "英语", "中文")
        assert language_name("qq") == "qq" and language_name(None) == ""
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert (language_name("ja"), language_name("EN")) == ("Japanese", "English")
    assert language_name("de") == "German"  # outside a request (the CLI): English


def test_flash_messages_and_refusals_are_translated(app, empty_catalog):
    settings, catalog = empty_catalog
    make_account(catalog, "lin")
    client = app.test_client()
    client.get("/login", headers={"Accept-Language": "zh-CN"})
    response = client.post("/login", data={"username": "lin", "password": "wrong password",
                                           "csrf_token": session_csrf(client)}, headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 401 and "用户名或密码错误。" in response.get_data(as_text=True)
    sign_in(client, "lin")
    client.get("/lang/zh-Hans")
    body = client.post("/me/keys", data={"name": "", "csrf_token": session_csrf(client)}).get_data(as_text=True)
    assert "请为密钥命名（1 到" in body  # accounts.AccountError, in the page's words
    body = client.post("/me/password", data={"current": PASSWORD, "password": "x" * 10, "password_again": "y" * 10,
                                             "csrf_token": session_csrf(client)}).get_data(as_text=True)
    assert "两次输入的新密码不一致。" in body


def test_the_sign_in_limit_page_is_chinese(empty_catalog):
    from web import create_app

    settings, catalog = empty_catalog
    app = create_app(replace(settings, signin_limit="2 per minute"))
    make_account(catalog, "wang")
    client = app.test_client()
    client.get("/login")
    for _ in range(2):
        client.post("/login", data={"username": "wang", "password": "nope nope", "csrf_token": session_csrf(client)})
    response = client.post("/login", data={"username": "wang", "password": PASSWORD, "csrf_token": session_csrf(client)},
                           headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 429
    body = response.get_data(as_text=True)
    assert "429 · 尝试次数过多" in body and "此地址登录失败次数过多：请等几分钟再试。" in body
    assert "too many" not in body.lower()


def test_other_modules_messages_are_said_in_chinese_with_their_data_marked(app, tmp_path):
    """The messages are the real ones those modules raise, so a change of their wording fails here."""
    from markupsafe import Markup

    from models import clip_availability
    from search.request import QueryError, SearchRequest
    from web import accounts, admin_api
    from web.ui_messages import reason, refusal, visual_state

    def raised(call) -> str:
        try:
            call()
        except (accounts.AccountError, QueryError) as exc:
            return str(exc)
        except admin_api.AdminError as exc:
            return exc.message
        raise AssertionError("no error")

    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        app.config["REELSCOPE"] = replace(app.config["REELSCOPE"], library_roots=str(tmp_path))
        said = {
            "query": refusal(raised(lambda: SearchRequest(text="").validate())),
            "long query": refusal(raised(lambda: SearchRequest(text="x" * 5000).validate())),
            "relative": refusal(raised(lambda: admin_api.check_path("videos/cats"))),
            "outside": refusal(raised(lambda: admin_api.check_path("/etc"))),
            "missing": refusal(raised(lambda: admin_api.check_path(str(tmp_path / "nope")))),
            "password": refusal(raised(lambda: accounts._password_hash("short"))),
        }
        for what, text in said.items():
            assert isinstance(text, Markup) and CJK.search(text), (what, text)
        assert '<span class="data" translate="no">/etc</span> 不在媒体库文件夹' in said["outside"]
        assert "密码至少要有" in said["password"]
        liked = reason("because you liked “Our cat Chelsea”")
        assert liked == '因为你赞过“<span class="data" translate="no">Our cat Chelsea</span>”'
        assert reason("more about <b>bread</b>") == '更多关于“<span class="data" translate="no">&lt;b&gt;bread&lt;/b&gt;</span>”的内容'
        off = visual_state(clip_availability("ViT-B-32/laion2b_s34b_b79k", tmp_path).reason)
        assert off.startswith("视觉搜索已关闭：没有") and "reelscope models pull</span>" in off, off
        from search.engine import NO_GOOD_MATCH
        from web.ui_messages import notice

        assert notice(NO_GOOD_MATCH) == "没有很好的匹配：媒体库里没有与此相近的内容；下面是最接近的片段。"
        from search.request import SearchRequest

        odd = SearchRequest(text="x", within=30, time_from=9, time_to=3, languages=["klingon"])
        english = odd.caveats()[0]
        said = [str(notice(n)) for n in english]
        assert len(said) == 3 and all(s != e and any("\u4e00" <= c <= "\u9fff" for c in s)
                                      for s, e in zip(said, english)), said
        assert reason("a reason nobody listed") == "a reason nobody listed"  # shown, and left for the check to find
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert reason("because you liked “Our cat”") == "because you liked “Our cat”"


def test_every_message_has_a_chinese_translation():
    """The catalog shipped is complete and compiled: a new string without its translation fails here."""
    from pathlib import Path

    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    folder = Path(__file__).resolve().parent.parent / "web" / "translations"
    template = read_po((folder / "messages.pot").open("rb"))
    po = read_po((folder / "zh_Hans/LC_MESSAGES/messages.po").open("rb"))
    mo = read_mo((folder / "zh_Hans/LC_MESSAGES/messages.mo").open("rb"))
    ids = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in template if m.id}
    for name, catalog in (("po", po), ("mo", mo)):
        done = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in catalog
                if m.id and m.string and all(m.string if isinstance(m.string, tuple) else [m.string])}
        assert ids <= done, f"untranslated in messages.{name}: {sorted(ids - done)}"
        for m in catalog:
            if m.id and m.string:
                said = m.string if isinstance(m.string, str) else m.string[0]
                assert CHINESE_WRITING.search(said) or m.id in ("JSON API", "1–10 min"), m.id
                # every placeholder of the English is in the Chinese, and no other
                english = m.id if isinstance(m.id, str) else m.id[0]
                assert sorted(re.findall(r"%\(\w+\)s", english)) == sorted(re.findall(r"%\(\w+\)s", said)), m.id


# -- the Chinese UI in a browser -----------------------------------------------------------------------

# English a Chinese page may keep: the product's name, and the acronyms Chinese UIs write in Latin letters
ALLOWED = {"Reelscope", "JSON", "API", "CLIP"}

LEFT_IN_ENGLISH = """() => {
    const data = (el) => el.closest('[translate="no"], script, style, template, noscript');
    const visible = (el) => (el.closest('select') || el).checkVisibility({visibilityProperty: true});
    const texts = [], dataTexts = [], where = [];
    document.querySelectorAll('[translate="no"]').forEach((el) => {
        const t = (el.textContent || '').trim(); if (t) dataTexts.push(t); });
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const el = node.parentElement;
        if (!el || data(el) || el.closest('svg') || !visible(el)) continue;
        texts.push(node.textContent);
        where.push([el.tagName + (el.id ? '#' + el.id : '') + (el.className ? '.' + el.className : ''), node.textContent.trim()]);
    }
    // labels of controls: what a screen reader or a tooltip says; data inside them is what the page
    // marks as data elsewhere (a title in an aria-label), cut out before looking
    dataTexts.sort((a, b) => b.length - a.length);
    const controls = document.querySelectorAll('[placeholder], [title], [aria-label], img[alt], ' +
        'input[type=submit][value], input[type=button][value]');
    for (const el of controls) {
        if (data(el) || (el.tagName !== 'IMG' && !visible(el) && !el.closest('svg'))) continue;
        for (const name of ['placeholder', 'title', 'aria-label', 'alt', 'value']) {
            // a button's value is its label; a text box's is what the reader typed
            if (name === 'value' && !(el.tagName === 'INPUT' && ['submit', 'button', 'reset'].includes(el.type))) continue;
            let v = el.getAttribute(name); if (!v) continue;
            for (const d of dataTexts) v = v.split(d).join(' ');
            texts.push(v);
            where.push([el.tagName + '[' + name + ']', v]);
        }
    }
    const all = texts.join(' ');
    const english = (t) => (t.match(/[A-Za-z]{2,}/g) || []);
    return {words: english(all), cjk: (all.match(/[\\u4e00-\\u9fff]/g) || []).length,
            lang: document.documentElement.lang, where: where.filter(([_, t]) => english(t).length)};
}"""


def english_left(page) -> list[tuple[str, str]]:
    """Each piece of UI text on the page with an English word left in it, as (element, text)."""
    found = page.evaluate(LEFT_IN_ENGLISH)
    assert found["lang"] == "zh-Hans", found["lang"]
    assert found["cjk"] > 10, f"{page.url}: hardly any Chinese on the page"
    words = sorted({w for w in found["words"] if w not in ALLOWED})
    # where each is, for the failure message: the element and its text
    return words and [(tag, text[:80]) for tag, text in found["where"] if set(re.findall(r"[A-Za-z]{2,}", text)) - ALLOWED]


@pytest.fixture
def zh_page(browser, served):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=served["url"], locale="zh-CN")
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    assert not page.errors, page.errors
    context.close()


def _check(page, path: str, left: dict, shots=None) -> None:
    page.goto(path)
    page.wait_for_load_state()
    words = english_left(page)
    if words:
        left[path] = words
    if shots is not None:  # for a person to look at: passing does not prove a page reads well
        _screenshot(page, shots / ("zh" + re.sub(r"[^a-z0-9]+", "-", path.lower()).rstrip("-") + ".png"))


@pytest.mark.slow
def test_the_english_ui_is_caught_by_the_same_check(browser, served):  # noqa: F811
    """The check below can fail: on the English pages it finds the English."""
    context = browser.new_context(base_url=served["url"], locale="en-US")
    page = context.new_page()
    page.goto("/library")
    found = page.evaluate(LEFT_IN_ENGLISH)
    assert found["lang"] == "en" and {"Library", "Title", "Status", "Search"} <= set(found["words"])
    # while a title, marked as data, is not taken for UI
    assert "Our cat Chelsea" in page.locator("table.library").inner_text() and "Chelsea" not in found["words"]
    context.close()


@pytest.mark.slow
def test_the_chinese_ui_has_no_english_left_on_any_page(zh_page, served, shots):  # noqa: F811
    page, left = zh_page, {}
    ids = served["ids"]
    _check(page, "/", left, shots)  # the empty search: recently added
    assert page.locator(".recent .card").count() == 4
    _check(page, "/setup", left)  # no admin yet: the first-admin form (the token one: the site has users)
    _check(page, "/login", left)
    _check(page, "/admin", left)  # signed out: sign in, or the admin token

    _check(page, "/?q=knead+the+dough", left, shots)
    assert page.locator(".moment-link").count() > 0
    assert "个" in page.locator(".count").inner_text()
    _check(page, "/?q=zzyzx+qwrtp&mode=keyword", left)  # exact words that are nowhere
    assert page.locator("[data-state=no-results]").count() == 1
    # instant search: the fragment the script swaps in speaks Chinese too
    page.locator("#q").fill("knead the dough")
    wait_for(page, "() => document.querySelectorAll('.moment-link').length > 0")
    page.locator("#q").fill("zzyzx qwrtp vvv")
    wait_for(page, "() => document.querySelectorAll('[data-state=no-results]').length > 0")
    words = english_left(page)
    if words:
        left["/ (instant)"] = words

    for stem, video_id in ids.items():
        page.goto(f"/watch/{video_id}")
        wait_for(page, "() => !document.querySelector('#similar .muted') || "
                       "document.querySelector('#similar .muted').textContent !== '加载中…'")
        words = english_left(page)
        if words:
            left[f"/watch/{video_id} ({stem})"] = words
    _screenshot(page, shots / "zh-watch.png")
    _check(page, "/library", left, shots)
    added = page.locator("table.library tbody td time").first.inner_text()
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", added), added  # CLDR's Chinese date
    page.get_by_label("排序方式").select_option("title")  # the menu applies itself (no inline script)
    page.wait_for_url("**/library?sort=title*")
    assert page.get_by_label("排序方式").input_value() == "title"
    _check(page, "/library?sort=title&status=failed", left)  # an empty filter
    _check(page, "/watch/999999", left)  # 404
    assert "404" in page.locator("h1").inner_text()

    # a viewer: sign in (in Chinese), like a video, the feed with its reasons, the account page
    make_account(served["catalog"], "xiaoming")
    page.goto("/login")
    page.get_by_label("用户名").fill("xiaoming")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    words = english_left(page)  # with the "hello" flash
    if words:
        left["after sign-in"] = words
    page.goto(f"/watch/{ids['Our cat Chelsea']}")
    page.get_by_role("button", name="赞", exact=True).click()
    page.wait_for_load_state()
    assert page.locator(".flash").count() == 1 and "已赞" in page.locator(".flash").inner_text()
    words = english_left(page)
    if words:
        left["after a like"] = words
    _check(page, "/for-you", left, shots)
    assert page.locator("#feed .reasons li").count() > 0
    _check(page, "/admin", left)  # a viewer: admins only
    page.goto("/me")
    page.get_by_placeholder("这个密钥的用途").fill("backup script")
    page.get_by_role("button", name="创建密钥").click()
    page.wait_for_load_state()
    words = english_left(page)
    if words:
        left["/me with a new key"] = words
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", page.locator("table.keys").inner_text())
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_load_state()

    # an admin: the admin page, with its jobs, accounts and maintenance
    make_account(served["catalog"], "laowang", admin=True)
    page.goto("/login")
    page.get_by_label("用户名").fill("laowang")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    _check(page, "/admin", left, shots)
    assert page.locator("table.users tbody tr").count() >= 2
    # people: the list, and a person with the admin's naming and merging forms
    _check(page, "/people", left, shots)
    assert page.locator(".person-card").count() > 0  # the sample library's narrator, heard in every video
    person = page.locator(".person-card").first.get_attribute("data-person-id")
    _check(page, f"/people/{person}", left, shots)
    assert page.get_by_role("button", name="保存").count() == 1
    page.get_by_label("名称").fill("艾琳")
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    assert "艾琳" in page.locator("h1").inner_text()
    words = english_left(page)
    if words:
        left["after naming a person"] = words
    _check(page, f"/?person={person}", left)

    assert not left, "English left on the Chinese pages:\n" + "\n".join(f"{p}: {w}" for p, w in left.items())
