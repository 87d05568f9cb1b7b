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


def asset_events(asset_name: str) -> list:
    """The AssetEvent rows of the asset named ``asset_name``, oldest first."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        events = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.name == asset_name)
            .order_by(AssetEvent.timestamp)
            .all()
        )
        session.expunge_all()
        return events


def run_dag_on_asset_events(dag, events: list, **kwargs):
    """``dag.test()`` a run that consumed ``events``, as the scheduler creates one for an asset-scheduled DAG."""
    from unittest import mock

    import airflow.models.dagrun as dagrun_module
    from airflow.models.asset import AssetEvent

    create = dagrun_module.get_or_create_dagrun

    def create_consuming(*, session, **run_kwargs):
        dagrun = create(session=session, **run_kwargs)
        dagrun.consumed_asset_events.extend(session.get(AssetEvent, event.id) for event in events)
        session.commit()
        return dagrun

    with mock.patch.object(dagrun_module, "get_or_create_dagrun", create_consuming):
        return run_dag(dag, **kwargs)
