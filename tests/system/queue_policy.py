"""``airflow_local_settings.py`` of a system-test deployment (copied to ``$AIRFLOW_HOME/config/``).

A task policy that routes chosen tasks to chosen Celery queues, from ``GEMINI_TUNING_SYSTEM_QUEUES``
(JSON ``{dag_id: {task_id: queue}}``). Alternating the queues of consecutive tasks between two
workers makes every hand-off (validate -> upload -> tune -> evaluate) cross hosts.
"""

import json
import os


def task_policy(task):
    routes = json.loads(os.environ.get("GEMINI_TUNING_SYSTEM_QUEUES") or "{}").get(task.dag_id, {})
    if task.task_id in routes:
        task.queue = routes[task.task_id]
