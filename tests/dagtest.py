"""Running a DAG defined in a test with ``dag.test()`` and reading what it left behind."""

from __future__ import annotations

import json
from typing import Any


def serialize(dag) -> None:
    """Airflow 3.3's ``dag.test()`` needs the DAG serialized in a bundle; one defined in a test file is not."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.collection import update_dag_parsing_results_in_db
    from airflow.serialization.serialized_objects import LazyDeserializedDAG
    from airflow.utils.session import create_session

    with create_session() as session:
        DagBundlesManager().sync_bundles_to_db(session=session)
        session.commit()
        update_dag_parsing_results_in_db(
            "dags-folder", None, [LazyDeserializedDAG.from_dag(dag)], {}, None, set(), session
        )


def run_dag(dag, **kwargs):
    serialize(dag)
    return dag.test(**kwargs)


def ti_of(dagrun, task_id: str):
    return next(ti for ti in dagrun.get_task_instances() if ti.task_id == task_id)


def xcom(dagrun, task_id: str, key: str = "return_value") -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dagrun.dag_id, run_id=dagrun.run_id, task_id=task_id, key=key)
            .one_or_none()
        )
        value = None if row is None else row.value
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
