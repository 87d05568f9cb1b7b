"""Fixtures for system tests: real Airflow processes, PostgreSQL, Redis and the emulator, all by PID.

Every process is stopped at teardown (SIGTERM, then SIGKILL), also when a test fails; a failing test
gets the tail of every process's log in its report.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.system.harness import (
    AirflowDeployment,
    Processes,
    Service,
    missing_services,
    start_emulator,
    start_postgres,
    start_redis,
)

_LIVE: list[Processes] = []  # whose logs a failing test's report carries


def require_services() -> None:
    """Skip with one line when PostgreSQL/Redis can't run here; in CI (``CI=true``) fail instead."""
    reason = missing_services()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"system tests must run in CI, but: {reason}", pytrace=False)
    pytest.skip(f"system test skipped: {reason}")


#: per test, including its share of module fixtures (a deployment starts in 1-3 minutes on 2 busy cores)
SYSTEM_TEST_TIMEOUT = 1200


def pytest_collection_modifyitems(items):
    for item in items:
        if item.nodeid.startswith("tests/system/") and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SYSTEM_TEST_TIMEOUT))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for processes in _LIVE:
            report.sections.append((f"process logs ({processes.log_dir})", processes.log_tails(120)))


@pytest.fixture(scope="module")
def system_root() -> Iterator[Path]:
    """A throw-away directory for the module's processes (short, under /tmp, not pytest's 0700 tree)."""
    root = Path(tempfile.mkdtemp(prefix="gemini-tuning-system-"))
    yield root
    if os.environ.get("GEMINI_TUNING_KEEP_SYSTEM_DIRS"):
        print(f"kept {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def services(system_root) -> Iterator[Processes]:
    """The registry of the module's services (PostgreSQL, Redis, the emulator); stopped at the end."""
    processes = Processes(system_root / "services")
    _LIVE.append(processes)
    try:
        yield processes
    finally:
        processes.stop_all()
        _LIVE.remove(processes)


@pytest.fixture(scope="module")
def postgres(services, system_root) -> Service:
    """A throw-away PostgreSQL; ``.url`` is the SQLAlchemy URL of its ``airflow`` database."""
    require_services()
    return start_postgres(services, system_root / "postgres")


@pytest.fixture(scope="module")
def redis(services, system_root) -> Service:
    """A throw-away Redis (no persistence); ``.url`` is its ``redis://`` URL."""
    require_services()
    return start_redis(services, system_root / "redis")


@pytest.fixture(scope="module")
def emulator_process(services, system_root) -> Service:
    """``gemini-tuning emulator`` in its own process; ``gs://`` maps to ``.gcs_root``."""
    return start_emulator(services, system_root / "gcs")


@pytest.fixture(scope="module")
def make_deployment(system_root, services) -> Iterator[Callable[..., AirflowDeployment]]:
    """Factory: ``make_deployment(name, executor=..., database_url=...)`` -> a configured, unstarted deployment.

    Every deployment it made is stopped at the end of the module, before the services it uses.
    """
    made: list[AirflowDeployment] = []

    def make(name: str = "airflow", **kwargs) -> AirflowDeployment:
        deployment = AirflowDeployment(system_root / name, **kwargs)
        made.append(deployment)
        _LIVE.append(deployment.processes)
        return deployment

    try:
        yield make
    finally:
        for deployment in reversed(made):
            deployment.stop()
            _LIVE.remove(deployment.processes)
