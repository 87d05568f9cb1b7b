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
    """Shows the URL pushed to XCom under ``tuning_job_url`` before the task waits."""

    name = "Tuning Job"
    xcom_key = JOB_URL_KEY

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.bases.xcom import BaseXCom

        return BaseXCom.get_value(ti_key=ti_key, key=self.xcom_key) or ""
