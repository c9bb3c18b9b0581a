"""The report in a real headless Chromium (Debian's `chromium`, driven by Playwright) over
file://: no console errors, no network requests, one table row per group (virtual: only the
visible rows exist), search, filters and sorting, hostile names shown as text, the page's
sentences equal nl_all_rows.txt, and a click draws a series with its forecast band.

Chromium missing is a failure, not a skip (`.ci/run` installs it); DQS_SKIP_BROWSER=1 opts out
on a machine without it. Screenshots are written under pytest's tmp folder, and also to
$DQS_SCREENSHOT_DIR when set (`DQS_SCREENSHOT_DIR=docs` makes the README's)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import run_dqs
from test_report import HOSTILE, read_summary, write_hostile

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("DQS_SKIP_BROWSER") == "1":
            pytest.skip("DQS_SKIP_BROWSER=1 and no chromium on PATH")
        pytest.fail("Chromium is not installed: the report's browser tests need it "
                    "(apt-get install -y chromium; .ci/run does), or set DQS_SKIP_BROWSER=1", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


class Page:
    """A page of a report, with every console message, page error, request and dialog kept."""

    def __init__(self, browser, path: Path, width: int = 1440, height: int = 1000) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.url = path.resolve().as_uri()
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(self.url)
        self.page.wait_for_selector("html[data-ready]", timeout=30_000)

    def count(self) -> int:
        return int(self.page.get_attribute("#row-count", "data-count"))

    def search(self, text: str) -> None:
        """Type into the search box and wait for the table to follow (it waits for typing to pause)."""
        if self.page.input_value("#search") == text:
            return
        before = self.page.get_attribute("#row-count", "data-refreshes")
        self.page.fill("#search", text)
        self.page.wait_for_function("n => document.querySelector('#row-count').dataset.refreshes !== n",
                                    arg=before, timeout=10_000)

    def assert_clean(self) -> None:
        assert self.errors == []
        assert [m for m in self.console if m[0] in ("error", "warning")] == []
        assert self.requests == [self.url]  # the file itself, nothing else
        assert self.dialogs == []
        assert self.page.evaluate("window.__pwned") is None

    def close(self) -> None:
        self.page.close()


def shots(tmp_path: Path) -> list[Path]:
    folders = [tmp_path]
    if os.environ.get("DQS_SCREENSHOT_DIR"):
        folders.append(Path(os.environ["DQS_SCREENSHOT_DIR"]))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    return folders


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("browser-hostile")
    log, rules = write_hostile(tmp)
    out = tmp / "out"
    assert run_dqs("summarize", log, rules, "-o", out, "--quiet").returncode == 0
    result = run_dqs("report", log, rules, "-o", tmp / "report.html", "--quiet")
    assert result.returncode == 0, result.stderr
    return {"report": tmp / "report.html", "out": out}


@pytest.fixture(scope="module")
def modelled(tmp_path_factory) -> dict[str, Path]:
    """A generated log (100 series), a model trained on it, and the report with forecasts, of the
    log plus a few rows of its first series under another source (101 groups: two share a series)."""
    import polars as pl

    tmp = tmp_path_factory.mktemp("browser-model")
    generated = tmp / "generated.csv"
    assert run_dqs("generate", "--rows", "40000", "--seed", "11", "--output", generated, "--rules", tmp / "rules.json").returncode == 0
    result = run_dqs("train", generated, "--model", tmp / "model", "--horizon", "10")
    assert result.returncode == 0, result.stderr
    frame = pl.read_csv(generated, infer_schema=False)
    first = frame.row(0, named=True)
    twin = frame.filter((pl.col("dataset_uuid") == first["dataset_uuid"]) & (pl.col("rule_code") == first["rule_code"]))
    log = tmp / "log.csv"
    pl.concat([frame, twin.head(30).with_columns(pl.lit("snowflake-replica").alias("source"))]).write_csv(log)
    result = run_dqs("report", log, tmp / "rules.json", "-o", tmp / "report.html", "--model", tmp / "model", "--quiet")
    assert result.returncode == 0, result.stderr
    assert run_dqs("summarize", log, tmp / "rules.json", "-o", tmp / "out", "--quiet").returncode == 0
    return {"report": tmp / "report.html", "out": tmp / "out"}


def test_the_page_runs_offline_and_its_sentences_equal_nl_all_rows(browser, hostile) -> None:
    page = Page(browser, hostile["report"])
    try:
        sentences = page.page.evaluate("Array.from({length: dqsReport.meta.groups}, (_, g) => dqsReport.sentence(g))")
        expected = (hostile["out"] / "nl_all_rows.txt").read_text(encoding="utf-8").split("\n")[:-1]  # not splitlines: U+2028 is in a value
        assert sentences == expected  # the ties (0.125%, 0.625%) round to even, as Python's format does
        assert any("fail-rate 0.12%" in s for s in sentences) and any("fail-rate 0.62%" in s for s in sentences)
        rows = read_summary(hostile["out"] / "full_summary.csv")
        got = page.page.evaluate("""Array.from({length: dqsReport.meta.groups}, (_, g) => [
            dqsReport.text('dataset_name', g), dqsReport.value('pass_count_12m', g), dqsReport.value('fail_count_1m', g)])""")
        assert got == [[r["dataset_name"], int(r["pass_count_12m"]), int(r["fail_count_1m"])] for r in rows]
        page.assert_clean()
    finally:
        page.close()


def test_hostile_names_are_shown_as_text(browser, hostile, tmp_path: Path) -> None:
    page = Page(browser, hostile["report"])
    try:
        p = page.page
        for key in ("script", "end_script", "quotes", "rtl"):
            page.search(HOSTILE[key][:12])
            assert page.count() >= 1, key
            shown = p.eval_on_selector_all("#rows .tr:not([hidden])", "rows => rows.map(r => Array.from(r.children, c => c.textContent))")
            flat = HOSTILE[key].replace("\n", " ").replace("\r", " ").replace("\t", " ")
            assert any(flat in cells for cells in shown), (key, shown)
        page.search("line one")
        cell = p.eval_on_selector("#rows .tr:not([hidden]) .td:nth-child(3)", "c => [c.textContent, c.title, c.dir]")
        assert cell == ["line one line two  and a tab", HOSTILE["newlines"], "auto"]
        p.click("#rows .tr:not([hidden])")
        p.wait_for_selector("#series-chart[data-drawn]")
        assert p.text_content("#series-title").startswith("line one line two")
        page.search("")
        heights = p.eval_on_selector_all("#rows .tr:not([hidden])", "rows => rows.map(r => r.getBoundingClientRect().height)")
        assert heights and set(heights) == {26}  # no value breaks a row's layout
        assert p.evaluate("document.querySelectorAll('script').length") == 5  # no script element was added
        assert p.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
        p.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)
        page.assert_clean()
    finally:
        page.close()


def test_the_table_holds_every_group_and_narrows(browser, modelled) -> None:
    rows = read_summary(modelled["out"] / "full_summary.csv")
    page = Page(browser, modelled["report"])
    try:
        p = page.page
        assert page.count() == len(rows) == 101
        assert p.text_content("#row-count") == f"{len(rows)} of {len(rows)} groups"
        assert p.locator("#rows .tr").count() < 60  # virtual: only rows near the viewport exist
        name = rows[37]["dataset_name"]
        page.search(name)
        assert page.count() == sum(name in r["dataset_name"] for r in rows)
        page.search("")
        assert page.count() == len(rows)
        p.select_option("#filter-trend_flag", label="up")
        assert page.count() == sum(r["trend_flag"] == "up" for r in rows) > 0
        tenant = rows[0]["tenant_id"]
        p.select_option("#filter-tenant_id", label=tenant)
        assert page.count() == sum(r["trend_flag"] == "up" and r["tenant_id"] == tenant for r in rows)
        p.click("#reset")
        assert page.count() == len(rows)
        # scrolling to the end draws the last rows
        p.eval_on_selector("#viewport", "v => { v.scrollTop = v.scrollHeight; }")
        p.wait_for_timeout(200)
        last = p.eval_on_selector_all("#rows .tr:not([hidden])", "rows => rows.map(r => Number(r.dataset.group))")
        assert len(rows) - 1 in last
        page.assert_clean()
    finally:
        page.close()


def test_every_column_sorts(browser, modelled) -> None:
    rows = read_summary(modelled["out"] / "full_summary.csv")
    page = Page(browser, modelled["report"])
    try:
        p = page.page
        headers = p.locator("#thead .th")
        assert headers.count() == 17  # 15 columns, and the forecast's two with a model (expected, risk)
        for i in range(headers.count()):
            headers.nth(i).click()
            first = p.get_attribute(f"#thead .th:nth-child({i + 1})", "aria-sort")
            order = p.evaluate("dqsReport.view()")
            headers.nth(i).click()
            assert p.get_attribute(f"#thead .th:nth-child({i + 1})", "aria-sort") != first
            again = p.evaluate("dqsReport.view()")
            assert sorted(order) == list(range(len(rows))) and sorted(again) == list(range(len(rows)))
            if p.text_content(f"#thead .th:nth-child({i + 1})") == "Fail 1m":
                rates = [float(r["fail_rate_1m"]) for r in rows]
                by_rate = sorted(range(len(rows)), key=lambda g: (-rates[g], g))
                assert (order if first == "descending" else again) == by_rate
            if p.text_content(f"#thead .th:nth-child({i + 1})") == "Dataset":
                names = [r["dataset_name"] for r in rows]
                assert (order if first == "ascending" else again) == sorted(range(len(rows)), key=lambda g: (names[g], g))
        page.assert_clean()
    finally:
        page.close()


def test_a_click_draws_the_series_with_its_band(browser, modelled, tmp_path: Path) -> None:
    folders = shots(tmp_path)
    page = Page(browser, modelled["report"], height=1400)
    try:
        p = page.page
        for folder in folders:
            p.screenshot(path=str(folder / "report-overview.png"))
        assert p.locator("#risk-list li.offender").count() > 0
        assert p.locator("#worst-list li.offender").count() > 0
        p.click("#rows .tr >> nth=3")
        p.wait_for_selector("#series-chart[data-drawn='3']")
        assert p.get_attribute("#series-chart", "data-band") == "yes"
        assert p.locator("#series-chart canvas").count() == 1
        assert p.locator("#series-forecast tr").count() == 1 + 7
        assert p.locator("#series-forecast tr").first.locator("th").count() == 4  # day, expected, band, chance
        twins = p.evaluate("""() => {
            const m = dqsReport.meta.groups;
            const copy = Array.from({length: m}, (_, g) => g).find(g => dqsReport.text('source', g) === 'snowflake-replica');
            const first = [dqsReport.text('dataset_uuid', copy), dqsReport.text('rule_code', copy)];
            const same = [];
            for (let g = 0; g < m; g++) if (dqsReport.text('dataset_uuid', g) === first[0] && dqsReport.text('rule_code', g) === first[1]) same.push(g);
            return same.map(g => JSON.stringify(dqsReport.forecastOf(g)));
        }""")
        assert len(twins) == 2 and twins[0] == twins[1] != "null"
        sentence = (modelled["out"] / "nl_all_rows.txt").read_text(encoding="utf-8").split("\n")[3]
        assert p.text_content("#series-sentence") == sentence
        # the band: its two series hold the forecast days, and the canvas is painted blue there
        band = p.evaluate("""() => {
            const u = dqsReport.chart(), lo = u.data[5], hi = u.data[6];
            const days = lo.map((v, i) => v === null ? -1 : i).filter(i => i >= 0);
            const x = Math.round(u.valToPos(u.data[0][days[days.length - 1]], 'x', true)) - 1;
            const data = u.ctx.getImageData(x, 0, 1, u.ctx.canvas.height).data;
            let blue = 0;
            for (let i = 0; i < data.length; i += 4) if (data[i + 2] > data[i] + 20 && data[i + 3] > 0) blue++;
            return {days: days.length, ordered: days.every(i => lo[i] <= hi[i]), blue: blue};
        }""")
        assert band["days"] == 7 and band["ordered"] and band["blue"] > 5
        p.click("#risk-list li.offender >> nth=0")
        group = int(p.evaluate("dqsReport.header.at_risk[0]"))
        p.wait_for_selector(f"#series-chart[data-drawn='{group}']")
        for folder in folders:
            p.locator("#series").screenshot(path=str(folder / "report-series.png"))
        assert (tmp_path / "report-series.png").stat().st_size > 10_000
        page.assert_clean()
    finally:
        page.close()

