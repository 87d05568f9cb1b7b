"""Triggerer benchmark: N deferred tuning jobs in one process, through Airflow's own ``TriggerRunner``.

    nice -n 10 .venv/bin/python benchmarks/triggerer.py                 # N=1,000, P=30 s, both backends (~25 min)
    nice -n 10 .venv/bin/python benchmarks/triggerer.py --triggers 100 --duration 60 --backend gemini_api

For each backend two subjects run one after the other, each in its own child process, each on N
fresh jobs of the same emulator (``gemini-tuning emulator``, a separate process):

* **provider**: N ``TuningJobTrigger`` workloads queued on a real ``TriggerRunner`` and driven by its
  own ``create_triggers()`` (which runs each one with ``run_trigger()``) and
  ``cleanup_finished_triggers()``, once a second as its ``arun()`` loop does. The kwargs are
  Fernet-encrypted as the triggerer stores them, logging is configured as in a triggerer's runner
  process (JSON lines, here to /dev/null) and greenback portals are on. Only the supervisor
  socket is missing: events and failures are counted here instead of being sent.
* **baseline**: the lower bound, a minimal asyncio + httpx poller: one shared ``httpx.AsyncClient``,
  at most 32 requests in flight, one GET of the job per poll, JSON decode, state check, sleep P; each
  job's first poll is spread by up to 10 s as the provider's trigger does, so both send the same GETs
  on the same schedule.

Each child runs ``--duration`` seconds and reports start-up (until every job has been polled once),
RSS (end and peak), open fds (max), CPU per poll and CPU % of a core in the steady window (the last
``--window`` seconds, or from the end of start-up if that is later), the event-loop lag (max
overshoot of a 50 ms sleep: whole run and window), requests per poll and errors (HTTP >= 400,
transport errors, trigger error events and failures). Polls are counted at the transport, by a
wrapper around ``httpx``/``httpx2`` ``AsyncClient.send`` installed in both children: a poll is a GET
of the job's own resource; other requests (the Gemini API operation) count toward requests per poll.

Every job runs ``--steps`` training steps of ``--step-seconds`` each, so all jobs keep running, with a
growing loss history (one snapshot per step on the Gemini API), for the whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter

from emulator_process import EmulatorProcess

CONN_ID = "gemini_triggerer_benchmark"
API_KEY = "benchmark-key"
TOKEN = "benchmark-token"
PROJECT, LOCATION = "benchmark", "us-central1"
EPOCHS, BATCH = 5, 1  # steps per job = examples x epochs / batch: few examples to store in the emulator
TERMINAL = {"ACTIVE", "FAILED", "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"}
BASELINE_IN_FLIGHT = 32
FIRST_POLL_JITTER = 10.0  # seconds, as gemini_tuning.triggers.tuning (not imported: the baseline loads no Airflow)


# -- jobs -------------------------------------------------------------------------------------


def version(backend: str) -> str:
    return "v1beta" if backend == "gemini_api" else "v1beta1"


def auth_headers(backend: str) -> dict[str, str]:
    return {"x-goog-api-key": API_KEY} if backend == "gemini_api" else {"Authorization": f"Bearer {TOKEN}"}


def create_jobs(url: str, backend: str, n: int, steps: int, gcs_root: str) -> list[str]:
    """N running jobs of ``steps`` steps each, created concurrently (not measured)."""
    import httpx

    examples = math.ceil(steps / EPOCHS) * BATCH
    if backend == "gemini_api":
        body = {
            "baseModel": "models/gemini-1.5-flash-001-tuning",
            "tuningTask": {
                "hyperparameters": {"epochCount": EPOCHS, "batchSize": BATCH},
                "trainingData": {
                    "examples": {"examples": [{"textInput": str(i), "output": str(i + 1)} for i in range(examples)]}
                },
            },
        }
    else:
        os.makedirs(os.path.join(gcs_root, "bench"), exist_ok=True)
        with open(os.path.join(gcs_root, "bench", "train.jsonl"), "w") as fh:
            for i in range(examples):
                turns = [{"role": "user", "parts": [{"text": str(i)}]}, {"role": "model", "parts": [{"text": str(i)}]}]
                fh.write(json.dumps({"contents": turns}) + "\n")
        body = {
            "baseModel": "gemini-2.0-flash-001",
            "supervisedTuningSpec": {
                "trainingDatasetUri": "gs://bench/train.jsonl",
                "hyperParameters": {"epochCount": str(EPOCHS), "batchSize": str(BATCH)},
            },
        }

    async def create_all() -> list[str]:
        slots = asyncio.Semaphore(16)
        async with httpx.AsyncClient(base_url=url, headers=auth_headers(backend), timeout=120) as client:

            async def create(i: int) -> str:
                async with slots:
                    if backend == "gemini_api":
                        path = f"/v1beta/tunedModels?tunedModelId=bench-{i:05d}"
                    else:
                        path = f"/v1beta1/projects/{PROJECT}/locations/{LOCATION}/tuningJobs"
                    response = await client.post(path, json=body)
                    response.raise_for_status()
                    name = response.json()["name"]
                    return name.split("/operations/")[0]

            return await asyncio.gather(*(create(i) for i in range(n)))

    return asyncio.run(create_all())


# -- measurement (children) -------------------------------------------------------------------


def rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Probe:
    """Counts polls at the transport and samples CPU, RSS, fds and loop lag once per tick."""

    def __init__(self, names: list[str], backend: str):
        self.names = set(names)
        self.prefix = f"/{version(backend)}/"
        self.first_poll: dict[str, float] = {}
        self.polls = self.requests = 0
        self.errors: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.samples: list[dict] = []
        self.t0 = time.monotonic()
        self.lag_max = 0.0
        self.full_gcs: list[tuple[float, float]] = []  # (when, seconds) of each full garbage collection
        self._gc_started = 0.0
        self.gc_objects = self.gc_frozen = 0

    def install(self) -> None:
        """Wrap ``AsyncClient.send`` of httpx and httpx2 (google-genai uses the latter by default); time full GCs."""
        import gc
        import importlib

        gc.callbacks.append(self._on_gc)

        for module in ("httpx", "httpx2"):
            try:
                cls = importlib.import_module(module).AsyncClient
            except ImportError:
                continue
            cls.send = self._wrap(cls.send)

    def _wrap(self, send):
        probe = self

        async def counted_send(client, request, **kwargs):
            try:
                response = await send(client, request, **kwargs)
            except Exception as exc:
                probe.errors[type(exc).__name__] += 1
                raise
            probe.requests += 1
            if response.status_code >= 400:
                probe.errors[f"HTTP {response.status_code}"] += 1
            name = request.url.path.removeprefix(probe.prefix)
            if request.method == "GET" and name in probe.names:
                probe.polls += 1
                probe.first_poll.setdefault(name, time.monotonic() - probe.t0)
            return response

        return counted_send

    def _on_gc(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._gc_started = time.monotonic()
        else:
            self.full_gcs.append((self._gc_started - self.t0, time.monotonic() - self._gc_started))

    async def watch_lag(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(0.05)
            self.lag_max = max(self.lag_max, time.monotonic() - started - 0.05)

    def sample(self) -> None:
        self.samples.append(
            {
                "t": time.monotonic() - self.t0,
                "cpu": cpu_seconds(),
                "polls": self.polls,
                "requests": self.requests,
                "polled": len(self.first_poll),
                "rss": rss_mb(),
                "fds": len(os.listdir("/proc/self/fd")),
                "lag": self.lag_max,
            }
        )
        self.lag_max = 0.0

    async def run(self, duration: float, tick=None) -> None:
        """Sample once a second for ``duration`` seconds, calling ``tick()`` first (the runner's loop)."""
        self.t0 = time.monotonic()
        self.sample()
        lag = asyncio.create_task(self.watch_lag())
        while time.monotonic() - self.t0 < duration:
            if tick:
                await tick()
            await asyncio.sleep(1.0)
            self.sample()
        lag.cancel()
        import gc

        self.gc_objects, self.gc_frozen = len(gc.get_objects()), gc.get_freeze_count()  # before the triggers end

    def report(self, window: float, poll_interval: float) -> dict:
        s = self.samples
        n = len(self.names)
        startup = max(self.first_poll.values()) if len(self.first_poll) == n else None
        end = s[-1]
        start = next((x for x in s if x["t"] >= end["t"] - window), s[0])
        if startup is not None and startup > start["t"] and end["t"] - startup >= poll_interval:
            start = next(x for x in s if x["t"] >= startup)
        at_startup = next((x for x in s if startup is not None and x["t"] >= startup), None)
        polls = end["polls"] - start["polls"]
        cpu = end["cpu"] - start["cpu"]
        span = end["t"] - start["t"]
        return {
            "triggers": n,
            "startup_s": startup,
            "startup_cpu_s": at_startup["cpu"] - s[0]["cpu"] if at_startup else None,
            "polled_once": len(self.first_poll),
            "rss_start_mb": s[0]["rss"],
            "rss_end_mb": end["rss"],
            "rss_peak_mb": rss_mb("VmHWM"),
            "fds_max": max(x["fds"] for x in s),
            "window_s": [round(start["t"], 1), round(end["t"], 1)],
            "polls_in_window": polls,
            "cpu_per_poll_ms": 1000 * cpu / polls if polls else None,
            "cpu_pct_window": 100 * cpu / span if span else None,
            "requests_per_poll": (end["requests"] - start["requests"]) / polls if polls else None,
            "lag_max_ms": 1000 * max(x["lag"] for x in s),
            "lag_max_at_s": round(max(s, key=lambda x: x["lag"])["t"], 1),
            "lag_max_window_ms": 1000 * max(x["lag"] for x in s if x["t"] > start["t"]),
            "gc_objects_end": self.gc_objects,
            "gc_frozen_end": self.gc_frozen,
            # only the collections of the measured run, not those of the shutdown after it
            "full_gcs": len(gcs := [(at, took) for at, took in self.full_gcs if at <= end["t"]]),
            "full_gcs_in_window": len(in_window := [took for at, took in gcs if at >= start["t"]]),
            "full_gc_max_ms": 1000 * max((took for _, took in gcs), default=0.0),
            "full_gc_max_window_ms": 1000 * max(in_window, default=0.0),
            "errors": dict(self.errors),
            "events": dict(self.events),
        }


def configure_airflow(home: str, url: str, backend: str) -> None:
    from cryptography.fernet import Fernet

    os.environ.update(
        {
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        }
    )
    extra = {"backend": backend, "base_url": url}
    conn = {"conn_type": "gemini_tuning", "extra": extra}
    if backend == "gemini_api":
        conn["password"] = API_KEY
    else:
        extra.update({"project": PROJECT, "location": LOCATION, "access_token": TOKEN})
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(conn)


async def run_provider(names: list[str], args: argparse.Namespace, probe: Probe) -> None:
    """N ``TuningJobTrigger`` workloads through ``TriggerRunner.create_triggers()`` / ``run_trigger()``."""
    from airflow.executors.workloads.trigger import RunTrigger
    from airflow.jobs.triggerer_job_runner import TriggerRunner
    from airflow.models.trigger import Trigger

    from gemini_tuning.triggers.tuning import TuningJobTrigger

    runner = TriggerRunner()
    for trigger_id, name in enumerate(names, 1):
        trigger = TuningJobTrigger(job_name=name, gemini_conn_id=CONN_ID, poll_interval=args.poll_interval)
        classpath, kwargs = trigger.serialize()
        encrypted = Trigger.encrypt_kwargs(kwargs)
        runner.to_create.append(RunTrigger(id=trigger_id, classpath=classpath, encrypted_kwargs=encrypted))

    async def tick() -> None:
        await runner.cleanup_finished_triggers()
        await runner.create_triggers()
        while runner.events:
            probe.events[runner.events.popleft().event.payload.get("status", "?")] += 1
        while runner.failed_triggers:
            _, exc = runner.failed_triggers.popleft()
            probe.errors[f"trigger failed: {type(exc).__name__ if exc else 'no event'}"] += 1

    await probe.run(args.duration, tick)
    for details in runner.triggers.values():
        details["task"].cancel()  # as at triggerer shutdown: no on_kill


async def run_bare(names: list[str], args: argparse.Namespace, probe: Probe) -> None:
    """The provider's triggers as plain asyncio tasks, without Airflow's ``TriggerRunner`` around them.

    Against ``provider``, it shows what the runner itself costs (per-trigger tasks, greenback portals,
    log context); against ``baseline``, what the provider's own code costs.
    """
    from gemini_tuning.triggers.tuning import TuningJobTrigger

    async def drive(trigger: TuningJobTrigger) -> None:
        async for event in trigger.run():
            probe.events[event.payload.get("status", "?")] += 1
            return

    triggers = [
        TuningJobTrigger(job_name=name, gemini_conn_id=CONN_ID, poll_interval=args.poll_interval) for name in names
    ]
    tasks = [asyncio.create_task(drive(trigger)) for trigger in triggers]
    await probe.run(args.duration)
    for task in tasks:
        task.cancel()


async def run_baseline(names: list[str], args: argparse.Namespace, probe: Probe) -> None:
    """The lower bound: one shared httpx client, one GET per poll, a cap on requests in flight."""
    import httpx

    prefix = f"/{version(args.backend)}/"
    slots = asyncio.Semaphore(BASELINE_IN_FLIGHT)
    async with httpx.AsyncClient(base_url=args.url, headers=auth_headers(args.backend), timeout=60) as client:

        async def poll(name: str) -> None:
            # the same schedule as the provider's: each first poll spread by up to 10 s (TuningJobTrigger's
            # FIRST_POLL_JITTER), so both subjects send the same GETs at the same rate; polls sent in one
            # burst share event-loop iterations and cost ~20% less CPU each (docs/performance.md)
            await asyncio.sleep(random.uniform(0, min(args.poll_interval, FIRST_POLL_JITTER)))
            while True:
                async with slots:
                    state = (await client.get(prefix + name)).json().get("state")
                if state in TERMINAL:
                    probe.events[state] += 1
                    return
                await asyncio.sleep(args.poll_interval)

        tasks = [asyncio.create_task(poll(name)) for name in names]
        await probe.run(args.duration)
        for task in tasks:
            task.cancel()


def child(args: argparse.Namespace) -> None:
    with open(args.jobs) as fh:
        names = json.load(fh)
    with tempfile.TemporaryDirectory(prefix="triggerer-bench-") as home:
        if args.child in ("provider", "bare"):
            configure_airflow(home, args.url, args.backend)
            from airflow.sdk.log import configure_logging

            configure_logging(json_output=True, output=open(os.devnull, "wb"), sending_to_supervisor=True)
        probe = Probe(names, args.backend)
        probe.install()
        run = {"provider": run_provider, "bare": run_bare, "baseline": run_baseline}[args.child]
        if args.profile:  # where the CPU goes: cProfile over the whole run, read with pstats
            import cProfile

            with cProfile.Profile() as profile:
                asyncio.run(run(names, args, probe))
            profile.dump_stats(f"{args.profile}.{args.child}.{args.backend}.pstats")
        else:
            asyncio.run(run(names, args, probe))
        result = probe.report(args.window, args.poll_interval)
    with open(args.result, "w") as fh:
        json.dump(result, fh)


# -- orchestration (parent) -------------------------------------------------------------------


def run_child(subject: str, names: list[str], url: str, args: argparse.Namespace, tmp: str) -> dict:
    jobs, result = os.path.join(tmp, "jobs.json"), os.path.join(tmp, f"{subject}.json")
    with open(jobs, "w") as fh:
        json.dump(names, fh)
    argv = [sys.executable, os.path.abspath(__file__), "--child", subject, "--jobs", jobs, "--result", result]
    argv += ["--url", url, "--backend", args.backend, "--duration", str(args.duration)]
    argv += ["--window", str(args.window), "--poll-interval", str(args.poll_interval)]
    if args.profile:
        argv += ["--profile", args.profile]
    load = os.getloadavg()[0]
    subprocess.run(argv, check=True, timeout=args.duration + 300)
    with open(result) as fh:
        report = json.load(fh)
    report["load"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    return report


ROWS = [
    ("RSS at the end (MB)", "rss_end_mb", "{:,.0f}", "<= 250"),
    ("RSS peak (MB)", "rss_peak_mb", "{:,.0f}", ""),
    ("RSS before the first trigger (MB)", "rss_start_mb", "{:,.0f}", ""),
    ("start-up until all polled once (s)", "startup_s", "{:,.1f}", "<= 30"),
    ("CPU during start-up (CPU-s)", "startup_cpu_s", "{:,.1f}", ""),
    ("open fds (max)", "fds_max", "{:,.0f}", "<= 100"),
    ("CPU per poll (ms)", "cpu_per_poll_ms", "{:,.2f}", "<= 1.5x"),
    ("CPU in the window (% of a core)", "cpu_pct_window", "{:,.1f}", ""),
    ("requests per poll", "requests_per_poll", "{:,.2f}", ""),
    ("event-loop lag max, whole run (ms)", "lag_max_ms", "{:,.0f}", "<= 100"),
    ("event-loop lag max, window (ms)", "lag_max_window_ms", "{:,.0f}", ""),
    ("  when the whole-run max was (s)", "lag_max_at_s", "{:,.0f}", ""),
    ("full GCs, whole run", "full_gcs", "{:,.0f}", ""),
    ("full GCs in the window", "full_gcs_in_window", "{:,.0f}", ""),
    ("longest full GC, whole run (ms)", "full_gc_max_ms", "{:,.0f}", ""),
    ("longest full GC, window (ms)", "full_gc_max_window_ms", "{:,.0f}", ""),
    ("polls in the window", "polls_in_window", "{:,.0f}", ""),
    ("objects the collector tracks, at the end", "gc_objects_end", "{:,.0f}", ""),
    ("  of which frozen (gc.freeze)", "gc_frozen_end", "{:,.0f}", ""),
]


def fmt(spec: str, value) -> str:
    return "n/a" if value is None else spec.format(value)


def print_table(backend: str, reports: dict[str, dict], args: argparse.Namespace) -> None:
    """One column per subject; ``ratio`` is provider / baseline (and bare / baseline when bare ran)."""
    subjects = [s for s in ("provider", "bare", "baseline") if s in reports]
    print(f"\n## {backend}: N={args.triggers}, P={args.poll_interval:g} s, {args.duration:g} s per subject")
    ratios = [s for s in ("provider", "bare") if s in reports and "baseline" in reports]
    header = "".join(f" {s:>10}" for s in subjects) + "".join(f" {s + '/base':>13}" for s in ratios)
    print(f"{'':40}{header}  target")
    for label, key, spec, target in ROWS:
        values = [reports[s].get(key) for s in subjects]
        line = "".join(f" {fmt(spec, v):>10}" for v in values)
        b = reports.get("baseline", {}).get(key)
        for s in ratios:
            v = reports[s].get(key)
            numbers = isinstance(v, int | float) and isinstance(b, int | float) and b and key != "lag_max_at_s"
            line += f" {f'{v / b:.2f}x' if numbers else '':>13}"
        print(f"{label:40}{line}  {target}")
    for subject in subjects:
        report = reports[subject]
        if report["startup_s"] is None:
            print(f"{subject}: only {report['polled_once']} of {report['triggers']} polled within the run")
        print(
            f"{subject}: errors {report['errors'] or 0}, events {report['events'] or 'none'}, "
            f"window {report['window_s']} s, load average {report['load'][0]} -> {report['load'][1]}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triggers", type=int, default=1000, help="N, deferred jobs in one process")
    parser.add_argument("--poll-interval", type=float, default=30.0, help="P, seconds between polls of one job")
    parser.add_argument("--backend", choices=["gemini_api", "vertex_ai", "both"], default="both")
    parser.add_argument(
        "--subjects", default="provider,baseline", help="comma-separated: provider, bare (no TriggerRunner), baseline"
    )
    parser.add_argument("--duration", type=float, default=300.0, help="seconds each subject runs")
    parser.add_argument("--window", type=float, default=60.0, help="steady-state window at the end of the run")
    parser.add_argument("--steps", type=int, default=600, help="training steps per job")
    parser.add_argument("--step-seconds", type=float, default=1.0, help="emulated seconds per training step")
    parser.add_argument("--profile", help="write a cProfile of each subject to PROFILE.<subject>.<backend>.pstats")
    parser.add_argument("--child", choices=["provider", "bare", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--jobs", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0

    backends = ["gemini_api", "vertex_ai"] if args.backend == "both" else [args.backend]
    subjects = args.subjects.split(",")
    print(
        f"N={args.triggers} triggers, P={args.poll_interval:g} s, {args.duration:g} s per subject, "
        f"jobs of {args.steps} steps x {args.step_seconds:g} s; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="triggerer-bench-") as tmp:
        emulator = EmulatorProcess(tmp, API_KEY, step_seconds=args.step_seconds, startup_seconds=1)
        with emulator as server:
            for backend in backends:
                args.backend = backend
                reports = {}
                for subject in subjects:
                    server.reset()
                    names = create_jobs(server.url, backend, args.triggers, args.steps, tmp)
                    print(f"{backend} / {subject}: {len(names)} jobs created, running...", flush=True)
                    reports[subject] = run_child(subject, names, server.url, args, tmp)
                    print(json.dumps(reports[subject]), flush=True)
                if len(reports) >= 2:
                    print_table(backend, reports, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
