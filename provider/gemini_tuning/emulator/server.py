"""Running the emulator: :class:`EmulatorServer` (in-process, for tests) and the ``emulator`` CLI."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import threading
import time
from typing import Any

import httpx
import uvicorn

from gemini_tuning.emulator.app import create_app
from gemini_tuning.emulator.state import DEFAULT_FAIL_MESSAGE, Faults, Settings


class EmulatorServer:
    """The emulator on a loopback port, served by uvicorn in a daemon thread.

    ``port=0`` picks a free port (the socket is bound before uvicorn starts, so there is
    no race). Extra keyword arguments are fault settings (``rate_429``, ``fail_jobs``, ...).
    """

    def __init__(
        self,
        api_key: str = "emulator-key",
        gcs_root: str | None = None,
        step_seconds: float = 0.02,
        startup_seconds: float = 0.1,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: int = 0,
        bearer_token: str | None = None,
        queue_seconds: float = 0.0,
        cancel_seconds: float | None = None,
        dataset_seconds: float = 0.0,
        post_processing_seconds: float = 0.0,
        example_token_limit: int = 131_072,
        **faults: Any,
    ) -> None:
        fault_settings = Faults()
        fault_settings.update(faults)
        self.settings = Settings(
            api_key=api_key,
            bearer_token=bearer_token,
            gcs_root=os.path.abspath(gcs_root) if gcs_root else None,
            step_seconds=step_seconds,
            startup_seconds=startup_seconds,
            queue_seconds=queue_seconds,
            cancel_seconds=cancel_seconds,
            dataset_seconds=dataset_seconds,
            post_processing_seconds=post_processing_seconds,
            example_token_limit=example_token_limit,
            seed=seed,
            faults=fault_settings,
        )
        self.host = host
        self.port = port
        self.app = create_app(self.settings)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def state(self):
        """The in-process :class:`~gemini_tuning.emulator.state.EmulatorState` (for tests)."""
        return self.app.state.emulator

    def start(self, timeout: float = 10.0) -> EmulatorServer:
        """Start serving and wait until ``/_emulator/health`` answers."""
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # not the main thread
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"emulator-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._server.started:
                try:
                    httpx.get(f"{self.url}/_emulator/health", timeout=1.0).raise_for_status()
                    return self
                except httpx.HTTPError:
                    pass
            if not self._thread.is_alive():
                break
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"emulator did not start on {self.host}:{self.port}")

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _control(self, method: str, path: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.request(method, f"{self.url}/_emulator/{path}", json=json, timeout=10.0)
        response.raise_for_status()
        return response.json()

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Change fault injection (partial update); returns the effective settings."""
        return self._control("POST", "faults", faults)

    def faults(self) -> dict[str, Any]:
        return self._control("GET", "faults")

    def reset(self) -> None:
        """Forget all jobs, statistics and faults."""
        self._control("POST", "reset")

    def stats(self) -> dict[str, Any]:
        return self._control("GET", "stats")

    def job_url(self, name: str) -> str:
        """The human-readable page of a job (``tunedModels/x`` or a Vertex tuningJob name)."""
        return f"{self.url}/_emulator/jobs/{name}"


def add_emulator_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``gemini-tuning emulator``; sets ``func`` to :func:`run_emulator_cli`."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8085, help="port (default 8085; 0 picks a free one)")
    parser.add_argument("--api-key", default="emulator-key", help="the Gemini API key to accept")
    parser.add_argument("--bearer-token", default=None, help="require this Vertex AI bearer token (default: any)")
    parser.add_argument("--gcs-root", default=None, help="directory that backs gs://bucket/path (as DIR/bucket/path)")
    parser.add_argument("--step-seconds", type=float, default=0.02, help="simulated seconds per training step")
    parser.add_argument("--startup-seconds", type=float, default=0.1, help="time in JOB_STATE_PENDING")
    parser.add_argument("--queue-seconds", type=float, default=0.0, help="Vertex: time in JOB_STATE_QUEUED")
    parser.add_argument(
        "--dataset-seconds", type=float, default=0.0, help="Vertex: time in TUNING_JOB_STATE_PROCESSING_DATASET"
    )
    parser.add_argument(
        "--post-processing-seconds", type=float, default=0.0, help="Vertex: time in TUNING_JOB_STATE_POST_PROCESSING"
    )
    parser.add_argument(
        "--hold-quota-seconds", type=float, default=0.0, help="Vertex: new jobs wait this long for quota"
    )
    parser.add_argument(
        "--hold-capacity-seconds", type=float, default=0.0, help="Vertex: new jobs wait this long for capacity"
    )
    parser.add_argument(
        "--example-token-limit", type=int, default=131_072, help="Vertex: longer training examples are dropped"
    )
    parser.add_argument("--rate-429", type=float, default=0.0, help="fraction of API calls answered 429")
    parser.add_argument("--rate-500", type=float, default=0.0, help="fraction of API calls answered 500")
    parser.add_argument("--rate-503", type=float, default=0.0, help="fraction of API calls answered 503")
    parser.add_argument("--latency-ms", type=int, default=0, help="added latency per API call")
    parser.add_argument("--fail-jobs", action="store_true", help="new tuning jobs end FAILED")
    parser.add_argument("--fail-message", default=DEFAULT_FAIL_MESSAGE, help="error message of failed jobs")
    parser.add_argument("--seed", type=int, default=0, help="seed for fault draws and generated ids")
    parser.add_argument("--ready-file", default=None, help="write the URL to this file once serving")
    parser.set_defaults(func=run_emulator_cli)


def run_emulator_cli(args: argparse.Namespace) -> int:
    """Serve in the foreground until SIGINT/SIGTERM."""
    if args.gcs_root:
        os.makedirs(args.gcs_root, exist_ok=True)
    server = EmulatorServer(
        api_key=args.api_key,
        gcs_root=args.gcs_root,
        step_seconds=args.step_seconds,
        startup_seconds=args.startup_seconds,
        host=args.host,
        port=args.port,
        seed=args.seed,
        bearer_token=args.bearer_token,
        queue_seconds=args.queue_seconds,
        dataset_seconds=args.dataset_seconds,
        post_processing_seconds=args.post_processing_seconds,
        example_token_limit=args.example_token_limit,
        hold_quota_seconds=args.hold_quota_seconds,
        hold_capacity_seconds=args.hold_capacity_seconds,
        rate_429=args.rate_429,
        rate_500=args.rate_500,
        rate_503=args.rate_503,
        latency_ms=args.latency_ms,
        fail_jobs=args.fail_jobs,
        fail_message=args.fail_message,
    )
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    server.start()
    try:
        print(f"gemini-tuning emulator serving on {server.url} (api key {args.api_key!r})", flush=True)
        if args.ready_file:
            tmp = f"{args.ready_file}.tmp"
            with open(tmp, "w") as fh:
                fh.write(server.url + "\n")
            os.replace(tmp, args.ready_file)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
