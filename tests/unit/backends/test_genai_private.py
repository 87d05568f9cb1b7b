"""Pins the google-genai private API that ``backends/genai_private.py`` relies on.

If google-genai renames ``Client._api_client`` or changes ``request`` / ``async_request``, these
tests fail with a message that says which module to update, before any user hits it at runtime.
"""

from __future__ import annotations

import inspect
import re

from gemini_tuning.backends import genai_private


def _api_client():
    from google import genai

    client = genai.Client(api_key="pin-test-key", http_options={"base_url": "http://127.0.0.1:9/"})
    assert hasattr(client, "_api_client"), (
        "google-genai's Client has no `_api_client` any more: update gemini_tuning/backends/genai_private.py"
    )
    return client._api_client


def test_request_methods_keep_their_signature():
    api_client = _api_client()
    for method, is_async in (("request", False), ("async_request", True)):
        function = getattr(api_client, method, None)
        assert function is not None, f"google-genai's API client lost `{method}`: update genai_private.py"
        assert inspect.iscoroutinefunction(function) is is_async, f"`{method}` changed sync/async"
        parameters = tuple(inspect.signature(function).parameters)
        assert parameters == genai_private.REQUEST_PARAMETERS, (
            f"google-genai's `{method}` now takes {parameters}; genai_private.py sends "
            f"{genai_private.REQUEST_PARAMETERS}"
        )


def test_responses_still_carry_a_body():
    from google.genai._api_client import SdkHttpResponse

    assert "body" in SdkHttpResponse.model_fields, "SdkHttpResponse has no `body`: update genai_private.py"


def test_only_genai_private_touches_the_private_api():
    from pathlib import Path

    package = Path(genai_private.__file__).parents[1]
    users = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if re.search(r"\b\w*client\._api_client\b", path.read_text()) and path.name != "genai_private.py"
    )
    assert users == [], f"google-genai's private `_api_client` used outside backends/genai_private.py: {users}"
