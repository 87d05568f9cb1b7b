"""The UI plugin as a person uses it: a real Airflow (api-server, scheduler, dag-processor, triggerer)
with the emulator, driven by headless Chromium (Debian's ``chromium`` + ``chromium-driver``, selenium).

Runs: two tuning runs of ``ui_showcase`` (one whose evaluation gate fails, one that passes), one whose
job fails, and ``secret_long``'s job still running. Then, logged in as the admin, the test opens the
"Gemini Tuning" page, the "Tuning" tab of a finished, a running and an evaluation task, and the
DAG's "Tuning history" tab, checks what they show and saves screenshots to ``test-output/ui/``.
A second user, who may not read ``secret_long``, gets nothing of it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.system.harness import EMULATOR_API_KEY, REPO, AirflowDeployment, Service, start_emulator, wait_until
from tests.system.ui_dags.ui_showcase import XSS_ATTR, XSS_SCRIPT
from tests.ui_helpers import LIMITED_USER

pytestmark = pytest.mark.timeout(1500)  # a whole deployment and four DAG runs on a shared machine

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
OUTPUT = REPO / "test-output" / "ui"
FAIL_MESSAGE = "Training diverged: loss became NaN at step 4 <b>(see the logs)</b>"
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1440,1000",
]


def require_browser() -> None:
    """Skip with one line where Chromium isn't installed; in CI (``CI=true``) fail instead."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if not missing:
        return
    reason = f"browser test skipped: {' and '.join(missing)} not installed (as root, ./scripts/bootstrap installs them)"
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(reason.replace("skipped", "cannot run in CI"), pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def system_root():
    """This module's own temp dir (not the shared ``gemini-tuning-system-`` prefix, which others clean up)."""
    root = Path(tempfile.mkdtemp(prefix="ui-browser-system-"))
    yield root
    if not os.environ.get("GEMINI_TUNING_KEEP_SYSTEM_DIRS"):
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Site:
    deployment: AirflowDeployment
    emulator: Service
    gated_run: str  # evaluation gate failed
    passed_run: str  # evaluation gate passed
    failed_run: str  # the tuning job failed
    long_run: str  # secret_long, its job still running
    limited_password: str

    @property
    def url(self) -> str:
        return self.deployment.api_url


def _deploy(make_deployment, services, system_root) -> tuple[AirflowDeployment, Service, str]:
    emulator = start_emulator(services, system_root / "gcs", step_seconds=0.5)
    deployment = make_deployment("ui")
    deployment.config[("core", "dags_folder")] = str(Path(__file__).parent / "ui_dags")
    deployment.config[("core", "auth_manager")] = "tests.ui_helpers.DagLimitedAuthManager"
    limited_password = deployment.add_user(LIMITED_USER, "viewer")
    connection = {
        "conn_type": "gemini_tuning",
        "password": EMULATOR_API_KEY,
        "extra": {"backend": "gemini_api", "base_url": emulator.url, "emulator": True, "retries": 2},
    }
    deployment.env_extra.update(
        PYTHONPATH=str(REPO),  # the test auth manager lives in tests/
        AIRFLOW_CONN_GEMINI_TUNING_DEFAULT=json.dumps(connection),
        AIRFLOW__GEMINI_TUNING__STAGING_URI=f"file://{system_root}/staging",
        AIRFLOW__GEMINI_TUNING__UI_STATUS_TTL="2",
    )
    deployment.migrate()
    deployment.start_api_server()
    deployment.start_scheduler()
    deployment.start_dag_processor()
    deployment.start_triggerer()
    deployment.wait_healthy()
    return deployment, emulator, limited_password


@pytest.fixture(scope="module")
def site(make_deployment, services, system_root) -> Site:
    require_browser()
    deployment, emulator, limited_password = _deploy(make_deployment, services, system_root)
    rest = deployment.rest
    rest.wait_for_dag("ui_showcase")
    rest.wait_for_dag("secret_long")
    gated = rest.trigger("ui_showcase", {"epochs": 3, "min_score": 1.01})
    passed = rest.trigger("ui_showcase", {"epochs": 4, "min_score": 0.5})
    assert (rest.wait_for_run("ui_showcase", gated), rest.wait_for_run("ui_showcase", passed)) == ("failed", "success")
    assert rest.task_instances("ui_showcase", gated)["evaluate"]["state"] == "failed"  # the gate, not the job
    httpx.post(f"{emulator.url}/_emulator/faults", json={"fail_jobs": True, "fail_message": FAIL_MESSAGE}, timeout=10)
    failed = rest.trigger("ui_showcase", {"epochs": 3, "min_score": 0.5})
    assert rest.wait_for_run("ui_showcase", failed) == "failed"
    assert rest.task_instances("ui_showcase", failed)["tune"]["state"] == "failed"
    httpx.post(f"{emulator.url}/_emulator/faults", json={"fail_jobs": False}, timeout=10)
    long = rest.trigger("secret_long")
    wait_until(
        lambda: rest.task_instances("secret_long", long)["tune_long"]["state"] == "deferred",
        timeout=240,
        what="secret_long's job to be submitted and waited on",
        logs=deployment.log_tails,
    )
    return Site(deployment, emulator, gated, passed, failed, long, limited_password)


@pytest.fixture(scope="module")
def browser(site):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    os.environ.setdefault("SE_OFFLINE", "true")  # never let selenium look for a browser to download
    profile = tempfile.mkdtemp(prefix="gemini-tuning-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*BROWSER_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=DriverService(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    try:
        log_in(driver, site.url, "admin", site.deployment.password)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def log_in(driver, url: str, username: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/auth/login")
    wait_for(driver, lambda: driver.find_elements(By.NAME, "username"), "the login form")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(driver, lambda: "/auth/login" not in driver.current_url, "the login to finish")


def wait_for(driver, predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = predicate()
        except Exception:  # the page is still loading: stale or missing elements
            result = None
        if result:
            return result
        time.sleep(0.5)
    driver.save_screenshot(str(OUTPUT / "timeout.png"))
    raise AssertionError(f"timed out waiting for {what} (screenshot: {OUTPUT / 'timeout.png'})")


def open_view(driver, url: str, ready_selector: str) -> None:
    """Open an Airflow page and switch into the plugin's iframe once ``ready_selector`` is in it."""
    from selenium.webdriver.common.by import By

    driver.switch_to.default_content()
    driver.get(url)
    frame = wait_for(driver, lambda: driver.find_elements(By.CSS_SELECTOR, "iframe"), f"the plugin frame on {url}")[0]
    driver.switch_to.frame(frame)
    wait_for(driver, lambda: driver.find_elements(By.CSS_SELECTOR, ready_selector), f"{ready_selector} in {url}")


def screenshot(driver, name: str) -> Path:
    """The whole Airflow page (the plugin's frame included)."""
    driver.switch_to.default_content()
    path = OUTPUT / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def task_tab(site: Site, dag_id: str, run_id: str, task_id: str) -> str:
    return f"{site.url}/dags/{dag_id}/runs/{quote(run_id, safe='')}/tasks/{task_id}/plugin/gemini-tuning-task"


def test_jobs_page_lists_finished_failed_and_running_jobs(site, browser):
    from selenium.webdriver.common.by import By

    def states() -> list[str]:
        """The rows' job states, once the service has answered about the unfinished ones."""
        open_view(browser, f"{site.url}/plugin/gemini-tuning", "table.jobs")
        found = sorted(row.get_attribute("data-state") for row in browser.find_elements(By.CSS_SELECTOR, "tr.job"))
        return found if "unknown" not in found else []  # not yet: the next page has the answer

    assert wait_for(browser, states, "the service's answer about the unfinished jobs") == [
        "failed",
        "running",
        "succeeded",
        "succeeded",
    ]
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.job")
    by_state = {}
    for row in rows:
        by_state.setdefault(row.get_attribute("data-state"), []).append(row)
    running = by_state["running"][0]
    assert "secret_long" in running.text
    progress = running.find_element(By.TAG_NAME, "progress")
    assert 0 < float(progress.get_attribute("value")) < 100
    failed = by_state["failed"][0]
    assert FAIL_MESSAGE in failed.find_element(By.CSS_SELECTOR, ".error").text  # the markup shows as text
    assert not failed.find_elements(By.TAG_NAME, "b")
    verdicts = sorted(row.find_element(By.CSS_SELECTOR, ".gate").text for row in by_state["succeeded"])
    assert verdicts == ["gates failed", "gates passed"]
    for row in by_state["succeeded"]:
        assert row.find_element(By.CSS_SELECTOR, ".tuned-score").text.replace(".", "").isdigit()
        assert row.find_element(By.CSS_SELECTOR, "a.external").get_attribute("href").startswith(site.emulator.url)
    screenshot(browser, "jobs-page")


def test_task_tab_of_a_finished_job_draws_its_loss_curve(site, browser):
    from selenium.webdriver.common.by import By

    open_view(browser, task_tab(site, "ui_showcase", site.passed_run, "tune"), "svg.loss-chart")
    chart = browser.find_element(By.CSS_SELECTOR, "svg.loss-chart")
    assert chart.get_attribute("data-points") == "4"  # four epochs were asked for
    assert len(chart.find_elements(By.CSS_SELECTOR, "circle.loss-point")) == 4
    assert "recommended:" in chart.text
    facts = browser.find_element(By.CSS_SELECTOR, "dl.hyperparameters").text
    assert "epoch_count" in facts and "4" in facts
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "rejected\n2" in page and "held out" in page  # the dataset's stats, from the validate task
    assert "gates passed" in page
    screenshot(browser, "task-tab")


def test_task_tab_of_a_running_job_refreshes_itself(site, browser):
    from selenium.webdriver.common.by import By

    open_view(browser, task_tab(site, "secret_long", site.long_run, "tune_long"), "#live progress")
    first = float(browser.find_element(By.CSS_SELECTOR, "#live progress").get_attribute("value"))
    browser.execute_script("window.__not_reloaded = true;")
    wait_for(
        browser,
        lambda: float(browser.find_element(By.CSS_SELECTOR, "#live progress").get_attribute("value")) > first,
        "the progress to move without a reload",
        timeout=90,
    )
    assert browser.execute_script("return window.__not_reloaded === true;")
    assert browser.find_elements(By.CSS_SELECTOR, "#live svg.loss-chart polyline.steps")  # the loss per step
    assert "as the service reported at" in browser.find_element(By.ID, "live").text
    screenshot(browser, "running-job")


def test_evaluation_tab_shows_model_output_as_text(site, browser):
    from selenium.webdriver.common.by import By

    open_view(browser, task_tab(site, "ui_showcase", site.passed_run, "evaluate"), "table.examples")
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.example")
    assert 0 < len(rows) <= 25
    cells = " ".join(row.text for row in rows)
    assert XSS_SCRIPT in cells and XSS_ATTR in cells  # shown, not run
    assert browser.find_elements(By.CSS_SELECTOR, "tr.example.disagree")  # the misread "account" tickets
    assert not browser.find_elements(By.CSS_SELECTOR, "main img, main script")
    assert browser.execute_script("return window.__xss === undefined && window.top.__xss === undefined;")
    assert browser.find_element(By.CSS_SELECTOR, "table.metrics tr.headline").text.startswith("exact_match")
    browser.execute_script("document.querySelector('section.results').scrollIntoView();")
    screenshot(browser, "evaluation-tab")


def test_history_tab_charts_runs_and_the_promoted_model(site, browser):
    from selenium.webdriver.common.by import By

    open_view(browser, f"{site.url}/dags/ui_showcase/plugin/gemini-tuning-history", "table.history")
    runs = browser.find_elements(By.CSS_SELECTOR, "tr.history-run")
    assert len(runs) == 3
    assert len(browser.find_elements(By.CSS_SELECTOR, "tr.history-run.promoted")) == 1
    scores = browser.find_element(By.CSS_SELECTOR, "svg.history-scores")
    assert scores.get_attribute("data-points") == "4"  # tuned and baseline of the two evaluated runs
    assert browser.find_element(By.CSS_SELECTOR, "svg.history-epochs").get_attribute("data-points") == "2"
    screenshot(browser, "history-tab")


def test_pages_need_a_login_and_hide_what_a_user_may_not_read(site):
    plugin = f"{site.url}/gemini-tuning"
    paths = [
        "/",
        "/api/jobs",
        f"/tasks/secret_long/{quote(site.long_run, safe='')}/tune_long/-1",
        "/dags/secret_long/history",
        "/api/dags/secret_long/history",
        "/static/ui.css",
    ]
    for path in paths:
        assert httpx.get(plugin + path, timeout=30).status_code == 401, path
    token = httpx.post(
        f"{site.url}/auth/token", json={"username": LIMITED_USER, "password": site.limited_password}, timeout=30
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    jobs = httpx.get(f"{plugin}/api/jobs", headers=headers, timeout=30).json()["jobs"]
    assert {job["task"]["dag_id"] for job in jobs} == {"ui_showcase"}
    for path in paths[2:5]:
        assert httpx.get(plugin + path, headers=headers, timeout=30).status_code == 403, path
    page = httpx.get(plugin + "/", headers=headers, timeout=30).text
    assert "ui_showcase" in page and "secret_long" not in page
