"""``gemini-tuning emulator`` in a child process, as a remote service would run (shared by the benchmarks).

The benchmark's own interpreter then measures only the client's CPU time, not the server's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time


class EmulatorProcess:
    """Start the emulator CLI on a free port; ``url`` is set once it serves. ``flags`` become ``--flag value``."""

    def __init__(self, tmp: str, api_key: str, **flags: object):
        self.ready = os.path.join(tmp, "emulator.url")
        cli = os.path.join(os.path.dirname(sys.executable), "gemini-tuning")
        argv = [cli, "emulator", "--port", "0", "--api-key", api_key, "--gcs-root", tmp, "--ready-file", self.ready]
        for name, value in flags.items():
            argv += [f"--{name.replace('_', '-')}", str(value)]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def __enter__(self) -> EmulatorProcess:
        deadline = time.monotonic() + 60
        while not (os.path.exists(self.ready) and open(self.ready).read().strip()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the emulator process did not start")
            time.sleep(0.1)
        self.url = open(self.ready).read().strip()
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(10)

    def control(self, method: str, path: str, body: dict | None = None) -> dict:
        """Call the emulator's ``/_emulator/{path}`` control endpoint."""
        import httpx

        return httpx.request(method, f"{self.url}/_emulator/{path}", json=body, timeout=30).json()

    def set_faults(self, **faults: object) -> dict:
        return self.control("POST", "faults", faults)

    def stats(self) -> dict:
        return self.control("GET", "stats")

    def reset(self) -> None:
        self.control("POST", "reset")
