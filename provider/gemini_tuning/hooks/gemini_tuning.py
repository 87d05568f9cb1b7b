"""``GeminiTuningHook``: the single owner of every remote call the provider makes.

``google.genai`` is imported lazily (inside methods), so importing this module — which Airflow
does while parsing DAG files — stays cheap.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from gemini_tuning import CONN_TYPE, DEFAULT_CONN_ID
from gemini_tuning.backends import backend_for
from gemini_tuning.connection import ConnectionSettings
from gemini_tuning.exceptions import (
    InvalidInputError,
    NotFoundError,
    ServiceError,
    TuningJobFailed,
    TuningJobTimeout,
    translate_errors,
)
from gemini_tuning.hooks import clients
from gemini_tuning.models import Hyperparameters, JobState, TrainingMetrics, TuningJob, TuningJobSpec

if TYPE_CHECKING:
    from google import genai

    from gemini_tuning.backends import Capabilities, TuningBackend


class GeminiTuningHook(BaseHook):
    """Tune, inspect, cancel and query Gemini models on the Gemini API or Vertex AI.

    :param gemini_conn_id: a connection of type ``gemini_tuning``; its ``backend`` extra picks the service.
    """

    conn_name_attr = "gemini_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "Gemini Tuning"

    def __init__(self, gemini_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gemini_conn_id = gemini_conn_id
        self._settings: ConnectionSettings | None = None
        # the shared clients this hook got (kept: a hook outliving a connection change keeps its own)
        self._sync_client: genai.Client | None = None
        self._async_client: tuple[asyncio.AbstractEventLoop, genai.Client] | None = None

    # -- connection ---------------------------------------------------------------------
    @property
    def settings(self) -> ConnectionSettings:
        if self._settings is None:
            self._settings = self._load_settings(self.get_connection(self.gemini_conn_id))
        return self._settings

    async def aload_settings(self) -> ConnectionSettings:
        """Read the connection without blocking the event loop (for triggers).

        Airflow 3.3's in-process ``dags test`` runner cannot look a connection stored in the
        metadata DB up asynchronously; then the synchronous lookup runs in a thread instead. Hooks
        that ask for the same connection while a lookup is in flight share it (see ``clients``).
        """
        if self._settings is None:
            self._settings = await clients.shared_lookup(self.gemini_conn_id, self._aread_settings)
        return self._settings

    async def _aread_settings(self) -> ConnectionSettings:
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            conn = await self.aget_connection(self.gemini_conn_id)
        except AirflowNotFoundException:
            self.log.debug("Async lookup of %s failed; trying the sync lookup", self.gemini_conn_id)
            try:
                conn = await asyncio.to_thread(self.get_connection, self.gemini_conn_id)
            except AirflowNotFoundException:
                raise InvalidInputError(
                    f"Connection {self.gemini_conn_id!r} is not defined where this runs (the triggerer): "
                    "define it for the triggerer too (same secrets backend, variables or metadata DB)."
                ) from None
        return self._load_settings(conn)

    @staticmethod
    def _load_settings(conn: Any) -> ConnectionSettings:
        from airflow.sdk.log import mask_secret

        settings = ConnectionSettings.from_connection(conn)
        for secret in settings.secrets():
            mask_secret(secret)
        return settings

    @property
    def backend_name(self) -> str:
        return self.settings.backend

    @cached_property
    def backend(self) -> TuningBackend:
        return backend_for(self.settings)

    @property
    def capabilities(self) -> Capabilities:
        """What this connection's service accepts (limits, hyperparameters, staging...)."""
        return self.backend.capabilities

    @cached_property
    def _client_key(self) -> clients.ClientKey:
        return clients.ClientKey.of(self.settings)

    @property
    def client(self) -> genai.Client:
        """The process's client for this connection's settings, shared with every other hook (see ``clients``)."""
        if self._sync_client is None:
            self._sync_client = clients.get_client(self._client_key, self.settings, self.gemini_conn_id)
        return self._sync_client

    def get_conn(self) -> genai.Client:
        return self.client

    @contextmanager
    def _remote(self):
        with translate_errors(self.settings.secrets(), url=self.backend.url):
            yield

    # -- tuning jobs --------------------------------------------------------------------
    def check_tuning_job(self, spec: TuningJobSpec) -> None:
        """Validate a spec for this connection's backend without sending anything."""
        self.backend.check_spec(spec)

    def create_tuning_job(self, spec: TuningJobSpec | None = None, **fields: Any) -> TuningJob:
        """Submit a supervised tuning job. ``spec`` or its fields (see :class:`TuningJobSpec`)."""
        if spec is None:
            hyperparameters = fields.pop("hyperparameters", None) or {}
            if isinstance(hyperparameters, dict):
                hyperparameters = Hyperparameters.parse(**hyperparameters)
            spec = TuningJobSpec(hyperparameters=hyperparameters, **fields)
        self.backend.check_spec(spec)
        with self._remote():
            job = self.backend.create(self.client, spec)
        self.log.info("Submitted tuning job %s (%s)", job.name, job.console_url)
        return job

    def get_tuning_job(self, name: str) -> TuningJob:
        with self._remote():
            return self.backend.get(self.client, name)

    def find_tuning_job(self, job_id: str) -> TuningJob | None:
        """The job submitted earlier under ``job_id`` (newest first), or ``None``."""
        with self._remote():
            return self.backend.find(self.client, job_id)

    def list_tuning_jobs(
        self,
        *,
        filter: str | None = None,
        labels: dict[str, str] | None = None,
        page_size: int = 100,
        limit: int | None = None,
    ) -> list[TuningJob]:
        """All tuning jobs (Gemini API: tuned models). ``labels`` filters on Vertex AI only."""
        if labels:
            if not self.capabilities.labels:
                raise InvalidInputError(
                    f"Label filters need job labels, which {self.capabilities.label} does not have."
                )
            terms = [f'labels.{key}="{value}"' for key, value in labels.items()]
            filter = " AND ".join(filter and [filter, *terms] or terms)
        with self._remote():
            return self.backend.list(self.client, filter=filter, page_size=page_size, limit=limit)

    def cancel_tuning_job(self, name: str) -> TuningJob:
        """Stop a running job. On the Gemini API this deletes the still-CREATING tuned model."""
        with self._remote():
            job = self.backend.cancel(self.client, name)
        self.log.info("Cancel requested for %s; state now %s", name, job.state.value)
        return job

    def free_job_id(self, job: TuningJob) -> None:
        """Let a new job be submitted under the failed ``job``'s id (Gemini API: deletes the failed model)."""
        if not self.capabilities.failed_job_holds_id:
            return
        with self._remote():
            self.backend.free_job_id(self.client, job)
        self.log.info("Deleted the failed %s to free its id for the new job", job.name)

    def delete_tuned_model(self, name: str) -> bool:
        """Delete a tuned model (Vertex AI: its endpoint or model). ``False`` (logged) when already gone."""
        with self._remote():
            deleted = self.backend.delete_model(self.client, name)
        if deleted:
            self.log.info("Deleted tuned model %s", name)
        else:
            self.log.info("Tuned model %s does not exist (already deleted)", name)
        return deleted

    def set_default_checkpoint(self, tuned_model: str, checkpoint_id: str) -> dict[str, Any]:
        """Make a checkpoint the tuned model's default (what its endpoint serves); the updated model resource."""
        if not self.capabilities.checkpoints:
            raise InvalidInputError(f"{self.capabilities.label} tuned models have no checkpoints.")
        with self._remote():
            model = self.backend.set_default_checkpoint(self.client, tuned_model, str(checkpoint_id))
        self.log.info("Checkpoint %s is now the default of %s", checkpoint_id, tuned_model)
        return model

    def get_training_metrics(self, job: TuningJob) -> TrainingMetrics:
        """The job's training metrics (Vertex AI: its TensorBoard time series; Gemini API: its loss snapshots).

        Metrics may be published only near or after the job's end: when none can be read, one
        warning says why and the result is empty with ``missing`` set; this never raises a service error.
        """
        try:
            with self._remote():
                metrics = self.backend.training_metrics(self.client, job)
        except ServiceError as exc:
            metrics = TrainingMetrics(missing=f"reading them failed: {exc.message}")
        if metrics.missing:
            self.log.warning(
                "No training metrics for %s (%s); the summary's loss curves are empty.", job.name, metrics.missing
            )
        return metrics

    def wait_for_tuning_job(
        self,
        name: str,
        *,
        poll_interval: float = 30.0,
        timeout: float | None = None,
        on_poll: Callable[[TuningJob], None] | None = None,
        pause_while_queued: bool = False,
    ) -> TuningJob:
        """Poll until the job is terminal; raise :class:`TuningJobTimeout` at the deadline (the job keeps running).

        With ``pause_while_queued`` the ``timeout`` clock stops while the job waits for quota or
        capacity (measured between polls). A job that disappears while waited for (a Gemini API
        model deleted to cancel it) fails with :class:`TuningJobFailed`.
        """
        deadline = time.monotonic() + timeout if timeout else None
        last_poll, paused = time.monotonic(), 0.0
        while True:
            try:
                job = self.get_tuning_job(name)
            except NotFoundError as exc:
                raise TuningJobFailed(
                    f"Tuning job {name} no longer exists: it was cancelled or deleted while running.",
                    http_status=exc.http_status,
                    status=exc.status,
                ) from None
            now = time.monotonic()
            if pause_while_queued and job.queued:
                paused += now - last_poll
            last_poll = now
            if on_poll:
                on_poll(job)
            if job.done:
                return job
            if deadline and now >= deadline + paused:
                waited = f" (not counting {paused:.0f}s waiting for quota or capacity)" if paused else ""
                raise TuningJobTimeout(
                    f"Tuning job {name} did not finish within {timeout:g}s{waited} (state {job.state.value})."
                )
            time.sleep(poll_interval)

    # -- inference ------------------------------------------------------------------------
    def generate(self, model: str, text: str, config: dict | None = None) -> str:
        with self._remote():
            response = self.client.models.generate_content(model=model, contents=text, config=config)
        return response.text or ""

    # -- async (triggers, evaluation) ---------------------------------------------------
    async def aget_client(self) -> genai.Client:
        """The running loop's client for this connection's settings, shared with every other hook and trigger.

        Built off the event loop the first time (credential loading may block), once however many ask.
        """
        loop = asyncio.get_running_loop()
        if self._async_client is None or self._async_client[0] is not loop:
            settings = await self.aload_settings()
            client = await clients.aget_client(self._client_key, settings, self.gemini_conn_id)
            self._async_client = (loop, client)
        return self._async_client[1]

    async def aget_tuning_job(self, name: str) -> TuningJob:
        client = await self.aget_client()
        with self._remote():
            return await self.backend.aget(client, name)

    async def apoll_tuning_job(self, name: str, last_state: JobState | None = None) -> TuningJob:
        """One poll of a job being waited for (triggers): cheaper than :meth:`aget_tuning_job` while it runs.

        ``last_state`` is the state the previous poll saw. On the Gemini API a running job costs one
        request and carries only its latest loss snapshot; a finished job comes back whole.
        """
        client = await self.aget_client()
        with self._remote():
            return await self.backend.apoll(client, name, last_state)

    async def acancel_tuning_job(self, name: str) -> TuningJob:
        client = await self.aget_client()
        with self._remote():
            job = await self.backend.acancel(client, name)
        self.log.info("Cancel requested for %s; state now %s", name, job.state.value)
        return job

    async def agenerate(self, model: str, text: str, config: dict | None = None) -> str:
        client = await self.aget_client()
        with self._remote():
            response = await client.aio.models.generate_content(model=model, contents=text, config=config)
        return response.text or ""

    # -- UI -------------------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        try:
            with self._remote():
                jobs = self.backend.list(self.client, filter=None, page_size=1, limit=1)
        except Exception as exc:  # the UI shows the message
            return False, str(exc)
        where = self.settings.base_url or self.capabilities.label
        return (
            True,
            f"Connected to {where} ({self.backend_name}); listing tuning jobs works ({len(jobs)} on the first page).",
        )
