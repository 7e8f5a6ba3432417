"""End to end in a real headless browser (Chromium from the OS packages, Selenium with the system
chromedriver): sign in, open the list, open an application, confirm two items and override one by
keyboard only, reload and find them kept, export the workbook with the button and read it back.
Skipped, saying why, where no browser is installed; CI installs one (.ci/run)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from test_review_support import browser, real_batch
from xdt_rules.review.server import ThreadedServer
from xdt_rules.review.service import ReviewService


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return real_batch(tmp_path_factory.mktemp("review-browser"))


def wait_for(condition, timeout: float = 20.0, what: str = "condition"):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_review_an_application_by_keyboard_and_export(batch_out, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = browser(downloads)
    service = ReviewService(batch_out[1], db=tmp_path / "review.sqlite3")
    server = ThreadedServer(service)
    url = server.start()
    try:
        driver.get(url + "/")
        name = wait_for(lambda: driver.find_elements(By.ID, "login-name"), what="the sign-in form")[0]
        name.send_keys("张三")
        name.send_keys(Keys.ENTER)

        # the list: both applications, ranked, nothing decided yet
        table = wait_for(lambda: driver.find_elements(By.ID, "app-table"), what="the list")[0]
        rows = table.find_elements(By.CSS_SELECTOR, "tr.rv-row[data-app]")
        assert [r.get_attribute("data-app") for r in rows] == ["甲公司", "乙公司"]
        assert "未审" in rows[0].text

        body = driver.find_element(By.TAG_NAME, "body")
        body.send_keys("j")  # select the first application
        body.send_keys(Keys.ENTER)  # and open it
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "article.rv-item.current"), what="the application page")
        assert driver.find_element(By.ID, "app-name").text == "甲公司"

        def current() -> str:
            return driver.execute_script("return document.querySelector('article.rv-item.current').dataset.item")

        def label(item: str) -> str:
            return driver.execute_script(
                "var d = document.getElementById('dec-' + arguments[0]); return d ? d.dataset.label : '';", item)

        def confirmed_total() -> str:
            return driver.find_element(By.ID, "confirmed-total").text

        total_before = confirmed_total()
        first = current()
        driver.switch_to.active_element.send_keys("c")
        wait_for(lambda: label(first) == "已确认", what=f"{first} confirmed")
        second = wait_for(lambda: current() != first and current(), what="the next item selected")
        driver.switch_to.active_element.send_keys("c")
        wait_for(lambda: label(second) == "已确认", what=f"{second} confirmed")
        assert driver.find_element(By.ID, "decided-count").text == "2/36"

        # override the next item: status 4 (明确未具备), score 0, a comment, Ctrl+Enter
        third = wait_for(lambda: current() not in (first, second) and current(), what="a third item")
        prelim_score = float(driver.execute_script(
            "return document.getElementById('dec-' + arguments[0]).dataset.score", third))
        driver.switch_to.active_element.send_keys("o")
        select = wait_for(lambda: driver.switch_to.active_element.tag_name == "select"
                          and driver.switch_to.active_element, what="the override form")
        select.send_keys("4")
        select.send_keys(Keys.TAB)
        score = driver.switch_to.active_element
        score.send_keys(Keys.CONTROL, "a")
        score.send_keys("0")
        score.send_keys(Keys.TAB)
        comment = driver.switch_to.active_element
        assert comment.tag_name == "textarea"
        comment.send_keys("申报书写明尚未实施，附件无合同")
        comment.send_keys(Keys.CONTROL, Keys.ENTER)
        wait_for(lambda: label(third) == "已改判", what=f"{third} overridden")
        assert driver.find_element(By.ID, "decided-count").text == "3/36"
        if prelim_score > 0:
            assert confirmed_total() != total_before  # the confirmed total follows at once

        # reload: everything kept, with its author
        driver.refresh()
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "article.rv-item.current"), what="the reloaded page")
        assert (label(first), label(second), label(third)) == ("已确认", "已确认", "已改判")
        decision = driver.find_element(By.ID, f"dec-{third}").text
        assert "明确未具备" in decision and "张三" in decision and "申报书写明尚未实施" in decision
        assert [d.item for d in service.store.decisions()] == [first, second, third]

        # export with the button, read the workbook back
        driver.find_element(By.ID, "export-xlsx").click()
        book = wait_for(lambda: [p for p in downloads.glob("*.xlsx")], timeout=20, what="the downloaded workbook")[0]
        wait_for(lambda: not list(downloads.glob("*.crdownload")), what="the download to finish")
        from openpyxl import load_workbook

        wb = load_workbook(book, read_only=True)
        rows = list(wb["逐项"].iter_rows(values_only=True))
        mine = {r[1]: r for r in rows if r[0] == "甲公司"}
        assert mine[third][7] == "明确未具备" and mine[third][9] == "已改判" and mine[third][10] == "张三"
        assert mine[third][12] == "申报书写明尚未实施，附件无合同"
        assert mine[first][9] == "已确认" and mine[second][9] == "已确认"
        log = list(wb["审核记录"].iter_rows(values_only=True))
        assert [r[4] for r in log[1:]] == [first, second, third]
        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]
        assert severe == []  # no script errors, nothing blocked by the content security policy
    finally:
        driver.quit()
        server.stop()
        service.close()
