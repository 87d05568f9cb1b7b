from __future__ import annotations

import pytest

from tests.dataset_helpers import write_jsonl


@pytest.fixture
def jsonl(tmp_path):
    def make(rows, name="data.jsonl"):
        return write_jsonl(tmp_path / name, rows)

    return make
