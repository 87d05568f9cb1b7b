"""Operator extra link: the tuning job's page (AI Studio, the Vertex console or the emulator)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

JOB_NAME_KEY = "tuning_job_name"
JOB_URL_KEY = "tuning_job_url"


class TuningJobLink(BaseOperatorLink):
    """The job's page; stored by the task runner under ``tuning_job_url``, which the UI reads."""

    name = "Tuning Job"
    xcom_key = JOB_URL_KEY

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """The URL the task learned by submitting or resuming; empty before it submitted anything.

        The task runner calls this at the end of every try, including one that failed before
        submitting, so it reads no XCom (a missing one logs an error).
        """
        return getattr(operator, "_job_url", None) or ""
