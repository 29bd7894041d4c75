"""One simulated day of business against the running sandbox, between two sync runs.

``run(data_dir, crm_url, erp_url, seed, credentials)``:

- sellers work in the CRM through the Dataverse Web API: new accounts with a contact, new
  contacts, edits of accounts and contacts, new quotes and orders with lines (on customers the ERP
  knows, with products both systems know), a line quantity changed, a draft order deleted, a
  contact deleted and an account deactivated;
- the ERP's users work through F&O OData: credit limits changed (a field the ERP owns), products
  released, sales prices changed, a contact person made inactive;
- the ERP's own processes (confirmation, picking, packing slip, invoicing — jobs and forms in the
  real system, not OData writes) run beside the servers on the ERP store through
  :mod:`sandbox.erp_logic`, which the store's locking makes safe;
- a few coupled records are edited on both sides, the same field to different values (conflicts).

Which records are touched is chosen from the stores (read beside the servers, ordered by natural
key) with ``random.Random(seed)``, and new records get their numbers and GUIDs from the same
generator, so the same seed on the same starting data does the same day. Every change is appended
to ``<data_dir>/activity.json`` (a list of runs) so tests know exactly what changed.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from sandbox import erp_logic
from sandbox.demo_data import COMPANIES, MANIFEST
from sandbox.finops_protocol import format_key
from sandbox.schema import ERP
from sandbox.server import crm_store, erp_store
from sandbox.store import Store, utc_now

LOG = "activity.json"
CANDIDATES = 400  # rows read per candidate list (the day touches a few dozen records)


class ActivityError(RuntimeError):
    """A write the simulation expected to succeed was refused."""


class Api:
    """A minimal OData client: a bearer token from the server's Entra-shaped token endpoint."""

    def __init__(self, base_url: str, credentials: Any, transport: httpx.BaseTransport | None = None):
        parts = urlsplit(base_url)
        origin = f"{parts.scheme}://{parts.netloc}"
        self.http = httpx.Client(base_url=base_url, timeout=60, transport=transport)
        token = self.http.post(
            f"{origin}/{credentials.tenant}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": credentials.client_id,
                  "client_secret": credentials.client_secret, "scope": f"{origin}/.default"},
        )
        if token.status_code != 200:
            raise ActivityError(f"token request to {origin} failed: {token.status_code} {token.text[:300]}")
        self.http.headers.update({"Authorization": f"Bearer {token.json()['access_token']}",
                                  "Accept": "application/json", "OData-Version": "4.0", "OData-MaxVersion": "4.0"})

    def _check(self, r: httpx.Response, what: str) -> httpx.Response:
        if r.status_code >= 400:
            raise ActivityError(f"{what}: {r.status_code} {r.text[:500]}")
        return r

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.http.post(path, json=body, headers={"Prefer": "return=representation"})
        return self._check(r, f"POST {path}").json()

    def update(self, path: str, body: dict[str, Any]) -> None:
        self._check(self.http.patch(path, json=body, headers={"If-Match": "*"}), f"PATCH {path}")

    def delete(self, path: str) -> None:
        self._check(self.http.delete(path), f"DELETE {path}")

    def close(self) -> None:
        self.http.close()


def erp_path(set_name: str, key: dict[str, Any]) -> str:
    """``CustomersV3(dataAreaId='usmf',CustomerAccount='A%27%271')``: the F&O key predicate, URL-safe."""
    return f"{set_name}({quote(format_key(ERP[set_name], key), safe=_KEY_SAFE)})"


_KEY_SAFE = "=',:"


@dataclass
class Day:
    """What one run did: the change log (for activity.json) and the counts (for the summary)."""

    seed: int
    changes: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def log(self, system: str, entity_set: str, action: str, key: Any, natural_key: str | None = None,
            company: str | None = None, fields: dict[str, Any] | None = None, conflict: bool = False) -> None:
        entry = {"system": system, "entity_set": entity_set, "action": action, "key": key,
                 "natural_key": natural_key, "company": company}
        if fields:
            entry["fields"] = fields
        if conflict:
            entry["conflict"] = True
        self.changes.append(entry)
        self.counts[f"{system}.{entity_set}.{action}"] += 1


class _Simulation:
    def __init__(self, data_dir: Path, crm: Api, erp: Api, crm_db: Store, erp_db: Store, seed: int):
        self.dir = data_dir
        self.crm, self.erp = crm, erp
        self.crm_db, self.erp_db = crm_db, erp_db
        self.rng = random.Random(seed)
        self.day = Day(seed)
        self._issued: dict[str, int] = {}  # numbers handed out today (the stores lag behind the API)
        self.used: set[str] = set()  # natural keys already touched today (one story per record)
        self.dirty = self._planted_ids()
        self.bu_company = {
            r["businessunitid"]: c.code
            for r in crm_db.iter_rows("businessunits") for c in COMPANIES.values() if r["name"] == c.business_unit
        }
        self.ids = {f"cur:{r['isocurrencycode']}": r["transactioncurrencyid"] for r in crm_db.iter_rows("transactioncurrencies")}
        self.ids |= {f"pl:{r['name']}": r["pricelevelid"] for r in crm_db.iter_rows("pricelevels")}
        self.users = {c: sorted(r["systemuserid"] for r in crm_db.iter_rows("systemusers")
                                if self.bu_company.get(r["_businessunitid_value"]) == c) for c in COMPANIES}

    # --- reading beside the servers -----------------------------------------------------------

    def _planted_ids(self) -> set[str]:
        try:
            manifest = json.loads((self.dir / MANIFEST).read_text())
        except (OSError, ValueError):
            return set()
        return {json.dumps(p["id_or_key"], sort_keys=True) for p in manifest.get("planted", []) if p.get("reason")}

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def next_number(self, prefix: str, crm_set: str, crm_col: str, erp_set: str | None, erp_col: str | None) -> str:
        def top(store: Store, set_name: str, col: str) -> int:
            rows = store.fetch(f'SELECT max(CAST(substr("{col}", {len(prefix) + 2}) AS INTEGER)) AS n FROM "{set_name}" '
                               f'WHERE "{col}" LIKE ?', (f"{prefix}-%",))
            return int(rows[0]["n"] or 0)

        n = top(self.crm_db, crm_set, crm_col)
        if erp_set:
            n = max(n, top(self.erp_db, erp_set, erp_col))
        n = max(n, self._issued.get(prefix, 0)) + 1
        self._issued[prefix] = n
        return erp_logic.format_number(prefix, n)

    def coupled_accounts(self) -> list[dict[str, Any]]:
        """Active CRM accounts whose customer exists in the ERP company of their business unit."""
        rows = self.crm_db.fetch(
            "SELECT accountid, accountnumber, name, telephone1, address1_city, _owningbusinessunit_value, "
            "_ownerid_value FROM accounts WHERE statecode = 0 AND accountnumber IS NOT NULL AND accountnumber IN "
            "(SELECT accountnumber FROM accounts GROUP BY accountnumber HAVING count(*) = 1) "
            "ORDER BY accountnumber LIMIT ?", (CANDIDATES,))
        out = []
        for r in rows:
            company = self.bu_company.get(r["_owningbusinessunit_value"])
            if company is None or json.dumps(r["accountid"]) in self.dirty:
                continue
            customer = self.erp_db.get("CustomersV3", {"dataAreaId": company, "CustomerAccount": r["accountnumber"]})
            if customer is not None and customer.get("PartyNumber"):
                out.append(r | {"company": company, "party": customer["PartyNumber"],
                                "credit": customer.get("CreditLimit") or 0.0})
        return out

    def take(self, rows: list[dict[str, Any]], n: int, key: str) -> list[dict[str, Any]]:
        free = [r for r in rows if r[key] not in self.used]
        picked = self.rng.sample(free, min(n, len(free)))
        self.used.update(r[key] for r in picked)
        return picked

    def sellable(self, company: str) -> list[dict[str, Any]]:
        """Products the CRM prices in the company's price list and the ERP sells there."""
        pl = self.ids[f"pl:{COMPANIES[company].price_list}"]
        rows = self.crm_db.fetch(
            "SELECT p.productid, p.productnumber, l.amount, l._uomid_value FROM productpricelevels l "
            "JOIN products p ON p.productid = l._productid_value WHERE l._pricelevelid_value = ? "
            "AND p.statecode = 0 AND p.productnumber IS NOT NULL ORDER BY p.productnumber LIMIT ?", (pl, CANDIDATES))
        out = []
        for r in rows:
            released = self.erp_db.get("ReleasedProductsV2", {"dataAreaId": company, "ItemNumber": r["productnumber"]})
            if released and released.get("IsSalesProhibited") != "Yes" and released.get("SalesUnitSymbol") != "pallet":
                out.append(r | {"price": released["SalesPrice"]})
        return out

    # --- the sellers (CRM Web API) -------------------------------------------------------------------

    def new_accounts(self, n: int) -> list[dict[str, Any]]:
        made = []
        for _ in range(n):
            company = self.rng.choice(sorted(COMPANIES))
            c = COMPANIES[company]
            number = self.next_number("ACC", "accounts", "accountnumber", "CustomersV3", "CustomerAccount")
            country = c.countries[0][0]
            body = {"accountid": self.guid(), "accountnumber": number,
                    "name": f"{self.rng.choice(('Nova', 'Vertex', 'Beacon', 'Crescent'))} {number[-3:]} Trading",
                    "telephone1": f"+1 425 555 {self.rng.randint(1000, 9999)}", "address1_city": c.cities[0],
                    "address1_country": country, "paymenttermscode": self.rng.randint(1, 4), "creditlimit": 10000.0,
                    "customertypecode": 3,
                    "ownerid@odata.bind": f"/systemusers({self.rng.choice(self.users[company])})",
                    "transactioncurrencyid@odata.bind": f"/transactioncurrencies({self.ids['cur:' + c.currency]})"}
            row = self.crm.create("accounts", body)
            self.used.add(number)
            self.day.log("crm", "accounts", "create", row["accountid"], number, company)
            made.append({"accountid": row["accountid"], "accountnumber": number, "company": company})
        return made

    def new_contact(self, account: dict[str, Any]) -> None:
        number = self.next_number("CON", "contacts", "p2c_contactnumber", "ContactPersons", "ContactPersonId")
        first, last = self.rng.choice(("Ada", "Björn", "Chen", "Dana")), self.rng.choice(("Lovelace", "Østergaard", "Wu"))
        row = self.crm.create("contacts", {
            "contactid": self.guid(), "p2c_contactnumber": number, "firstname": first, "lastname": last,
            "emailaddress1": f"{first}.{number[-3:]}@example.com".lower(), "jobtitle": "Buyer",
            "parentcustomerid_account@odata.bind": f"/accounts({account['accountid']})",
            "ownerid@odata.bind": f"/systemusers({self.rng.choice(self.users[account['company']])})"})
        self.used.add(number)
        self.day.log("crm", "contacts", "create", row["contactid"], number, account["company"])

    def edit_account(self, a: dict[str, Any], changes: dict[str, Any], conflict: bool = False,
                     action: str = "update") -> None:
        self.crm.update(f"accounts({a['accountid']})", changes)
        self.day.log("crm", "accounts", action, a["accountid"], a["accountnumber"], a["company"], changes, conflict)

    def new_order(self, a: dict[str, Any], products: list[dict[str, Any]]) -> None:
        if not products:
            return
        company = a["company"]
        c = COMPANIES[company]
        number = self.next_number("SO", "salesorders", "ordernumber", "CDSSalesOrderHeaders", "SalesOrderNumber")
        order_id = self.guid()
        self.crm.create("salesorders", {
            "salesorderid": order_id, "ordernumber": number, "name": f"Order {number}",
            "customerid_account@odata.bind": f"/accounts({a['accountid']})",
            "pricelevelid@odata.bind": f"/pricelevels({self.ids['pl:' + c.price_list]})",
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({self.ids['cur:' + c.currency]})",
            "paymenttermscode": self.rng.randint(1, 4), "freightamount": 0.0, "discountamount": 0.0,
            "ownerid@odata.bind": f"/systemusers({a['_ownerid_value']})"})
        lines = self.rng.sample(products, min(len(products), self.rng.randint(1, 3)))
        for seq, p in enumerate(lines, start=1):
            self.crm.create("salesorderdetails", {
                "salesorderdetailid": self.guid(), "salesorderid@odata.bind": f"/salesorders({order_id})",
                "productid@odata.bind": f"/products({p['productid']})", "uomid@odata.bind": f"/uoms({p['_uomid_value']})",
                "quantity": float(self.rng.choice((1, 2, 4, 10))), "priceperunit": p["price"],
                "ispriceoverridden": True, "manualdiscountamount": 0.0, "sequencenumber": seq, "lineitemnumber": seq})
        self.used.add(number)
        self.day.log("crm", "salesorders", "create", order_id, number, company, {"lines": len(lines)})

    def new_quote(self, a: dict[str, Any], products: list[dict[str, Any]]) -> None:
        if not products:
            return
        c = COMPANIES[a["company"]]
        number = self.next_number("QUO", "quotes", "quotenumber", "CDSSalesQuotationHeaders", "SalesQuotationNumber")
        quote_id = self.guid()
        self.crm.create("quotes", {
            "quoteid": quote_id, "quotenumber": number, "name": f"Quote {number}",
            "customerid_account@odata.bind": f"/accounts({a['accountid']})",
            "pricelevelid@odata.bind": f"/pricelevels({self.ids['pl:' + c.price_list]})",
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({self.ids['cur:' + c.currency]})",
            "p2c_hasexternallymaintainedproductsonly": True, "freightamount": 0.0, "discountamount": 0.0})
        lines = self.rng.sample(products, min(len(products), 2))
        for seq, p in enumerate(lines, start=1):
            self.crm.create("quotedetails", {
                "quotedetailid": self.guid(), "quoteid@odata.bind": f"/quotes({quote_id})",
                "productid@odata.bind": f"/products({p['productid']})", "uomid@odata.bind": f"/uoms({p['_uomid_value']})",
                "quantity": float(self.rng.choice((1, 3, 6))), "priceperunit": p["price"], "ispriceoverridden": True,
                "manualdiscountamount": 0.0, "sequencenumber": seq, "lineitemnumber": seq})
        self.used.add(number)
        self.day.log("crm", "quotes", "create", quote_id, number, a["company"], {"lines": len(lines)})

    def draft_orders(self) -> list[dict[str, Any]]:
        """CRM orders the ERP does not know yet (not externally maintained), with a key and lines."""
        rows = self.crm_db.fetch(
            "SELECT o.salesorderid, o.ordernumber, o._owningbusinessunit_value FROM salesorders o "
            "WHERE (o.p2c_isexternallymaintained = 0 OR o.p2c_isexternallymaintained IS NULL) AND o.statecode = 0 "
            "AND o.ordernumber IN (SELECT ordernumber FROM salesorders GROUP BY ordernumber HAVING count(*) = 1) "
            "AND EXISTS (SELECT 1 FROM salesorderdetails d WHERE d._salesorderid_value = o.salesorderid "
            "AND d._productid_value IS NOT NULL) "
            "AND NOT EXISTS (SELECT 1 FROM salesorderdetails d WHERE d._salesorderid_value = o.salesorderid "
            "AND d._productid_value IS NULL) ORDER BY o.ordernumber LIMIT ?", (CANDIDATES,))
        return [r | {"company": self.bu_company.get(r["_owningbusinessunit_value"])} for r in rows
                if self.bu_company.get(r["_owningbusinessunit_value"])]

    def change_line_quantity(self, order: dict[str, Any]) -> None:
        line = self.crm_db.fetch(
            "SELECT salesorderdetailid, quantity FROM salesorderdetails WHERE _salesorderid_value = ? "
            "ORDER BY sequencenumber LIMIT 1", (order["salesorderid"],))[0]
        qty = float(line["quantity"] or 0) + 1
        self.crm.update(f"salesorderdetails({line['salesorderdetailid']})", {"quantity": qty})
        self.day.log("crm", "salesorderdetails", "update", line["salesorderdetailid"], f"{order['ordernumber']}|1",
                     order["company"], {"quantity": qty})

    # --- the ERP's users (F&O OData) -----------------------------------------------------------------

    def edit_customer(self, a: dict[str, Any], changes: dict[str, Any], conflict: bool = False) -> None:
        key = {"dataAreaId": a["company"], "CustomerAccount": a["accountnumber"]}
        self.erp.update(erp_path("CustomersV3", key), changes)
        self.day.log("erp", "CustomersV3", "update", key, a["accountnumber"], a["company"], changes, conflict)

    def release_product(self) -> None:
        number = self.next_number("P", "products", "productnumber", "ReleasedProductsV2", "ItemNumber")
        name = f"{self.rng.choice(('Soundbar', 'Streamer', 'Dock'))} {self.rng.choice(('One', 'Two', 'Air'))}"
        usd = round(self.rng.uniform(20, 900), 2)
        for company in sorted(COMPANIES):
            key = {"dataAreaId": company, "ItemNumber": number}
            price = usd if company == "usmf" else round(usd * 0.92, 2)
            self.erp.create("ReleasedProductsV2", {
                **key, "ProductNumber": number, "ProductName": name, "SearchName": name.upper(), "ProductType": "Item",
                "ProductGroupId": "Audio", "InventoryUnitSymbol": "ea", "SalesUnitSymbol": "ea", "SalesPrice": price,
                "UnitCost": round(price * 0.5, 2), "SalesSalesTaxItemGroupCode": "FULL", "IsSalesProhibited": "No"})
            self.day.log("erp", "ReleasedProductsV2", "create", key, number, company)
        self.used.add(number)

    def change_price(self, product: dict[str, Any], company: str) -> None:
        key = {"dataAreaId": company, "ItemNumber": product["productnumber"]}
        price = round(product["price"] * self.rng.choice((1.05, 1.1, 0.95)), 2)
        self.erp.update(erp_path("ReleasedProductsV2", key), {"SalesPrice": price})
        self.day.log("erp", "ReleasedProductsV2", "update", key, product["productnumber"], company, {"SalesPrice": price})

    # --- the ERP's processes (beside the servers, on the store) ----------------------------------------

    def erp_orders(self, status: str) -> list[dict[str, Any]]:
        return self.erp_db.fetch(
            'SELECT "dataAreaId", "SalesOrderNumber" FROM "CDSSalesOrderHeaders" '
            'WHERE "SalesOrderProcessingStatus" = ? ORDER BY "SalesOrderNumber", "dataAreaId" LIMIT ?',
            (status, CANDIDATES))

    def process(self, status: str, step: str, n: int) -> None:
        action = getattr(erp_logic, f"{step}_order")
        for o in self.take(self.erp_orders(status), n, "SalesOrderNumber"):
            result = action(self.erp_db, o["dataAreaId"], o["SalesOrderNumber"])
            key = {"dataAreaId": o["dataAreaId"], "SalesOrderNumber": o["SalesOrderNumber"]}
            self.day.log("erp", "CDSSalesOrderHeaders", step, key, o["SalesOrderNumber"], o["dataAreaId"])
            if step == "invoice":
                ikey = {k: result[k] for k in ("dataAreaId", "InvoiceNumber", "InvoiceDate", "LedgerVoucher")}
                self.day.log("erp", "SalesInvoiceHeadersV2", "create", ikey, result["InvoiceNumber"], o["dataAreaId"],
                             {"SalesOrderNumber": o["SalesOrderNumber"]})

    # --- the day --------------------------------------------------------------------------------------

    def run(self) -> Day:
        rng = self.rng
        accounts = self.coupled_accounts()
        # sellers: new customers with a contact, edits of CRM-owned fields
        for a in self.new_accounts(3):
            self.new_contact(a)
        for a in self.take(accounts, 2, "accountnumber"):
            self.new_contact(a)
        for a in self.take(accounts, 3, "accountnumber"):
            self.edit_account(a, {"telephone1": f"+1 206 555 {rng.randint(1000, 9999)}"})
        for a in self.take(accounts, 2, "accountnumber"):
            self.edit_account(a, {"address1_city": rng.choice(COMPANIES[a["company"]].cities)
                                  + (" Downtown" if rng.random() < 0.5 else " North")})
        products = {c: self.sellable(c) for c in COMPANIES}
        for a in self.take(accounts, 3, "accountnumber"):
            self.new_order(a, products[a["company"]])
        for a in self.take(accounts, 2, "accountnumber"):
            self.new_quote(a, products[a["company"]])
        drafts = self.take(self.draft_orders(), 2, "ordernumber")
        if drafts:
            self.change_line_quantity(drafts[0])
        if len(drafts) > 1:
            d = drafts[1]
            self.crm.delete(f"salesorders({d['salesorderid']})")
            self.day.log("crm", "salesorders", "delete", d["salesorderid"], d["ordernumber"], d["company"])
        # the ERP's users: credit limits (ERP-owned), new products, new prices
        for a in self.take(accounts, 3, "accountnumber"):
            self.edit_customer(a, {"CreditLimit": float(a["credit"]) + 5000.0})
        self.release_product()
        for company in sorted(COMPANIES):
            for p in self.take(products[company], 2, "productnumber"):
                self.change_price(p, company)
        # both sides edit the same field of the same record to different values
        for a in self.take(accounts, 2, "accountnumber"):
            crm_phone, erp_phone = f"+1 206 555 {rng.randint(1000, 4999)}", f"+1 206 555 {rng.randint(5000, 9999)}"
            self.edit_account(a, {"telephone1": crm_phone}, conflict=True)
            self.edit_customer(a, {"PrimaryContactPhone": erp_phone}, conflict=True)
        for a in self.take(accounts, 1, "accountnumber"):
            self.edit_account(a, {"creditlimit": float(a["credit"]) + 1000.0}, conflict=True)  # a non-owner edit
            self.edit_customer(a, {"CreditLimit": float(a["credit"]) + 7500.0}, conflict=True)
        # deactivations and deletions
        for a in self.take(accounts, 1, "accountnumber"):
            self.edit_account(a, {"statecode": 1, "statuscode": 2}, action="deactivate")
        self.deactivate_contacts()
        # the ERP's processes on orders it knows
        self.process("Delivered", "invoice", 3)
        self.process("Picked", "ship", 2)
        self.process("Confirmed", "ship", 1)
        self.process("Confirmed", "pick", 2)
        self.process("Active", "confirm", 3)
        return self.day

    def deactivate_contacts(self) -> None:
        """Delete a CRM-only contact; make a coupled contact person inactive in the ERP."""
        rows = self.crm_db.fetch(
            "SELECT contactid, p2c_contactnumber, _owningbusinessunit_value FROM contacts WHERE statecode = 0 "
            "AND p2c_contactnumber IS NOT NULL AND p2c_contactnumber IN (SELECT p2c_contactnumber FROM contacts "
            "GROUP BY p2c_contactnumber HAVING count(*) = 1) ORDER BY p2c_contactnumber LIMIT ?", (CANDIDATES,))
        crm_only, coupled = [], []
        for r in rows:
            company = self.bu_company.get(r["_owningbusinessunit_value"])
            if company is None:
                continue
            person = self.erp_db.get("ContactPersons", {"dataAreaId": company, "ContactPersonId": r["p2c_contactnumber"]})
            (coupled if person and person.get("IsInactive") != "Yes" else crm_only if not person else []).append(
                r | {"company": company})
        for r in self.take(crm_only, 1, "p2c_contactnumber"):
            self.crm.delete(f"contacts({r['contactid']})")
            self.day.log("crm", "contacts", "delete", r["contactid"], r["p2c_contactnumber"], r["company"])
        for r in self.take(coupled, 1, "p2c_contactnumber"):
            key = {"dataAreaId": r["company"], "ContactPersonId": r["p2c_contactnumber"]}
            self.erp.update(erp_path("ContactPersons", key), {"IsInactive": "Yes"})
            self.day.log("erp", "ContactPersons", "deactivate", key, r["p2c_contactnumber"], r["company"],
                         {"IsInactive": "Yes"})


def run(data_dir: Path, crm_url: str, erp_url: str, seed: int, credentials: Any,
        transport: httpx.BaseTransport | None = None, bc_url: str | None = None) -> dict[str, Any]:
    """Play one day against the servers at ``crm_url``/``erp_url`` (and Business Central's share at
    ``bc_url``, :func:`sandbox.business_central_data.play_day`); returns what was done."""
    data_dir = Path(data_dir)
    crm_db, erp_db = crm_store(data_dir), erp_store(data_dir)
    crm, erp = Api(crm_url, credentials, transport), Api(erp_url, credentials, transport)
    started = utc_now()
    sim = _Simulation(data_dir, crm, erp, crm_db, erp_db, seed)
    bc = Api(bc_url, credentials, transport) if bc_url else None
    try:
        day = sim.run()
        if bc is not None:
            from sandbox.business_central_data import play_day

            play_day(bc, data_dir, seed, day)
    finally:
        for c in (crm, erp, *([bc] if bc else [])):
            c.close()
        for s in (crm_db, erp_db):
            s.close()
    entry = {"seed": seed, "started": started, "finished": utc_now(), "changes": day.changes}
    path = data_dir / LOG
    try:
        runs = json.loads(path.read_text())
    except (OSError, ValueError):
        runs = []
    runs.append(entry)
    path.write_text(json.dumps(runs, indent=1, ensure_ascii=False) + "\n")
    by_system: dict[str, dict[str, int]] = {"crm": {}, "erp": {}, **({"bc": {}} if bc_url else {})}
    for k, v in sorted(day.counts.items()):
        system, rest = k.split(".", 1)
        by_system[system][rest] = v
    return {"seed": seed, "changes": len(day.changes), "conflicts": sum(1 for c in day.changes if c.get("conflict")),
            **by_system}


__all__ = ["run", "Api", "erp_path", "LOG"]
