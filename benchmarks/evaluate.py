"""Evaluation benchmark: the real runner against the emulator (its own process) with added latency.

    .venv/bin/python benchmarks/evaluate.py                    # 1,000 examples, 100 ms latency (~2 minutes)
    .venv/bin/python benchmarks/evaluate.py --examples 200     # quicker

1. Throughput of ``max_concurrency=1`` vs ``max_concurrency=32`` (target ratio >= 20x).
2. The same concurrent run with 10% of requests answered 429: examples lost (no outcome at all; target 0)
   and examples that still failed after the client's retries (counted as failed, never dropped).

The emulator runs as a separate ``gemini-tuning emulator`` process, as a remote service would, so
the client's CPU time is measured apart from the server's (``--in-process`` shares one interpreter
and one GIL between them, which caps the speed-up on a 2-core machine).

The tuned model is trained on ``--distinct`` prompts (20) and the examples cycle through them: every
prompt is a training input, and the emulator ranks each prompt against the training set (a difflib
ratio per training example), so a small set keeps its CPU per request negligible. The time measured is
the request path (client, retries, latency), not the emulator's similarity search.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time

from emulator_process import EmulatorProcess

CONN_ID = "gemini_eval_benchmark"
API_KEY = "benchmark-key"
BASE_MODEL = "models/gemini-1.5-flash-001-tuning"


def setup_airflow_env(home: str) -> None:
    os.environ.setdefault("AIRFLOW_HOME", home)
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")  # no per-request INFO lines


def quiet_logs() -> None:
    import logging

    for name in ("httpx", "httpx2", "google_genai", "google_genai.models", "uvicorn", "uvicorn.access", "airflow"):
        logging.getLogger(name).setLevel(logging.WARNING)


def set_connection(url: str, retries: int, initial_delay: float, max_delay: float) -> None:
    conn = {
        "conn_type": "gemini_tuning",
        "password": API_KEY,
        "extra": {
            "backend": "gemini_api",
            "base_url": url,
            "emulator": True,
            "retries": retries,
            "retry_initial_delay": initial_delay,
            "retry_max_delay": max_delay,
            "timeout": 60,
        },
    }
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(conn)


def run(examples, model: str, concurrency: int) -> tuple[float, dict]:
    """One evaluation pass through the real runner with a fresh hook (one event loop per pass)."""
    from gemini_tuning.evaluation.runner import generate_all
    from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

    hook = GeminiTuningHook(CONN_ID)
    started = time.perf_counter()
    outcomes = asyncio.run(generate_all(hook, {"tuned": model}, examples, max_concurrency=concurrency))
    return time.perf_counter() - started, outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument(
        "--distinct",
        type=int,
        default=20,
        help="distinct prompts the model is tuned on; the examples cycle through them",
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate-429", type=float, default=0.10)
    parser.add_argument("--retries", type=int, default=5, help="client attempts per request (connection 'retries')")
    parser.add_argument("--retry-initial-delay", type=float, default=0.1)
    parser.add_argument("--retry-max-delay", type=float, default=2.0)
    parser.add_argument("--in-process", action="store_true", help="run the emulator in this interpreter")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="gemini-eval-bench-") as tmp:
        setup_airflow_env(tmp)
        from gemini_tuning.emulator.server import EmulatorServer
        from gemini_tuning.evaluation.examples import EvalExample
        from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

        quiet_logs()
        emulator = (
            EmulatorServer(api_key=API_KEY, gcs_root=tmp, step_seconds=0.0005, startup_seconds=0.01)
            if args.in_process
            else EmulatorProcess(tmp, API_KEY, step_seconds=0.0005, startup_seconds=0.01)
        )
        with emulator as server:
            set_connection(server.url, args.retries, args.retry_initial_delay, args.retry_max_delay)
            pairs = [(f"What comes after {i}?", str(i + 1)) for i in range(args.distinct)]
            hook = GeminiTuningHook(CONN_ID)
            job = hook.create_tuning_job(
                base_model=BASE_MODEL,
                training_examples=[{"text_input": q, "output": a} for q, a in pairs],
                job_id="eval-benchmark",
                hyperparameters={"epoch_count": 1},
            )
            job = hook.wait_for_tuning_job(job.name, poll_interval=0.05)
            model = job.endpoint or job.tuned_model
            examples = [EvalExample(i, i + 1, *pairs[i % len(pairs)]) for i in range(args.examples)]
            n = len(examples)

            server.set_faults(latency_ms=args.latency_ms)
            where = "in-process" if args.in_process else "separate process"
            print(
                f"{n} examples, {args.latency_ms} ms added latency per request, emulator {where}, model {model}",
                flush=True,
            )
            seq_s, seq = run(examples, model, 1)
            print(f"sequential (max_concurrency=1):  {seq_s:8.2f} s  {n / seq_s:8.1f} examples/s", flush=True)
            con_s, con = run(examples, model, args.concurrency)
            print(
                f"concurrent (max_concurrency={args.concurrency}): {con_s:8.2f} s  {n / con_s:8.1f} examples/s",
                flush=True,
            )
            ratio = seq_s / con_s
            print(f"speed-up: {ratio:.1f}x (target >= 20x)")
            wrong = sum(1 for o, e in zip(con["tuned"], examples) if o.output != e.expected)
            print(f"answers not matching the expected output (no faults): {wrong}")

            before = server.stats()["faults_injected"]["429"]
            server.set_faults(latency_ms=args.latency_ms, rate_429=args.rate_429)
            fault_s, faulted = run(examples, model, args.concurrency)
            injected = server.stats()["faults_injected"]["429"] - before
            outcomes = faulted["tuned"]
            lost = n - sum(1 for o in outcomes if o is not None)
            failed = sum(1 for o in outcomes if o is not None and not o.ok)
            print(
                f"with {args.rate_429:.0%} injected 429s (retries={args.retries}): {injected} 429s served, "
                f"{fault_s:.2f} s, lost {lost} (target 0), failed after retries {failed}"
            )
            ok = ratio >= 20 and lost == 0
    print("RESULT:", "meets targets" if ok else "MISSES a target")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
