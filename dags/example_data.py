"""A small, real text-classification task for the example DAGs: support tickets -> category.

Tickets are generated deterministically from a seed (a new seed each week gives "fresh data")
and stored in a SQLite database, the "source system" the example pipeline extracts from.

This helper sits next to the example DAGs, not in the provider package: Airflow puts the DAGs folder on
``sys.path``, so the DAGs import it as ``example_data`` (inside their tasks, keeping parsing light).
``.airflowignore`` keeps the DAG processor from parsing it as a DAG file.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

CATEGORIES: dict[str, list[str]] = {
    "billing": [
        "I was charged twice for my {product} subscription",
        "my invoice for {product} shows the wrong amount",
        "please refund the {product} payment from last week",
        "why did my card get billed for {product} again",
        "the {product} renewal price is higher than agreed",
    ],
    "shipping": [
        "my {product} order has not arrived yet",
        "the tracking number for my {product} does not work",
        "the {product} was delivered to the wrong address",
        "can you ship the {product} faster, it is a gift",
        "the courier lost my {product} parcel",
    ],
    "hardware": [
        "my {product} does not turn on anymore",
        "the screen of the {product} is cracked after one day",
        "the {product} battery drains in an hour",
        "the {product} makes a clicking noise when it starts",
        "the buttons on my {product} stopped responding",
    ],
    "account": [
        "I cannot log in to my {product} account",
        "please reset the password for my {product} login",
        "how do I change the email on my {product} account",
        "my {product} account was locked after two attempts",
        "I want to delete my {product} account and data",
    ],
}
PRODUCTS = [
    "Aurora phone",
    "Nimbus laptop",
    "Pico speaker",
    "Vega watch",
    "Orbit tablet",
    "Echo router",
    "Lumen camera",
]
OPENERS = ["", "hello, ", "hi team, ", "urgent: ", "good morning, ", "sorry to bother you, "]
CLOSERS = ["", " thanks", " please help", " can someone look at this?", " this is the second time I ask"]


def generate_tickets(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """``count`` (ticket text, category) pairs, the same for the same seed."""
    rng = random.Random(seed)
    tickets = []
    for _ in range(count):
        category = rng.choice(sorted(CATEGORIES))
        body = rng.choice(CATEGORIES[category]).format(product=rng.choice(PRODUCTS))
        tickets.append((f"{rng.choice(OPENERS)}{body}.{rng.choice(CLOSERS)}".strip(), category))
    return tickets


def seed_ticket_db(path: str | Path, count: int = 240, seed: int = 0, batch: str = "initial") -> int:
    """Insert a batch of tickets (idempotent per ``batch``); return the table's row count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS support_tickets ("
            "id INTEGER PRIMARY KEY, batch TEXT NOT NULL, ticket TEXT NOT NULL, category TEXT NOT NULL)"
        )
        if not db.execute("SELECT 1 FROM support_tickets WHERE batch = ? LIMIT 1", (batch,)).fetchone():
            db.executemany(
                "INSERT INTO support_tickets (batch, ticket, category) VALUES (?, ?, ?)",
                [(batch, ticket, category) for ticket, category in generate_tickets(count, seed)],
            )
        return db.execute("SELECT COUNT(*) FROM support_tickets").fetchone()[0]


def export_tickets(path: str | Path, target, batches: list[str] | None = None) -> int:
    """Stream rows ``{"ticket", "category"}`` as JSONL to ``target`` (an ObjectStoragePath); return the count."""
    import json

    query = "SELECT ticket, category FROM support_tickets"
    params: list[str] = []
    if batches:
        query += f" WHERE batch IN ({','.join('?' * len(batches))})"
        params = batches
    count = 0
    with sqlite3.connect(path) as db, target.open("w") as out:
        for ticket, category in db.execute(query + " ORDER BY id", params):
            out.write(json.dumps({"ticket": ticket, "category": category}) + "\n")
            count += 1
    return count


def stage_tickets(
    database: str, filename: str, *, count: int = 240, seed: int = 0, batch: str = "initial"
) -> tuple[str, int]:
    """The example DAGs' "extract" step; returns (URI, rows) of ``{staging}/raw/{filename}``.

    Seeds ``$AIRFLOW_HOME/gemini_tuning/{database}`` with a batch of tickets (once per batch), records
    the batch under ``{staging}/raw/batches/{database stem}/{batch}.jsonl`` (once), and exports every
    recorded batch. The cumulative set is what the staging location holds, not what this worker's
    local database happens to have seen, so any worker exports the same data.
    """
    import os

    from airflow.sdk import ObjectStoragePath

    from gemini_tuning.datasets.staging import default_staging_uri

    db = os.path.join(os.environ.get("AIRFLOW_HOME", "."), "gemini_tuning", database)
    seed_ticket_db(db, count=count, seed=seed, batch=batch)
    raw = ObjectStoragePath(default_staging_uri()) / "raw"
    batches = raw / "batches" / Path(database).stem
    batches.mkdir(parents=True, exist_ok=True)
    recorded = batches / f"{batch}.jsonl"
    if not recorded.exists():
        export_tickets(db, recorded, batches=[batch])
    target = raw / filename
    rows = 0
    with target.open("w") as out:
        for part in sorted(batches.iterdir(), key=lambda path: path.name):
            with part.open() as lines:
                for line in lines:
                    out.write(line)
                    rows += 1
    return str(target), rows
