"""Apache Airflow provider for supervised fine-tuning of Gemini models.

Importing this package is cheap: nothing here imports ``google.genai`` or touches the network.
"""

from __future__ import annotations

__version__ = "0.1.0"

CONN_TYPE = "gemini_tuning"
DEFAULT_CONN_ID = "gemini_tuning_default"


def get_provider_info() -> dict:
    """Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

    Airflow calls this while it loads its own configuration, so it imports nothing (the backend
    names below are checked against ``gemini_tuning.backends`` by tests/integration/test_provider.py).
    """
    return {
        "package-name": "airflow-provider-gemini-tuning",
        "name": "Gemini Tuning",
        "description": "Supervised fine-tuning of Gemini models on the Gemini Developer API and Vertex AI.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Gemini Tuning",
                "external-doc-url": "https://ai.google.dev/gemini-api/docs/model-tuning",
                "tags": ["gcp"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Gemini Tuning",
                "python-modules": ["gemini_tuning.hooks.gemini_tuning"],
            }
        ],
        "operators": [
            {
                "integration-name": "Gemini Tuning",
                "python-modules": [
                    "gemini_tuning.operators.dataset",
                    "gemini_tuning.operators.tuning",
                    "gemini_tuning.operators.evaluate",
                ],
            }
        ],
        "sensors": [{"integration-name": "Gemini Tuning", "python-modules": ["gemini_tuning.sensors.tuning"]}],
        "triggers": [{"integration-name": "Gemini Tuning", "python-modules": ["gemini_tuning.triggers.tuning"]}],
        "extra-links": ["gemini_tuning.links.TuningJobLink"],
        "config": {
            "gemini_tuning": {
                "description": "Defaults for the Gemini tuning provider's operators, sensors and triggers.",
                "options": {
                    "staging_uri": {
                        "description": "Where validated datasets, loss-curve plots and evaluation reports are "
                        "written (any ObjectStoragePath URI). Vertex AI needs a gs:// URI.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "gs://my-bucket/gemini-tuning",
                        "default": None,
                    },
                    "staging_is_shared": {
                        "description": "A local path in staging_uri is a filesystem mounted on every worker "
                        "(NFS, EFS, a shared volume): do not refuse it under an executor that spreads tasks.",
                        "version_added": "0.1.0",
                        "type": "boolean",
                        "example": "True",
                        "default": "False",
                    },
                    "poll_interval": {
                        "description": "Seconds between polls of a tuning job (operators, sensor and trigger).",
                        "version_added": "0.1.0",
                        "type": "float",
                        "example": "60",
                        "default": "30",
                    },
                    "max_concurrent_polls": {
                        "description": "Most tuning-job polls one triggerer sends at the same time.",
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": "8",
                        "default": "32",
                    },
                    "freeze_startup_heap": {
                        "description": "Triggerer: when the process's first tuning-job trigger starts and once its "
                        "first poll is done, move the objects start-up left (Airflow's and google-genai's "
                        "modules) out of the garbage "
                        "collector's full collections with gc.freeze(), so a full collection no longer stops "
                        "every trigger of the process for a few hundred milliseconds.",
                        "version_added": "0.1.0",
                        "type": "boolean",
                        "example": "False",
                        "default": "True",
                    },
                    "ui_status_ttl": {
                        "description": "UI plugin: seconds between two questions to the service about one running "
                        "job (default: poll_interval); also how often a job's tab refreshes itself.",
                        "version_added": "0.1.0",
                        "type": "float",
                        "example": "30",
                        "default": None,
                    },
                    "ui_status_timeout": {
                        "description": "UI plugin: seconds a page waits for the service's answer about running jobs "
                        "(and each request's timeout); past it the page shows the last known state.",
                        "version_added": "0.1.0",
                        "type": "float",
                        "example": "3",
                        "default": "3",
                    },
                    "ui_status_concurrency": {
                        "description": "UI plugin: requests to the service at once, per api-server worker.",
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": "4",
                        "default": "4",
                    },
                },
            }
        },
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": "gemini_tuning.hooks.gemini_tuning.GeminiTuningHook",
                "hook-name": "Gemini Tuning",
                "conn-fields": {
                    "backend": {
                        "label": "Backend",
                        "description": "gemini_api (API key) or vertex_ai (Google Cloud credentials).",
                        "schema": {
                            "type": ["string", "null"],
                            "enum": ["gemini_api", "vertex_ai"],
                            "default": "gemini_api",
                        },
                    },
                    "project": {
                        "label": "Project ID (Vertex AI)",
                        "schema": {"type": ["string", "null"]},
                    },
                    "location": {
                        "label": "Location (Vertex AI)",
                        "schema": {"type": ["string", "null"], "default": "us-central1"},
                    },
                    "keyfile_dict": {
                        "label": "Service account key JSON (Vertex AI)",
                        "description": "Leave empty to use application-default credentials.",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                    "access_token": {
                        "label": "OAuth access token (Vertex AI)",
                        "description": "A short-lived token instead of a key (any value for the emulator).",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                    "gcp_conn_id": {
                        "label": "Google Cloud connection (Vertex AI)",
                        "description": "Use the credentials and project of this google_cloud_platform "
                        "connection, e.g. google_cloud_default, instead of a key here.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "base_url": {
                        "label": "Base URL override",
                        "description": "For the emulator or a proxy, e.g. http://127.0.0.1:8085",
                        "schema": {"type": ["string", "null"]},
                    },
                    "emulator": {
                        "label": "Emulator",
                        "description": "The base URL is this project's emulator: job links open its job pages.",
                        "schema": {"type": ["boolean", "null"], "default": False},
                    },
                    "api_version": {
                        "label": "API version",
                        "description": "Defaults: v1beta (Gemini API), v1beta1 (Vertex AI).",
                        "schema": {"type": ["string", "null"]},
                    },
                    "timeout": {
                        "label": "Request timeout (seconds)",
                        "schema": {"type": ["number", "null"], "default": 60, "minimum": 1},
                    },
                    "retries": {
                        "label": "Retry attempts",
                        "description": "Attempts per request on 408/429/500/502/503/504, including the first.",
                        "schema": {"type": ["integer", "null"], "default": 5, "minimum": 1},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "port", "login", "schema", "extra"],
                    "relabeling": {"password": "API key (Gemini API)"},
                    "placeholders": {"password": "Gemini API key from AI Studio"},
                },
            }
        ],
    }
