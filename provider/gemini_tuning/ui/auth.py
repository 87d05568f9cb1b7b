"""Who may see what: Airflow's own FastAPI security dependencies and the configured auth manager.

* every route needs an authenticated Airflow user (the UI's session cookie or a bearer token):
  401 without one, 403 with an invalid one;
* the data shown are XComs, so routes check what Airflow's own XCom endpoints check: read access to
  the DAG's XComs (``requires_access_dag("GET", XCOM)``; with no DAG in the path, in general);
* lists keep only the DAGs the auth manager lets the user read (``get_authorized_dag_ids``).
"""

from __future__ import annotations

from typing import Annotated

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag, requires_authenticated
from fastapi import Depends

AUTHENTICATED = Depends(requires_authenticated())
READ_XCOMS = Depends(requires_access_dag("GET", DagAccessEntity.XCOM))


def readable_dag_ids(user: GetUserDep) -> set[str]:
    """The DAGs this user may read."""
    return get_auth_manager().get_authorized_dag_ids(user=user, method="GET")


ReadableDagIds = Annotated[set[str], Depends(readable_dag_ids)]
