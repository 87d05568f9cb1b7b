"""``[core] hostname_callable`` of a system-test Celery worker: the worker's own name.

Both workers run on this one machine; distinct names show which worker ran each task instance.
"""

import os
import socket


def get() -> str:
    return os.environ.get("GEMINI_TUNING_SYSTEM_HOSTNAME") or socket.getfqdn()
