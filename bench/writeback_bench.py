"""Writeback benchmark: a bulk change through p2c's batched writeback vs. a per-record flow.

The bulk change: every released product of the ERP written to the CRM (upsert by product number)
and every CRM account written to the ERP as a customer (create or If-Match update), the way
``p2c writeback`` does it: ``$batch`` requests of up to 1000 (CRM) / ``--erp-batch`` (ERP) records.
The baseline is what a Power Automate flow does per record: look the record up in the target
(GET by key), then PATCH it (or POST it when missing), one record after the other.

Against a running sandbox (medium demo data):

    python -m sandbox reset --scale medium --seed 7 --dir /tmp/h6/sbm
    python -m sandbox up --dir /tmp/h6/sbm --crm-port 8791 --erp-port 8792 --foreground &
    SOURCES__CRM__BASE_URL=http://127.0.0.1:8791/api/data/v9.2/ … python bench/writeback_bench.py

``--synthetic N`` first loads N products into the ERP and N accounts into the CRM (for a sandbox
without demo data). Connections come from dlt config / ``SOURCES__…`` variables as for ``p2c``.

``--erp business_central`` measures Business Central as the ERP (``P2C__ERP=business_central``,
``SOURCES__ERP__…`` at the sandbox's BC port, as ``p2c sandbox up --erp business_central`` prints):
the first company's items → CRM products, and every CRM account → a BC customer of that company
(created with its number, or updated with the extracted ETag as If-Match), in JSON ``$batch``
requests of at most 100 operations — BC's limit, so at least one request per 100 records. The
baseline per record: ``GET customers?$filter=number eq '…'``, then PATCH (If-Match) or POST.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import httpx

from p2c_core.odata import iter_pages
from reverse_etl.apply import Writeback
from reverse_etl.clients import make_clients
from reverse_etl.config import WritebackConfig
from systems.dataverse.writer import key_segment as crm_key_segment
from systems.finops.writer import key_segment as erp_key_segment
from reverse_etl.plan import WriteRow


class CountingTransport(httpx.BaseTransport):
    """Counts every HTTP request that goes on the wire (token requests included)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport(limits=httpx.Limits(max_connections=16))
        self.count = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.count += 1
        return self.inner.handle_request(request)


def read_all(client: httpx.Client, path: str, params: dict) -> list[dict]:
    pages = iter_pages(client, path, entity=path, headers={"Prefer": "odata.maxpagesize=5000"}, params=params)
    return [row for page in pages for row in page["value"]]


def wrow(**kw) -> WriteRow:
    base = dict(changes={}, etag=None, depends_on=[], base_after={}, crm_id=None, erp_key=None)
    return WriteRow.from_mapping({**base, **kw})


def synthetic(clients: dict[str, httpx.Client], n: int) -> None:
    if clients["erp"].get("LegalEntities('usmf')").status_code == 404:  # an empty sandbox has no company
        clients["erp"].post("LegalEntities", json={"LegalEntityId": "usmf", "Name": "Contoso US", "AccountingCurrency": "USD"})
    rows = [wrow(entity="product", record_key=f"P-{i:05d}", target_system="erp", target_set="ReleasedProductsV2",
                 operation="create", target_key={"dataAreaId": "usmf", "ItemNumber": f"P-{i:05d}"},
                 payload={"ProductNumber": f"P-{i:05d}", "ProductName": f"Product {i}", "SalesPrice": 10 + i % 90},
                 sequence=4) for i in range(n)]
    rows += [wrow(entity="customer", record_key=f"usmf|ACC-{i:05d}", target_system="crm", target_set="accounts",
                  operation="create", target_key={"accountnumber": f"ACC-{i:05d}"}, payload={"name": f"Account {i}"},
                  sequence=2) for i in range(n)]
    with duckdb.connect(":memory:") as conn:
        Writeback(conn, clients, WritebackConfig(erp_batch_size=1000)).run(rows, [])


def crm_unit(client: httpx.Client) -> dict[str, str]:
    """Binds for a product's required unit and unit group (the models map these per product;
    the benchmark gives every product the unit "Each", creating it in an empty sandbox)."""
    sched = client.patch("uomschedules(name='Default%20Unit')?$select=uomscheduleid", json={},
                         headers={"Prefer": "return=representation"}).json()["uomscheduleid"]
    found = client.get("uoms", params={"$filter": "name eq 'Each'", "$select": "uomid"}).json()["value"]
    if found:
        uom = found[0]["uomid"]
    else:
        made = client.post("uoms?$select=uomid", headers={"Prefer": "return=representation"}, json={
            "name": "Each", "quantity": 1, "uomscheduleid@odata.bind": f"/uomschedules({sched})"})
        uom = made.json()["uomid"]
    return {"defaultuomid@odata.bind": f"/uoms({uom})", "defaultuomscheduleid@odata.bind": f"/uomschedules({sched})"}


def bulk_rows(clients: dict[str, httpx.Client], tag: str) -> list[WriteRow]:
    unit = crm_unit(clients["crm"])
    products = read_all(clients["erp"], "ReleasedProductsV2", {"cross-company": "true", "$select": "dataAreaId,ItemNumber,ProductNumber,ProductName,SalesPrice"})
    accounts = read_all(clients["crm"], "accounts", {"$select": "accountnumber,name"})
    customers = {(c["dataAreaId"], c["CustomerAccount"]): c for c in
                 read_all(clients["erp"], "CustomersV3", {"cross-company": "true", "$select": "dataAreaId,CustomerAccount"})}
    rows: list[WriteRow] = []
    seen: set[str] = set()
    for p in products:
        number = p.get("ProductNumber") or p["ItemNumber"]
        if number in seen:  # products are global in the CRM: the first company's release wins
            continue
        seen.add(number)
        rows.append(wrow(entity="product", record_key=number, target_system="crm", target_set="products",
                         operation="create", target_key={"productnumber": number},
                         payload={"name": f"{p.get('ProductName') or number} {tag}"[:100], "price": p.get("SalesPrice") or 0, **unit},
                         base_after={"name": p.get("ProductName")}, sequence=4))
    for a in accounts:
        number = a.get("accountnumber")
        if not number:
            continue
        key = {"dataAreaId": "usmf", "CustomerAccount": number}
        existing = customers.get(("usmf", number))
        rows.append(wrow(entity="customer", record_key=f"usmf|{number}", target_system="erp", target_set="CustomersV3",
                         operation="update" if existing else "create", etag=existing.get("@odata.etag") if existing else None,
                         target_key=key, payload={"OrganizationName": f"{a.get('name') or number} {tag}"[:100]},
                         base_after={"name": a.get("name")}, sequence=2))
    return rows


def bc_company(client: httpx.Client) -> str:
    """The id of BC's first company by name (the sandbox's CRONUS Europe, then CRONUS USA)."""
    companies = sorted(read_all(client, "companies", {"$select": "id,name"}), key=lambda c: c["name"])
    return companies[-1]["id"]


def bulk_rows_bc(clients: dict[str, httpx.Client], tag: str) -> list[WriteRow]:
    """The same bulk change with Business Central as the ERP (keys and sets in BC's terms)."""
    unit = crm_unit(clients["crm"])
    company = bc_company(clients["erp"])
    items = read_all(clients["erp"], f"companies({company})/items", {"$select": "number,displayName,unitPrice"})
    customers = {c["number"]: c for c in read_all(clients["erp"], f"companies({company})/customers", {"$select": "id,number"})}
    rows = [wrow(entity="product", record_key=i["number"], target_system="crm", target_set="products",
                 operation="create", target_key={"productnumber": i["number"]},
                 payload={"name": f"{i.get('displayName') or i['number']} {tag}"[:100], "price": i.get("unitPrice") or 0, **unit},
                 base_after={"name": i.get("displayName")}, sequence=4) for i in items]
    for a in read_all(clients["crm"], "accounts", {"$select": "accountnumber,name"}):
        number = a.get("accountnumber")
        if not number:
            continue
        existing = customers.get(number)
        key = {"companyId": company, "id": existing["id"]} if existing else {"companyId": company, "number": number}
        rows.append(wrow(entity="customer", record_key=f"bc|{number}", target_system="erp", target_set="customers",
                         operation="update" if existing else "create",
                         etag=existing.get("@odata.etag") if existing else None, target_key=key,
                         payload={"displayName": f"{a.get('name') or number} {tag}"[:100]},
                         base_after={"name": a.get("name")}, sequence=2))
    return rows


def per_record_bc(client: httpx.Client, row: WriteRow) -> None:
    """One record the way a per-record flow writes it to BC: find it by number, then PATCH or POST."""
    company = row.target_key["companyId"]
    number = row.record_key.split("|", 1)[1]
    found = client.get(f"companies({company})/customers", params={"$filter": f"number eq '{number}'"}).json()["value"]
    if found:
        client.patch(f"companies({company})/customers({found[0]['id']})", json=row.payload,
                     headers={"If-Match": found[0]["@odata.etag"]})
    else:
        client.post(f"companies({company})/customers", json={"number": number, **row.payload})


def bulk(clients, counter: CountingTransport, rows: list[WriteRow], erp_batch: int, concurrency: int) -> tuple[float, int, dict]:
    config = WritebackConfig(erp_batch_size=erp_batch, concurrency=concurrency)
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp, duckdb.connect(str(Path(tmp) / "bench.duckdb")) as conn:
        before = counter.count
        t0 = time.perf_counter()
        result = Writeback(conn, clients, config).run(rows, [])
        seconds = time.perf_counter() - t0
        return seconds, counter.count - before, dict(result.totals)


def per_record(clients, counter: CountingTransport, rows: list[WriteRow], erp: str = "finops") -> tuple[float, int]:
    """The Power Automate shape: GET the target record by key, then PATCH (or POST), one by one."""
    before = counter.count
    t0 = time.perf_counter()
    for r in rows:
        client = clients[r.target_system]
        if r.target_system == "crm":
            ((col, value),) = r.target_key.items()
            found = client.get(r.target_set, params={"$filter": f"{col} eq '{value}'", "$select": col}).json()["value"]
            path = f"{r.target_set}({found[0]['productid']})" if found else crm_key_segment(r.target_set, r.target_key)
            client.patch(path, json=r.payload, headers={"If-Match": "*"} if found else {})
        elif erp == "business_central":
            per_record_bc(client, r)
        else:
            got = client.get(erp_key_segment(r.target_set, r.target_key))
            if got.status_code == 200:
                client.patch(erp_key_segment(r.target_set, r.target_key), json=r.payload,
                             headers={"If-Match": got.json().get("@odata.etag", "*")})
            else:
                client.post(r.target_set, json={**r.target_key, **r.payload})
    return time.perf_counter() - t0, counter.count - before


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--synthetic", type=int, default=0, help="first load N products (ERP) and N accounts (CRM)")
    ap.add_argument("--erp-batch", type=int, default=1000, help="F&O records per $batch (max 5000)")
    ap.add_argument("--concurrency", type=int, default=4, help="batches in flight per system")
    ap.add_argument("--baseline-sample", type=int, default=300, help="records written one by one for the baseline")
    ap.add_argument("--erp", choices=("finops", "business_central"), default="finops",
                    help="the ERP the bench writes to (set P2C__ERP and SOURCES__ERP__… to match)")
    args = ap.parse_args()
    import os

    if (os.environ.get("P2C__ERP") or "finops") != args.erp:
        ap.error(f"--erp {args.erp} needs P2C__ERP={args.erp} (and SOURCES__ERP__… pointing at it)")

    counter = CountingTransport()
    clients = make_clients(transport=counter, max_connections=16)
    if args.synthetic:
        synthetic(clients, args.synthetic)
    tag = time.strftime("%H%M%S")
    rows = bulk_rows_bc(clients, tag) if args.erp == "business_central" else bulk_rows(clients, tag)
    n_crm = sum(r.target_system == "crm" for r in rows)
    print(f"bulk change: {n_crm} products → CRM, {len(rows) - n_crm} accounts → ERP")
    erp_batch = args.erp_batch if args.erp == "finops" else min(args.erp_batch, 100)  # BC: 100 operations per $batch
    seconds, requests, totals = bulk(clients, counter, rows, erp_batch, args.concurrency)
    written = totals.get("written", 0)
    print(f"p2c writeback:   {written} records written in {seconds:.1f}s = {written / seconds:,.0f} records/s; "
          f"{requests} HTTP requests = {requests / max(written, 1):.4f} requests/record "
          f"(1 per {written / max(requests, 1):,.0f} records); outcomes {totals}")
    if args.erp == "business_central":
        erp_written = sum(1 for r in rows if r.target_system == "erp")
        print(f"  of which Business Central: {erp_written} customers; the 100-operation $batch sets the floor at "
              f"{-(-erp_written // 100)} requests = {1 / 100:.2f} requests/record")
    sample = rows[: args.baseline_sample // 2] + rows[n_crm : n_crm + args.baseline_sample // 2]
    seconds, requests = per_record(clients, counter, sample, args.erp)
    print(f"per-record flow: {len(sample)} records in {seconds:.1f}s = {len(sample) / seconds:,.0f} records/s; "
          f"{requests} HTTP requests = {requests / len(sample):.2f} requests/record")
    for client in clients.values():
        client.close()


if __name__ == "__main__":
    main()
