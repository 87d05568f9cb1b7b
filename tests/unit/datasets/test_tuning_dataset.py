"""``resolve_training_dataset``: what CreateTuningJobOperator makes of its ``training_dataset``, before any request."""

from __future__ import annotations

import json

import pytest

from gemini_tuning.datasets.engine import Options, validate_dataset
from gemini_tuning.datasets.errors import DatasetUploadError, DatasetValidationError
from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.tuning_dataset import resolve_training_dataset
from tests.dataset_helpers import pairs, write_jsonl


@pytest.fixture
def staging(tmp_path, monkeypatch):
    uri = f"file://{tmp_path}/staging"
    monkeypatch.setenv("AIRFLOW__GEMINI_TUNING__STAGING_URI", uri)
    return uri


@pytest.fixture
def gcs(tmp_path):
    from gemini_tuning.emulator.gcs import register_gcs_emulator

    register_gcs_emulator(str(tmp_path / "gcs"))
    return tmp_path / "gcs"


def test_a_raw_file_with_a_bad_line_names_file_and_line(tmp_path, staging):
    src = write_jsonl(tmp_path / "data.jsonl", [*pairs(30), '{"text_input": "q", "output": '])
    with pytest.raises(DatasetValidationError) as exc:
        resolve_training_dataset(str(src), "gemini_api")
    assert f"{src}:31: json: invalid JSON: Expecting value (column 31)" in str(exc.value)


def test_a_raw_file_over_the_inline_limit_is_refused(tmp_path, staging):
    rows = [{"text_input": f"{i} " + "x" * 9_000, "output": "y" * 1_000} for i in range(1_000)]  # ~10 MB
    src = write_jsonl(tmp_path / "big.jsonl", rows)
    with pytest.raises(DatasetValidationError, match=r"the Gemini API inline upload limit is 4 MB"):
        resolve_training_dataset(str(src), "gemini_api")


def test_a_raw_file_is_staged_and_outputs_go_under_the_staging_location(tmp_path, staging):
    source_dir = tmp_path / "read-only-bucket"
    source_dir.mkdir()
    src = write_jsonl(source_dir / "data.jsonl", pairs(30))
    dataset = resolve_training_dataset(str(src), "gemini_api")
    assert dataset.examples == pairs(30) and dataset.train_count == 30
    assert dataset.training_dataset_uri.startswith(staging + "/") and dataset.staging_dir.startswith(staging + "/")
    assert sorted(p.name for p in source_dir.iterdir()) == ["data.jsonl"]
    again = resolve_training_dataset(str(src), "gemini_api", load_examples=False)  # resuming after deferral
    assert again.examples is None and again.training_dataset_uri == dataset.training_dataset_uri


@pytest.mark.parametrize("wrap", [lambda rows: rows, lambda rows: {"examples": rows}, str, json.dumps])
def test_inline_shapes_on_the_gemini_api(staging, wrap):
    dataset = resolve_training_dataset(wrap(pairs(25)), "gemini_api")
    assert dataset.train_count == 25 and dataset.staging_dir.startswith(staging)


def test_a_staged_dataset_is_used_as_it_is_even_rendered(tmp_path, staging):
    report = validate_dataset(pairs(30), Options(validation_fraction=0.2), staging_uri=str(tmp_path / "s"))
    for value in (report, json.dumps(report), str(report)):
        dataset = resolve_training_dataset(value, "gemini_api")
        assert dataset.training_dataset_uri == report["training_dataset_uri"]
        assert dataset.staging_dir == report["staging_dir"] and dataset.train_count == report["train_count"]
    with pytest.raises(InvalidInputError, match="prepared for gemini_api but the connection's backend is vertex_ai"):
        resolve_training_dataset(report, "vertex_ai")


def test_an_old_or_foreign_dict_gets_a_clear_error(staging):
    with pytest.raises(
        InvalidInputError, match=r"`training_dataset` is not a valid staged dataset.*training_dataset_uri"
    ):
        resolve_training_dataset({"backend": "gemini_api", "train_uri": "file:///x/train.jsonl"}, "gemini_api")


def test_a_hand_made_staged_file_over_the_inline_limit(tmp_path, staging):
    big = tmp_path / "train.jsonl"
    big.write_bytes(b"x" * 4_000_001)
    staged = {"backend": "gemini_api", "training_dataset_uri": str(big), "train_count": 9, "sha256": "ab" * 32}
    with pytest.raises(DatasetUploadError, match="4,000,001 bytes"):
        resolve_training_dataset(staged, "gemini_api")


def test_vertex_reads_a_gs_file_already_in_its_format(gcs, staging):
    from tests.helpers import next_number_examples, write_vertex_dataset

    uri = write_vertex_dataset(gcs, next_number_examples(30))
    dataset = resolve_training_dataset(uri, "vertex_ai")
    assert dataset.training_dataset_uri == uri and dataset.examples is None and dataset.train_count == 30
    assert dataset.staging_dir == staging


def test_vertex_refuses_what_it_cannot_read_with_what_to_do(tmp_path, gcs, staging):
    (gcs / "bucket").mkdir(parents=True)
    write_jsonl(gcs / "bucket" / "pairs.jsonl", pairs(30))
    with pytest.raises(InvalidInputError, match=r"gs://bucket/pairs.jsonl is valid but is not in its format"):
        resolve_training_dataset("gs://bucket/pairs.jsonl", "vertex_ai")
    local = write_jsonl(tmp_path / "local.jsonl", pairs(30))
    with pytest.raises(
        InvalidInputError, match=r"local.jsonl is valid but is not there.*Set \[gemini_tuning\] staging_uri to a gs://"
    ):
        resolve_training_dataset(str(local), "vertex_ai")


def test_vertex_with_a_gs_staging_location_stages_and_converts(tmp_path, gcs, monkeypatch):
    monkeypatch.setenv("AIRFLOW__GEMINI_TUNING__STAGING_URI", "gs://bucket/staging")
    dataset = resolve_training_dataset(pairs(30), "vertex_ai")
    assert dataset.training_dataset_uri.startswith("gs://bucket/staging/")
    assert dataset.staging_dir.startswith("gs://bucket/staging/")
    staged = gcs / dataset.training_dataset_uri[len("gs://") :]
    assert json.loads(staged.read_text().splitlines()[0])["contents"][1]["parts"] == [{"text": "answer 0"}]
