"""Loaded by every Python process of a system-test Celery worker (``PYTHONPATH`` points here).

Maps ``gs://`` onto the emulator's folder (``GEMINI_TUNING_EMULATOR_GCS_ROOT``) in the worker and
the task processes it forks, as a real deployment's workers would reach one bucket. Test-only:
nothing in the provider reads that variable outside the emulator's registration code.
"""

import os

if os.environ.get("GEMINI_TUNING_EMULATOR_GCS_ROOT"):
    from gemini_tuning.emulator.gcs import register_gcs_emulator

    register_gcs_emulator(os.environ["GEMINI_TUNING_EMULATOR_GCS_ROOT"])
