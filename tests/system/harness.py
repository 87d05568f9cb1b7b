"""Run a real Airflow deployment on this machine, one process group per component, stopped by PID.

The pieces, from the bottom up:

* :class:`Process`: a command started in its own process group (``start_new_session``), output
  to a log file; :meth:`Process.stop` sends SIGTERM to the group, then SIGKILL after a grace period.
* :class:`Processes`: every process a test started; :meth:`Processes.stop_all` stops them all
  (always, also on failure), :meth:`Processes.stop` one of them (a test that stops a component on
  purpose uses it, so waits don't take the exit for a crash), :meth:`Processes.log_tails` prints
  their logs.
* :func:`start_postgres`, :func:`start_redis`, :func:`start_emulator`: throw-away services on
  random loopback ports, data in a temp dir.
* :class:`AirflowDeployment`: a temp ``AIRFLOW_HOME`` configured through ``AIRFLOW__...``
  environment variables, ``airflow db migrate``, and ``start_scheduler()``, ``start_triggerer()``,
  ``start_dag_processor()``, ``start_api_server()``, ``start_celery_worker(name)`` (each worker
  with its own ``AIRFLOW_HOME``, working directory and hostname).
* :class:`RestClient`: the public REST API (``/api/v2``) with a JWT from the simple auth manager:
  trigger a DAG run, wait for its state, read task instances and XCom.

Nothing here is timed: every wait has a generous deadline and fails with the logs of every process.
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's bin: airflow, gemini-tuning
WORKER_SITE = Path(__file__).resolve().parent / "worker_site"  # sitecustomize for task processes
ADMIN = "admin"
EMULATOR_API_KEY = "system-test-api-key-0123456789"
STOP_GRACE_SECONDS = 20.0


class SystemTestError(AssertionError):
    """A deployment step failed or timed out; the message carries the processes' logs."""


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (bound then released; the caller binds it right away)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    predicate: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    interval: float = 0.5,
    logs: Callable[[], str] = str,
    exited: Callable[[], list[str]] = list,
) -> Any:
    """Poll ``predicate`` until it returns something truthy; raise :class:`SystemTestError` with ``logs()``.

    Gives up at once when ``exited()`` names processes that died meanwhile.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if dead := exited():
            raise SystemTestError(f"{', '.join(dead)} exited while waiting for {what}\n{logs()}")
        try:
            result = predicate()
            if result:
                return result
        except (httpx.HTTPError, OSError, ValueError) as exc:
            last_error = exc
        time.sleep(interval)
    detail = f" (last error: {last_error!r})" if last_error else ""
    raise SystemTestError(f"timed out after {timeout:.0f}s waiting for {what}{detail}\n{logs()}")


# -- processes -----------------------------------------------------------------------------------


@dataclass
class Process:
    """One started command: its own process group, output in ``log``."""

    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> int | None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds; return the exit code."""
        self.terminate()
        return self.kill(time.monotonic() + grace)

    def terminate(self) -> None:
        """Ask the process group to stop (SIGTERM)."""
        if self.alive():
            self._signal_group(signal.SIGTERM)

    def kill(self, deadline: float) -> int | None:
        """Wait for the leader until ``deadline`` (monotonic), then SIGKILL what is left of the group."""
        try:
            self.popen.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        # Children of the group (task processes, uvicorn workers) may outlive the leader.
        self._signal_group(signal.SIGKILL)
        try:
            return self.popen.wait(5)
        except subprocess.TimeoutExpired:
            return None

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)  # the group id is the leader's PID (start_new_session)
        except (ProcessLookupError, PermissionError):
            pass

    def tail(self, lines: int = 60) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text[-lines:])


@dataclass
class Processes:
    """Every process a test started, stopped together in reverse order."""

    log_dir: Path
    started: list[Process] = field(default_factory=list)

    def start(
        self, name: str, argv: list[str], *, env: dict[str, str], cwd: Path | None = None, user: str | None = None
    ) -> Process:
        """Start ``argv`` as its own process group with stdout+stderr in ``{log_dir}/{name}.log``."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user,
            )
        process = Process(name, popen, log)
        self.started.append(process)
        return process

    def named(self, name: str) -> Process:
        """The running process started as ``name``."""
        return next(p for p in self.started if p.name == name)

    def stop(self, process: Process, grace: float = STOP_GRACE_SECONDS) -> int | None:
        """Stop one process (SIGTERM to its PID's group, SIGKILL after ``grace``) and forget it."""
        self.started.remove(process)
        return process.stop(grace)

    def stop_all(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM every process group at once, then SIGKILL whatever is left after ``grace`` seconds."""
        for process in self.started:
            process.terminate()
        deadline = time.monotonic() + grace
        while self.started:
            self.started.pop().kill(deadline)

    def exited(self) -> list[str]:
        """Names of the started processes that are no longer running."""
        return [p.name for p in self.started if not p.alive()]

    def log_tails(self, lines: int = 60) -> str:
        parts = []
        for p in self.started:
            state = "running" if p.alive() else f"exited {p.popen.returncode}"
            parts.append(f"----- {p.name} (pid {p.pid}, {state}) {p.log} -----\n{p.tail(lines)}")
        return "\n".join(parts)


def run_logged(argv: list[str], *, env: dict[str, str], log: Path, timeout: float, user: str | None = None) -> None:
    """Run a one-off command to completion; raise :class:`SystemTestError` with its output on failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.run(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, user=user, check=False
        )
    if proc.returncode != 0:
        raise SystemTestError(f"{' '.join(argv)} exited {proc.returncode}:\n{log.read_text(errors='replace')[-4000:]}")


# -- services: PostgreSQL, Redis, the emulator ---------------------------------------------------


def postgres_bin_dir() -> Path | None:
    """Directory holding ``initdb`` and ``postgres`` (Debian keeps them off PATH), or None."""
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def missing_services() -> str | None:
    """One line saying why a PostgreSQL + Redis deployment can't run here, or None if it can."""
    missing = []
    if postgres_bin_dir() is None:
        missing.append("PostgreSQL (initdb/postgres)")
    if shutil.which("redis-server") is None:
        missing.append("Redis (redis-server)")
    if not missing:
        if os.geteuid() == 0:
            try:
                import pwd

                pwd.getpwnam("postgres")
            except KeyError:
                return "running as root but there is no 'postgres' user to own the PostgreSQL data directory"
        return None
    return f"{' and '.join(missing)} not installed; as root, ./scripts/bootstrap installs Debian's packages"


@dataclass
class Service:
    process: Process
    url: str
    gcs_root: Path | None = None  # the emulator's gs:// folder


def start_postgres(processes: Processes, root: Path, timeout: float = 60.0) -> Service:
    """A throw-away PostgreSQL cluster in ``root`` on a random port; returns its SQLAlchemy URL (database ``airflow``).

    As root, the cluster runs as the ``postgres`` user (PostgreSQL refuses to run as root) in ``root``,
    which it then owns; the unix socket goes there too.
    """
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise SystemTestError("PostgreSQL is not installed")
    user = "postgres" if os.geteuid() == 0 else None
    root.mkdir(parents=True)
    if user:
        shutil.chown(root, user, user)
        os.chmod(root.parent, root.parent.stat().st_mode | 0o111)  # let it traverse a 0700 temp dir
    data, port = root / "data", free_port()
    env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    run_logged(
        [str(bin_dir / "initdb"), "-D", str(data), "-U", "airflow", "--auth=trust", "-E", "UTF8", "--no-sync"],
        env=env,
        log=processes.log_dir / "initdb.log",
        timeout=timeout,
        user=user,
    )
    argv = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(root)]
    argv += ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off"]
    argv += ["-c", "synchronous_commit=off", "-c", "max_connections=200"]
    process = processes.start("postgres", argv, env=env, user=user)
    admin_url = f"postgresql://airflow@127.0.0.1:{port}/postgres"
    wait_until(lambda: _pg_execute(admin_url, "SELECT 1"), timeout=timeout, what="PostgreSQL", logs=processes.log_tails)
    _pg_execute(admin_url, "CREATE DATABASE airflow")
    return Service(process, f"postgresql+psycopg2://airflow@127.0.0.1:{port}/airflow")


def _pg_execute(url: str, sql: str) -> bool:
    import psycopg2

    try:
        conn = psycopg2.connect(url, connect_timeout=3)
    except psycopg2.OperationalError as exc:
        raise OSError(str(exc)) from exc
    conn.autocommit = True  # CREATE DATABASE can't run in a transaction (so no ``with conn``)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()
    return True


def start_redis(processes: Processes, root: Path, timeout: float = 30.0) -> Service:
    """Redis on a random loopback port, no persistence; returns its ``redis://`` URL."""
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(root), "--daemonize", "no"]
    process = processes.start("redis", argv, env={"PATH": os.environ.get("PATH", "")})

    def ping() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    wait_until(ping, timeout=timeout, what="Redis", logs=processes.log_tails)
    return Service(process, f"redis://127.0.0.1:{port}/0")


def start_emulator(processes: Processes, gcs_root: Path, *, step_seconds: float = 0.01, **flags: Any) -> Service:
    """``gemini-tuning emulator`` in its own process on a random port, ``gs://`` served from ``gcs_root``.

    ``flags`` become command-line options (``fail_jobs=True`` -> ``--fail-jobs``).
    """
    ready = processes.log_dir / "emulator.url"
    ready.unlink(missing_ok=True)
    argv = [str(BIN / "gemini-tuning"), "emulator", "--port", "0", "--api-key", EMULATOR_API_KEY]
    argv += ["--gcs-root", str(gcs_root), "--step-seconds", str(step_seconds), "--ready-file", str(ready)]
    for name, value in flags.items():
        option = "--" + name.replace("_", "-")
        argv += [option] if value is True else [option, str(value)]
    process = processes.start("emulator", argv, env=clean_env())
    wait_until(
        lambda: ready.exists() and ready.read_text().strip(), timeout=60, what="the emulator", logs=processes.log_tails
    )
    return Service(process, ready.read_text().strip(), gcs_root)


# -- Airflow -------------------------------------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any Airflow, pytest or provider settings, plus ``extra``."""
    drop = ("AIRFLOW", "PYTEST", "GEMINI_TUNING")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


class AirflowDeployment:
    """A throw-away Airflow deployment under ``root``: one metadata DB, components started by PID.

    ``config`` holds ``(section, key) -> value`` and becomes ``AIRFLOW__SECTION__KEY`` for every
    component; set entries before starting components. Defaults: LocalExecutor on SQLite, the
    repository's ``dags/``, the simple auth manager with one admin whose password the harness chose.
    """

    def __init__(self, root: Path, *, executor: str = "LocalExecutor", database_url: str | None = None) -> None:
        self.root = root
        self.home = root / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.processes = Processes(root / "logs")
        self.env_extra: dict[str, str] = {}
        self.api_port = free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.password = secrets.token_urlsafe(12)
        passwords = root / "simple_auth_manager_passwords.json"
        passwords.write_text(json.dumps({ADMIN: self.password}))
        self.config: dict[tuple[str, str], str] = {
            ("core", "executor"): executor,
            ("database", "sql_alchemy_conn"): database_url or f"sqlite:///{self.home}/airflow.db",
            ("core", "dags_folder"): str(REPO / "dags"),
            ("core", "load_examples"): "False",
            ("core", "dags_are_paused_at_creation"): "False",
            ("core", "fernet_key"): _fernet_key(),
            ("core", "execution_api_server_url"): f"{self.api_url}/execution/",
            ("core", "simple_auth_manager_users"): f"{ADMIN}:admin",
            ("core", "simple_auth_manager_passwords_file"): str(passwords),
            ("api", "base_url"): self.api_url,
            ("api", "secret_key"): secrets.token_hex(16),
            ("api_auth", "jwt_secret"): secrets.token_hex(32),
            ("dag_processor", "refresh_interval"): "5",
            ("scheduler", "scheduler_heartbeat_sec"): "2",
            ("logging", "worker_log_server_port"): str(free_port()),
            ("logging", "trigger_log_server_port"): str(free_port()),
        }
        self._rest: RestClient | None = None

    # environment ----------------------------------------------------------------------------

    def env(self, home: Path | None = None, **overrides: str) -> dict[str, str]:
        """The environment of a component: ``AIRFLOW_HOME`` plus every config entry as ``AIRFLOW__...``."""
        env = clean_env(AIRFLOW_HOME=str(home or self.home))
        env.update({f"AIRFLOW__{s.upper()}__{k.upper()}": v for (s, k), v in self.config.items()})
        env.update(self.env_extra)
        env.update(overrides)
        return env

    def add_user(self, username: str, role: str) -> str:
        """Another simple-auth-manager user (set before the api-server starts); returns its password."""
        password = secrets.token_urlsafe(12)
        users = self.config[("core", "simple_auth_manager_users")]
        self.config[("core", "simple_auth_manager_users")] = f"{users},{username}:{role}"
        passwords = Path(self.config[("core", "simple_auth_manager_passwords_file")])
        passwords.write_text(json.dumps({**json.loads(passwords.read_text()), username: password}))
        return password

    def airflow(self, *args: str, timeout: float = 300.0) -> None:
        """Run an ``airflow`` CLI command to completion (output in ``logs/cli.log``)."""
        run_logged(
            [str(BIN / "airflow"), *args], env=self.env(), log=self.processes.log_dir / "cli.log", timeout=timeout
        )

    def migrate(self) -> None:
        self.airflow("db", "migrate")

    # components -----------------------------------------------------------------------------

    def start(self, name: str, *args: str, home: Path | None = None, cwd: Path | None = None, **env: str) -> Process:
        """Start ``airflow {args}`` as its own process group named ``name``."""
        argv = [str(BIN / "airflow"), *args]
        return self.processes.start(name, argv, env=self.env(home, **env), cwd=cwd or self.root)

    def start_scheduler(self) -> Process:
        return self.start("scheduler", "scheduler")

    def start_dag_processor(self) -> Process:
        return self.start("dag-processor", "dag-processor")

    def start_triggerer(self, name: str = "triggerer") -> Process:
        return self.start(name, "triggerer")

    def start_api_server(self, timeout: float = 180.0) -> Process:
        """Start the api-server (one uvicorn worker) and wait until ``/api/v2/monitor/health`` answers."""
        process = self.start(
            "api-server", "api-server", "--host", "127.0.0.1", "--port", str(self.api_port), "--workers", "1"
        )
        wait_until(
            lambda: httpx.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).status_code == 200,
            timeout=timeout,
            what=f"the api-server at {self.api_url}",
            logs=self.log_tails,
            exited=self.processes.exited,
        )
        return process

    def start_celery_worker(self, name: str, *, concurrency: int = 2, queues: str | None = None, **env: str) -> Process:
        """A Celery worker with its own ``AIRFLOW_HOME``, working directory, Celery hostname and task hostname.

        Task instances it runs report ``name`` as their hostname (``[core] hostname_callable``);
        ``env`` overrides the environment of this worker only (e.g. one ``AIRFLOW__...`` setting).
        """
        home, cwd = self.worker_home(name), self.root / "workers" / name / "cwd"
        home.mkdir(parents=True, exist_ok=True)
        cwd.mkdir(parents=True, exist_ok=True)
        args = ["celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency", str(concurrency)]
        args += ["--without-gossip", "--without-mingle"]
        if queues:
            args += ["--queues", queues]
        return self.start(
            name,
            *args,
            home=home,
            cwd=cwd,
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__CORE__HOSTNAME_CALLABLE="worker_hostname.get",
            GEMINI_TUNING_SYSTEM_HOSTNAME=name,
            PYTHONPATH=str(WORKER_SITE),
            **env,
        )

    def worker_home(self, name: str) -> Path:
        """The ``AIRFLOW_HOME`` of worker ``name`` (its task logs are under ``logs/``)."""
        return self.root / "workers" / name / "home"

    def wait_healthy(self, components: Iterable[str] = ("scheduler", "triggerer", "dag_processor"), timeout=180.0):
        """Wait until the health endpoint reports each of ``components`` healthy."""

        def healthy() -> bool:
            body = httpx.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).json()
            return all((body.get(c) or {}).get("status") == "healthy" for c in components)

        wait_until(
            healthy,
            timeout=timeout,
            what=f"healthy {', '.join(components)}",
            logs=self.log_tails,
            exited=self.processes.exited,
        )

    def install_local_settings(self, source: Path) -> None:
        """Use ``source`` as ``airflow_local_settings.py`` (cluster policies) of the components on the main home."""
        (self.home / "config").mkdir(exist_ok=True)
        shutil.copyfile(source, self.home / "config" / "airflow_local_settings.py")

    def use_emulator_gcs(self, gcs_root: Path) -> None:
        """Map ``gs://`` onto ``gcs_root`` in every component and task process (``worker_site/sitecustomize.py``)."""
        self.env_extra["GEMINI_TUNING_EMULATOR_GCS_ROOT"] = str(gcs_root)
        self.env_extra["PYTHONPATH"] = str(WORKER_SITE)

    @property
    def rest(self) -> RestClient:
        if self._rest is None:
            self._rest = RestClient(
                self.api_url, ADMIN, self.password, logs=self.log_tails, exited=self.processes.exited
            )
        return self._rest

    def log_tails(self, lines: int = 60) -> str:
        return self.processes.log_tails(lines)

    def stop(self) -> None:
        self.processes.stop_all()


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


# -- REST API ------------------------------------------------------------------------------------

FINISHED_RUN_STATES = {"success", "failed"}


class RestClient:
    """The Airflow 3 public REST API with a JWT from ``POST /auth/token`` (simple auth manager)."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        logs: Callable[[], str] = str,
        exited: Callable[[], list[str]] = list,
    ) -> None:
        self.base_url = base_url
        self.username = username
        self.password = password
        self.logs = logs
        self.exited = exited
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            response = httpx.post(
                f"{self.base_url}/auth/token", json={"username": self.username, "password": self.password}, timeout=30
            )
            self._check(response)
            self._token = response.json()["access_token"]
        return self._token

    def request(self, method: str, path: str, *, ok: Iterable[int] = (), **kwargs: Any) -> httpx.Response:
        """``method /api/v2{path}``; raises with the body unless 2xx or in ``ok``."""
        headers = {"Authorization": f"Bearer {self.token()}"}
        response = httpx.request(method, f"{self.base_url}/api/v2{path}", headers=headers, timeout=60, **kwargs)
        if response.status_code not in ok:
            self._check(response)
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params).json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("POST", path, json=body).json()

    def _check(self, response: httpx.Response) -> None:
        if response.is_error:
            raise SystemTestError(
                f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text[:2000]}"
            )

    # DAGs and runs --------------------------------------------------------------------------

    def wait_for_dag(self, dag_id: str, timeout: float = 240.0) -> dict[str, Any]:
        """Wait until the dag-processor has parsed ``dag_id`` (and it has no import error)."""

        def parsed() -> Any:
            response = self.request("GET", f"/dags/{dag_id}", ok=(404,))
            return response.json() if response.status_code == 200 else None

        return wait_until(
            parsed,
            timeout=timeout,
            what=f"DAG {dag_id} to be parsed",
            interval=1,
            logs=self._logs_and_errors,
            exited=self.exited,
        )

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Trigger a run of ``dag_id`` now; return its ``dag_run_id``."""
        body = self.post(f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})
        return body["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600.0) -> str:
        """Wait until the run finishes; return its state (``success`` or ``failed``)."""

        def finished() -> str | None:
            state = self.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            return state if state in FINISHED_RUN_STATES else None

        return wait_until(
            finished,
            timeout=timeout,
            what=f"run {run_id} of {dag_id} to finish",
            interval=2,
            logs=self._run_logs(dag_id, run_id),
            exited=self.exited,
        )

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        """Task instances of a run by task id (mapped instances: ``task_id[index]``)."""
        body = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=1000)
        result = {}
        for ti in body["task_instances"]:
            key = ti["task_id"] if ti.get("map_index", -1) < 0 else f"{ti['task_id']}[{ti['map_index']}]"
            result[key] = ti
        return result

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """The deserialized XCom value a task pushed."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.get(path, deserialize=True)["value"]

    def _run_logs(self, dag_id: str, run_id: str) -> Callable[[], str]:
        def logs() -> str:
            try:
                states = {k: ti["state"] for k, ti in self.task_instances(dag_id, run_id).items()}
            except (httpx.HTTPError, SystemTestError) as exc:
                states = {"(unavailable)": repr(exc)}
            return f"task states: {states}\n{self.logs()}"

        return logs

    def _logs_and_errors(self) -> str:
        try:
            errors = self.get("/importErrors")
        except (httpx.HTTPError, SystemTestError) as exc:
            errors = repr(exc)
        return f"import errors: {errors}\n{self.logs()}"
