"""The Airflow UI plugin: a "Gemini Tuning" page, a "Tuning" task tab and a "Tuning history" DAG tab.

:mod:`gemini_tuning.ui.plugin` is what Airflow imports (entry point ``airflow.plugins``); it is light.
The FastAPI app (:mod:`gemini_tuning.ui.app`) is built on the first request to the api-server.
See ``docs/ui.md``.
"""
