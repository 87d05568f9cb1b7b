"""Dataset validation benchmark: validator throughput vs. the parse-only floor, and the validator's peak RSS.

    .venv/bin/python benchmarks/validate.py                # 1 GiB file under benchmarks/_data/
    .venv/bin/python benchmarks/validate.py --size-mb 100  # quicker

Each measurement runs in its own subprocess on the same (page-cached) file, so the generator's memory
does not count; the child reports its own ``ru_maxrss``.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

PARSE_ONLY = """
import json, resource, sys, time
t = time.perf_counter(); n = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        json.loads(line); n += 1
print(json.dumps({"examples": n, "seconds": time.perf_counter() - t,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

VALIDATOR = """
import json, resource, sys, time
import gemini_tuning.backends  # the limits; imported once per process, not part of the throughput
from gemini_tuning.datasets.engine import Options, validate_dataset
staging = sys.argv[3] if len(sys.argv) > 3 else None
t = time.perf_counter()
report = validate_dataset(sys.argv[1], Options(backend=sys.argv[2], validation_fraction=0.1), staging_uri=staging)
print(json.dumps({"examples": report["total"], "seconds": time.perf_counter() - t,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "valid": report["valid"], "duplicates": report["duplicates"], "ok": report["ok"],
                  "errors": report["errors"]}))
"""

WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "was",
    "for",
    "on",
    "that",
    "with",
    "as",
    "by",
    "at",
    "from",
    "his",
    "her",
    "this",
    "which",
    "have",
    "are",
    "were",
    "be",
    "question",
    "context",
    "answer",
    "model",
    "tuning",
    "dataset",
    "example",
    "input",
    "output",
    "value",
    "number",
    "result",
    "Gemini",
    "café",
    "naïve",
    "über",
    "東京",
    "данные",
    "δεδομένα",
    "résumé",
]


def generate(path: Path, size_bytes: int, seed: int = 0) -> int:
    """Write ~``size_bytes`` of Gemini API examples (1% exact duplicates); returns the example count."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = count = 0
    recent: list[bytes] = []
    with open(path, "wb", buffering=1 << 20) as f:
        while written < size_bytes:
            if recent and rng.random() < 0.01:
                line = rng.choice(recent)
            else:
                text_input = "question: " + " ".join(rng.choices(WORDS, k=rng.randint(5, 250)))
                output = " ".join(rng.choices(WORDS, k=rng.randint(1, 60)))
                line = (json.dumps({"text_input": text_input, "output": output}, ensure_ascii=False) + "\n").encode()
                if len(recent) < 1000:
                    recent.append(line)
                else:
                    recent[rng.randrange(1000)] = line
            f.write(line)
            written += len(line)
            count += 1
    return count


def run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB (default 1024 = 1 GiB)")
    parser.add_argument("--backend", default="vertex_ai", choices=("gemini_api", "vertex_ai"))
    parser.add_argument("--path", type=Path, default=HERE / "_data" / "bench.jsonl")
    parser.add_argument("--stage", action="store_true", help="also write the staged files (to a temp dir)")
    parser.add_argument("--keep", action="store_true", help="reuse an existing file of the right size")
    args = parser.parse_args()

    size = args.size_mb << 20
    if not (args.keep and args.path.exists() and args.path.stat().st_size >= size):
        t = time.perf_counter()
        n = generate(args.path, size)
        print(
            f"generated {args.path} ({args.path.stat().st_size / 2**20:,.0f} MiB, {n:,} examples) "
            f"in {time.perf_counter() - t:.1f}s"
        )
    extra = []
    if args.stage:
        import tempfile

        extra = [tempfile.mkdtemp(prefix="bench-staging-")]
    parse = run(PARSE_ONLY, str(args.path))
    validate = run(VALIDATOR, str(args.path), args.backend, *extra)
    p_rate = parse["examples"] / parse["seconds"]
    v_rate = validate["examples"] / validate["seconds"]
    print(f"examples:              {validate['examples']:,} ({validate['duplicates']:,} duplicates)")
    print(f"parse-only:            {p_rate:,.0f} examples/s ({parse['seconds']:.1f}s)")
    print(
        f"validator ({args.backend}{', staged' if args.stage else ''}): {v_rate:,.0f} examples/s ({validate['seconds']:.1f}s)"
    )
    print(f"ratio:                 {v_rate / p_rate:.0%} of parse-only (target >= 50%)")
    print(f"validator peak RSS:    {validate['max_rss_mb']:.0f} MB (target < 200 MB)")
    if validate["errors"]:
        print(f"dataset-level errors (expected for a benchmark file): {validate['errors']}")


if __name__ == "__main__":
    main()
