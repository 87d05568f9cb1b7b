"""The only module that touches google-genai's private API.

google-genai has no public call for the Gemini API's ``tunedModels`` CRUD (v1beta) or for Vertex
AI endpoints. Those requests go through the client's own API client
(``client._api_client.request`` / ``async_request``), so they share the base URL, credentials,
timeout and retry policy of every SDK call. ``tests/unit/backends/test_genai_private.py`` pins the
attribute and the signatures: an SDK upgrade that changes them fails that test loudly.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google import genai

#: The parameters both private methods must take, in this order.
REQUEST_PARAMETERS = ("http_method", "path", "request_dict", "http_options")


def rest(client: genai.Client, method: str, path: str, body: dict | None = None, options: dict | None = None) -> dict:
    """Send ``method path`` with ``body`` through the client's transport; the decoded JSON answer."""
    response = client._api_client.request(method, path, dict(body or {}), options)
    return json.loads(response.body) if response.body else {}


async def arest(
    client: genai.Client, method: str, path: str, body: dict | None = None, options: dict | None = None
) -> dict:
    """:func:`rest` on the client's async transport."""
    response = await client._api_client.async_request(method, path, dict(body or {}), options)
    return json.loads(response.body) if response.body else {}
