"""The sandbox page in a real headless browser: Debian's Chromium driven by
Selenium through chromedriver.

Without Chromium and chromedriver these tests are skipped, with the reason;
under CI (``CI`` set, as ``.ci/run`` sets it, which installs both) they fail
instead, so a browser that went missing cannot pass unnoticed.

The screenshots they take are kept as test artefacts in
``<pytest's basetemp>/sandbox-screenshots`` (the path is printed), or in
``$SANDBOX_SCREENSHOTS`` when set (how docs/images/ was made).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo import CHANNEL
from bot.ids import CONFIRM_REACTION, ActionId

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT = 15  # seconds any one expected change may take before the test fails


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).exists() or shutil.which(path)):
            return f"{path} not found: the browser tests need Chromium and chromedriver (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (uv sync installs it with the dev group)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900", "--lang=en-US"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver, condition, message: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.1).until(condition, message)


def _css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def _open_as(driver, url: str, user: str) -> None:
    from selenium.webdriver.support.ui import Select

    driver.get(url)
    _wait(driver, lambda d: d.execute_script("return document.body.dataset.version"), "the page never drew its first state")
    Select(_css(driver, "#person")[0]).select_by_value(user)
    _wait(driver, lambda d: d.execute_script(f"return document.body.dataset.version && state.data && state.data.user === '{user}'"),
          f"the page never showed what {user} sees")


def _click(driver, selector: str) -> None:
    """Click the first match, found afresh until the click lands: the page redraws
    its messages whenever the state changes, which leaves a found element stale."""
    from selenium.common.exceptions import StaleElementReferenceException

    def click(d) -> bool:
        element = next(iter(_css(d, selector)), None)
        if element is None:
            return False
        try:
            d.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
            element.click()
        except StaleElementReferenceException:
            return False
        return True

    _wait(driver, click, f"nothing to click matches {selector}")


def test_confirm_by_button_changes_the_message(browser, served, shots):
    driver = browser
    _open_as(driver, served.url, "U0OWNERY")
    button = _wait(driver, lambda d: next(iter(_css(d, f'.sb-message button.sb-btn[data-action-id="{ActionId.CONFIRM}"]')), None),
                   "no Confirm button in the channel")
    item = button.get_attribute("data-value")
    _click(driver, f'button.sb-btn[data-action-id="{ActionId.CONFIRM}"][data-value="{item}"]')

    state = _wait(driver, lambda d: next(iter(_css(d, f'.sb-message [data-block-id="state-{item}"]')), None),
                  "the message never showed the item's new state")
    assert not _css(driver, f'button.sb-btn[data-action-id="{ActionId.CONFIRM}"][data-value="{item}"]')
    assert "confirmed" in state.text.lower()
    driver.save_screenshot(str(shots / "confirm.png"))


def test_dispute_modal_shows_the_blank_reason_error_on_its_field(browser, served, shots):
    driver = browser
    _open_as(driver, served.url, "U0OWNERY")
    _click(driver, f'.sb-message button.sb-btn[data-action-id="{ActionId.DISPUTE}"]')
    _wait(driver, lambda d: d.find_element("id", "modal-back").is_displayed(), "the dispute modal never opened")

    _click(driver, "#modal-submit")  # the reason left blank
    error = _wait(driver, lambda d: next(iter(_css(d, "#modal-body .sb-has-error .sb-field-error")), None), "no error on the reason field")
    assert error.text.strip()
    assert _css(driver, "#modal-body .sb-has-error textarea, #modal-body .sb-has-error input")  # on the field itself
    driver.save_screenshot(str(shots / "dispute-error.png"))

    field = _css(driver, "#modal-body .sb-has-error textarea, #modal-body .sb-has-error input")[0]
    field.send_keys("The customer refused the goods at the door; the call is recorded.")
    _click(driver, "#modal-submit")
    _wait(driver, lambda d: not d.find_element("id", "modal-back").is_displayed(), "the modal stayed open after a reason was given")
    _wait(driver, lambda d: any("disputed" in e.text.lower() for e in _css(d, '.sb-message [data-block-id^="state-"]')),
          "no item shows as disputed")


def test_a_checkmark_on_a_digest_message_confirms_its_items(browser, served, shots):
    driver = browser
    _open_as(driver, served.url, "U0OWNERY")
    y_message = next(m for m in served.sandbox.world.fake.channel_history(CHANNEL) if "U0OWNERY" in str(m["blocks"][0]))
    selector = f'.sb-message[data-ts="{y_message["ts"]}"]'
    _click(driver, f'{selector} > .reactions button.reaction.add[data-name="{CONFIRM_REACTION}"]')

    _wait(driver, lambda d: _css(d, f'{selector} > .reactions button.reaction.mine[data-name="{CONFIRM_REACTION}"]'), "the ✅ is not shown as mine")
    _wait(driver, lambda d: not _css(d, f'{selector} > .body button.sb-btn[data-action-id="{ActionId.CONFIRM}"]'),
          "the digest's items still wait for confirmation")
    driver.save_screenshot(str(shots / "reaction.png"))


def test_the_clock_reaches_an_escalation_dm_seen_by_the_operations_head(browser, served, shots):
    driver = browser
    _open_as(driver, served.url, "U0OPSHEAD")
    _click(driver, "#nav-dm")
    for _ in range(4):  # the reminder in the thread, then the escalation (the demo's 11:00 and 13:00)
        if _css(driver, f'.sb-message button.sb-btn[data-action-id="{ActionId.REMIND_OWNER}"]'):
            break
        before = driver.execute_script("return document.body.dataset.version")
        _click(driver, "#clock-due")
        _wait(driver, lambda d: d.execute_script("return document.body.dataset.version") != before, "the clock did not move")
    escalation = _wait(driver, lambda d: next(iter(_css(d, '.sb-message [data-block-id="escalation-head"]')), None), "no escalation DM")
    assert "escalation" in escalation.text.lower()
    assert _css(driver, f'.sb-message button.sb-btn[data-action-id="{ActionId.CONFIRM_FOR_OWNER}"]')
    driver.save_screenshot(str(shots / "escalation.png"))
