"""Batching, splitting and retry timing, over an in-memory service (no sockets, no waiting)."""

from __future__ import annotations

from p2c_core.http import retry_after_seconds
from reverse_etl.config import WritebackConfig
from reverse_etl.executor import BatchExecutor, Operation, backoff_seconds
from systems.dataverse.writer import build as build_crm

from .fake_service import FakeService
from .helpers import row


def _ops(n, bad=()):
    rows = [row(key=f"usmf|A-{i}", payload={"name": f"n{i}", **({"bad": True} if i in bad else {})}) for i in range(n)]
    return [Operation(r, build_crm(r, {"accountnumber": f"A-{i}"}, "upsert")) for i, r in enumerate(rows)]


def _executor(svc, **cfg):
    sleeps: list[float] = []
    ex = BatchExecutor(svc.client(), "crm", WritebackConfig(**cfg), sleep=sleeps.append, rand=lambda: 1.0)
    return ex, sleeps


def test_a_bulk_write_costs_one_request_per_batch():
    svc = FakeService()
    ex, _ = _executor(svc, crm_batch_size=1000)
    results = [r for chunk in ex.run(_ops(2500)) for r in chunk]
    assert len(results) == 2500 and all(r.status == 201 for r in results)
    assert svc.batch_posts == 3 and ex.requests_sent == 3
    assert len(svc.rows("accounts")) == 2500
    assert svc.continue_on_error_seen


def test_one_bad_record_does_not_sink_its_neighbours_in_atomic_change_sets():
    svc = FakeService()
    ex, _ = _executor(svc, crm_changeset_size=10)
    results = {r.op.row.record_key: r for chunk in ex.run(_ops(30, bad={13})) for r in chunk}
    assert results["usmf|A-13"].status == 400
    assert "validation" in results["usmf|A-13"].response.json()["error"]["message"]
    assert sorted(k for k, r in results.items() if r.status == 201) == sorted(f"usmf|A-{i}" for i in range(30) if i != 13)
    assert len(svc.rows("accounts")) == 29


def test_a_batch_refused_as_a_whole_is_bisected_down_to_the_bad_record():
    svc = FakeService()
    real = svc.handler

    def refuse_batches_with_bad(request):
        if b'"bad":true' in request.content:  # a service that rejects the whole body
            svc.batch_posts += 1
            return __import__("httpx").Response(400, json={"error": {"code": "0x1", "message": "bad payload"}})
        return real(request)

    svc.handler = refuse_batches_with_bad
    ex, _ = _executor(svc)
    results = {r.op.row.record_key: r for chunk in ex.run(_ops(16, bad={5})) for r in chunk}
    assert results["usmf|A-5"].status == 400 and "bad payload" in results["usmf|A-5"].error
    assert sum(r.status == 201 for r in results.values()) == 15
    assert svc.batch_posts <= 1 + 2 * 4  # log2(16) levels of halves


def test_throttling_honours_retry_after_then_backs_off_exponentially():
    svc = FakeService()
    svc.faults = [(429, {"Retry-After": "7"}), (503, {}), (503, {}), (429, {})]
    ex, sleeps = _executor(svc, backoff_base=2.0, backoff_cap=60.0)
    results = [r for chunk in ex.run(_ops(3)) for r in chunk]
    assert all(r.status == 201 for r in results)
    # Retry-After wins; otherwise base * 2^(attempt-1) (jitter pinned to its maximum)
    assert sleeps == [7.0, 4.0, 8.0, 16.0]
    assert svc.batch_posts == 5 and len(svc.rows("accounts")) == 3


def test_exhausted_retries_fail_the_records_without_splitting():
    svc = FakeService()
    svc.faults = [(503, {})] * 3
    ex, sleeps = _executor(svc, max_attempts=3)
    results = [r for chunk in ex.run(_ops(8)) for r in chunk]
    assert all(r.status == 503 for r in results) and svc.batch_posts == 3 and len(sleeps) == 2
    assert all(r.op.extra.get("uncertain") for r in results)


def test_retry_after_as_http_date_and_jitter_bounds():
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry_after_seconds("garbage") is None
    assert 0.5 <= backoff_seconds(1, 1.0, 60, lambda: 0.0) <= backoff_seconds(1, 1.0, 60, lambda: 1.0) == 1.0
    assert backoff_seconds(10, 1.0, 60, lambda: 1.0) == 60


def test_concurrency_cap_sends_batches_in_parallel_but_answers_every_record():
    svc = FakeService()
    ex, _ = _executor(svc, crm_batch_size=10, concurrency=3)
    results = [r for chunk in ex.run(_ops(95)) for r in chunk]
    assert len(results) == 95 and svc.batch_posts == 10 and len(svc.rows("accounts")) == 95
