"""The page in other languages, in real Chromium against a real ``randomchat serve``.

A browser whose language is Arabic gets the page in Arabic, right to left
(``<html lang="ar" dir="rtl">``), laid out as a mirror at desktop and phone
sizes, with no axe-core violations; the language switch changes the text at
once and is remembered after a reload; two strangers whose pages speak
different languages still meet and chat (nothing on the wire is translated).
"""

# The fixtures imported from test_browser are pytest's to inject: parameters reuse their names.
# ruff: noqa: F811

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.test_browser import (  # noqa: F401 (fixtures)
    INSTRUMENT,
    LOCAL,
    MESSAGES,
    accept_rules_and_join,
    browser,
    chromium,
    contexts,
    expect_partner,
    say,
    start_call,
    web_dist,
)
from tests.e2e.test_page_quality import AXE, PHONE, assert_accessible

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1000, "height": 720}
HTML = "() => [document.documentElement.lang, document.documentElement.dir]"


def visitor(
    browser: Browser,
    contexts: list[BrowserContext],
    url: str,
    locale: str | None = None,
    phone: bool = False,
) -> Page:
    """A new visitor (own context and localStorage) with the browser language
    ``locale`` (Playwright's default is en-US) and axe-core loaded, on the first screen."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run npm ci in web/ (axe-core is a dev dependency)")
    options: dict[str, Any] = {"permissions": ["camera", "microphone"]}
    if locale:
        options["locale"] = locale
    if phone:
        options.update(viewport=PHONE, device_scale_factor=3, is_mobile=True, has_touch=True)
    else:
        options["viewport"] = DESKTOP
    ctx = browser.new_context(**options)
    contexts.append(ctx)
    ctx.add_init_script(path=str(AXE))
    page = ctx.new_page()
    page.add_init_script(INSTRUMENT)
    page.goto(url)
    expect(page.get_by_test_id("rules-text")).to_be_visible(timeout=10_000)
    return page


def enter_room(page: Page, name: str) -> None:
    accept_rules_and_join(page, name)
    expect(page.get_by_test_id("start")).to_be_enabled(timeout=10_000)
    page.wait_for_function(f"() => {LOCAL}?.srcObject && {LOCAL}.videoWidth > 0", timeout=10_000)


def center_x(page: Page, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return float(box["x"] + box["width"] / 2)


def test_arabic_browser_gets_arabic_right_to_left_without_axe_violations(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = visitor(browser, contexts, server.url, locale="ar-EG")
    assert page.evaluate(HTML) == ["ar", "rtl"]
    expect(page.get_by_test_id("language")).to_have_value("ar")
    expect(page.locator("h1")).to_have_text("تحدّث مع شخص غريب")
    expect(page.get_by_test_id("join")).to_have_text("دخول")
    # the operator's rules come from the server as they are (dir="auto" paragraphs)
    expect(page.get_by_test_id("rules-text").locator("p").first).to_have_attribute("dir", "auto")
    assert_accessible(page, "Arabic join page")

    # Join without the rules ticked: the gate's own error is in Arabic too.
    page.get_by_test_id("nickname").fill("سلمى")
    page.get_by_test_id("join").click()
    expect(page.get_by_test_id("rules-required")).to_contain_text("يُرجى تأكيد")

    enter_room(page, "سلمى")
    expect(page.get_by_test_id("start")).to_have_text("ابدأ")
    expect(page.get_by_test_id("status")).to_have_text("جاهز")
    assert_accessible(page, "Arabic room, idle")
    # Mirrored: the own camera sits at the stage's left end (the right in English).
    assert center_x(page, "[data-testid=local-video]") < center_x(page, "[data-testid=stage]")
    # the chat sits beside the video on the other side: left of it in RTL
    assert center_x(page, ".card.chat") < center_x(page, "[data-testid=stage]")

    page.get_by_test_id("start").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    expect(page.get_by_test_id("status")).to_contain_text("جارٍ البحث")
    assert_accessible(page, "Arabic room, searching")


def test_arabic_on_a_phone_mirrors_and_keeps_the_video_full_screen(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    phone = visitor(browser, contexts, server.url, locale="ar", phone=True)
    assert phone.evaluate(HTML) == ["ar", "rtl"]
    assert_accessible(phone, "Arabic join page on a phone")
    enter_room(phone, "Phone")
    desk = visitor(browser, contexts, server.url)  # en-US
    enter_room(desk, "Desk")
    start_call(phone, desk, "Phone", "Desk")
    stage = phone.get_by_test_id("stage").bounding_box()
    assert stage is not None
    assert stage["width"] >= PHONE["width"] - 1 and stage["height"] >= PHONE["height"] * 0.95
    # the own picture at the top left, the partner's name at the top right
    local = phone.get_by_test_id("local-video").bounding_box()
    assert local is not None and local["x"] + local["width"] / 2 < PHONE["width"] / 2
    assert center_x(phone, ".partner") > PHONE["width"] / 2
    for test_id in ("next", "stop", "mute", "camera", "chat-send"):
        found = phone.get_by_test_id(test_id).bounding_box()
        assert found is not None, test_id
        assert 0 <= found["x"] <= found["x"] + found["width"] <= PHONE["width"], test_id
        assert 0 <= found["y"] <= found["y"] + found["height"] <= PHONE["height"], test_id
    expect(phone.get_by_test_id("next")).to_contain_text("التالي")
    assert_accessible(phone, "Arabic in-call on a phone")


def test_language_switch_changes_the_text_at_once_and_is_remembered(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = visitor(browser, contexts, server.url)  # Playwright's en-US: English
    assert page.evaluate(HTML) == ["en", "ltr"]
    expect(page.locator("h1")).to_have_text("Talk to a stranger")
    switch = page.get_by_test_id("language")
    expect(switch).to_have_accessible_name("Language")

    switch.select_option("es")
    expect(page.locator("h1")).to_have_text("Habla con un desconocido")
    assert page.evaluate(HTML) == ["es", "ltr"]
    expect(switch).to_have_accessible_name("Idioma")

    # with the keyboard: focus the select and move down to Arabic
    switch.focus()
    switch.press("ArrowDown")
    expect(page.locator("h1")).to_have_text("تحدّث مع شخص غريب")
    assert page.evaluate(HTML) == ["ar", "rtl"]

    page.reload()
    expect(page.get_by_test_id("rules-text")).to_be_visible(timeout=10_000)
    assert page.evaluate(HTML) == ["ar", "rtl"]
    expect(page.locator("h1")).to_have_text("تحدّث مع شخص غريب")
    assert page.evaluate("() => localStorage.getItem('language')") == "ar"

    # In the room too: the buttons change at once, the state attributes do not.
    enter_room(page, "Ana")
    page.get_by_test_id("language").select_option("es")
    expect(page.get_by_test_id("start")).to_have_text("Empezar")
    expect(page.get_by_test_id("mute")).to_have_text("Silenciar")
    expect(page.get_by_test_id("status")).to_have_attribute("data-phase", "idle")
    assert page.evaluate(HTML) == ["es", "ltr"]
    assert_accessible(page, "Spanish room, idle")
    page.get_by_test_id("language").select_option("en")
    expect(page.get_by_test_id("start")).to_have_text("Start")


def test_strangers_in_different_languages_meet_and_chat(
    server: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    arabic = visitor(browser, contexts, server.url, locale="ar-EG")
    enter_room(arabic, "Layla")
    spanish = visitor(browser, contexts, server.url, locale="es-ES")
    expect(spanish.locator("h1")).to_have_text("Habla con un desconocido")
    enter_room(spanish, "Pablo")
    start_call(arabic, spanish, "Layla", "Pablo")
    expect(arabic.get_by_test_id("status")).to_have_text("في مكالمة مع Pablo")
    expect(spanish.get_by_test_id("status")).to_have_text("En llamada con Layla")

    say(arabic, "مرحبا!")
    say(spanish, "¡Hola!")
    for page in (arabic, spanish):
        expect(page.locator(MESSAGES)).to_have_text(["مرحبا!", "¡Hola!"])
    # the page's own line about the match is in each page's language
    expect(spanish.locator("[data-testid=chat-log] li[data-kind=system]").first).to_contain_text(
        "Estás hablando con Layla"
    )
    expect(arabic.locator("[data-testid=chat-log] li[data-kind=system]").first).to_contain_text(
        "أنت تتحدّث مع Pablo"
    )
    assert_accessible(arabic, "Arabic in-call")

    # Next from the Spanish side: the Arabic page says so in Arabic.
    spanish.get_by_test_id("next").click()
    expect(arabic.get_by_test_id("notice")).to_contain_text("انتقل")
    expect(spanish.get_by_test_id("status")).to_have_attribute("data-phase", "searching")


def test_a_shared_spoken_language_is_preferred_and_shown(
    server_factory: Any, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """Language matching: each page speaks its own language by default; with a long
    language wait an Arabic and a Spanish page do not meet, until the Spanish speaker adds
    Arabic in the settings; then they do, and both see the language they share."""
    server = server_factory(language_wait_seconds=600)
    arabic = visitor(browser, contexts, server.url, locale="ar-EG")
    enter_room(arabic, "Layla")
    spanish = visitor(browser, contexts, server.url, locale="es-ES")
    enter_room(spanish, "Pablo")
    expect(spanish.get_by_test_id("language-es")).to_contain_text("español")
    arabic.get_by_test_id("start").click()
    spanish.get_by_test_id("start").click()
    for page in (arabic, spanish):
        expect(page.get_by_test_id("status")).to_have_attribute("data-phase", "searching")
    # both wait: nobody is paired (a second and a half is many widening rounds)
    spanish.wait_for_timeout(1500)
    for page in (arabic, spanish):
        expect(page.get_by_test_id("status")).to_have_attribute("data-phase", "searching")

    spanish.get_by_test_id("stop").click()
    spanish.get_by_test_id("language-add").select_option("ar")
    expect(spanish.get_by_test_id("language-ar")).to_contain_text("árabe")
    spanish.get_by_test_id("start").click()
    expect_partner(arabic, "Pablo")
    expect_partner(spanish, "Layla")
    expect(spanish.get_by_test_id("common-languages")).to_contain_text("árabe")
    expect(arabic.get_by_test_id("common-languages")).to_contain_text("العربية")
    assert_accessible(spanish, "Spanish settings with two languages, in a call")
    # remembered for the next visit, with the page's language still first
    saved = spanish.evaluate("() => JSON.parse(localStorage.getItem('choices.v1')).languages")
    assert saved == ["es", "ar"]
