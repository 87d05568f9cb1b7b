from __future__ import annotations

import json
from pathlib import Path


def pairs(n: int, prefix: str = "q") -> list[dict[str, str]]:
    return [{"text_input": f"{prefix} {i}", "output": f"answer {i}"} for i in range(n)]


def write_jsonl(path: Path, rows) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(row if isinstance(row, str) else json.dumps(row))
            f.write("\n")
    return path
