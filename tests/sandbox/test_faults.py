"""The fault middleware on its own: the storm's mix, Retry-After, and dropped answers to processed requests."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from sandbox.faults import STORM, DroppedConnection, FaultMiddleware, FaultOptions


def make(**options):
    processed = []

    async def app(scope, receive, send):
        processed.append(scope["path"])
        body = json.dumps({"value": list(range(50))}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    mw = FaultMiddleware(app, FaultOptions(seed=3, **options), api_prefix="/data/")
    return mw, processed


async def call(mw, n):
    out = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mw), base_url="http://sb") as client:
        for i in range(n):
            try:
                out.append(await client.get(f"/data/Things{i}"))
            except DroppedConnection:
                out.append("dropped")
    return out


def test_the_storm_mix_is_injected_in_its_proportions_and_reproducibly():
    mw, processed = make(**{**STORM, "spike_ms": 0})
    answers = asyncio.run(call(mw, 2000))
    c = mw.counts
    assert mw.requests == 2000
    assert 0.17 < c["throttled"] / 2000 < 0.23 and 0.03 < c["unavailable"] / 2000 < 0.07
    assert 0.01 < c["dropped"] / 2000 < 0.03 and 0.01 < c["delayed"] / 2000 < 0.03
    throttled = [a for a in answers if a != "dropped" and a.status_code == 429]
    assert len(throttled) == c["throttled"] and all(a.headers["retry-after"] == "1" for a in throttled)
    assert "Number of requests exceeded the limit" in throttled[0].json()["error"]["message"]
    assert sum(1 for a in answers if a != "dropped" and a.status_code == 503) == c["unavailable"]
    # a dropped answer belongs to a request the service did process
    assert len(processed) == 2000 - c["throttled"] - c["unavailable"]
    assert answers.count("dropped") == c["dropped"]
    again, _ = make(**{**STORM, "spike_ms": 0})
    asyncio.run(call(again, 2000))
    assert again.counts == c  # the same seed, the same storm


def test_paths_outside_the_api_and_calm_options_get_no_faults():
    mw, processed = make()
    answers = asyncio.run(call(mw, 50))
    assert all(a.status_code == 200 for a in answers) and sum(mw.counts.values()) == 0


@pytest.mark.parametrize("options", [{"throttle_rate": 1.5}, {"throttle_rate": 0.6, "error_rate": 0.6}, {"retry_after": -1}])
def test_impossible_fault_options_are_refused(options):
    with pytest.raises(ValueError):
        FaultOptions(**options)
