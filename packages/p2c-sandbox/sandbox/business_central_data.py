"""Business Central's demo tenant, written by ``p2c sandbox reset`` beside the CRM and F&O ones.

BC is the other ERP a deployment may choose, so its demo tenant is the same business as the F&O
one, in BC's shape: :func:`reset` reads the freshly written ``erp.sqlite`` page by page and writes
``bc.sqlite``. The customers, contacts, items, quotes, orders and posted invoices therefore carry
the same numbers as their F&O counterparts and relate to the CRM the same way (in one system
only, in both and equal, in both with a field differing; Unicode and long names; the F&O
manifest's cases hold for BC too), while BC adds its own awkwardness:

- two companies with GUID ids, **CRONUS USA** (usmf's business) and **CRONUS Europe** (demf's);
  each keeps no currency row for its local currency (a customer in it has the empty GUID as
  ``currencyId``), and knows ``CHF``, which the CRM does not;
- unit codes that are not F&O's symbols (``PCS``, ``BOX``, ``HOUR``, ``KG``, ``DZ``, ``PALLET``),
  payment terms with BC codes and date formulas, salesperson codes (the CRM users' initials);
- a company contact per customer (type Company, ``contactBusinessRelation`` Customer); persons
  point at it through ``companyNumber``, not at the customer;
- order statuses mapped (F&O Active → Draft, later → Open); posted invoices Open or Paid with
  ``orderId``/``orderNumber``; line amounts and totals computed by BC's own arithmetic
  (:func:`sandbox.business_central_logic.price_document`); F&O's orphan lines have no place in BC;
- planted (listed under ``bc`` in ``manifest.json``): two BC-only customers whose name and post
  code equal one CRM-only account (an ambiguous match), unmapped salesperson and currency codes,
  a customer blocked All, and the items on the F&O unit nobody maps (``PALLET``).

Ids are hashed from (seed, set, company, number) and every other choice comes from one
``random.Random(seed)``, so the same seed gives identical rows. Nothing is held per row beyond a
few dicts keyed by number; rows are bulk-inserted in pages.

:func:`play_day` is BC's share of ``p2c sandbox activity``: a day of edits through the API.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from sandbox import business_central_logic as logic
from sandbox.business_central_schema import COMPANY, EMPTY_GUID, LINES
from sandbox.erp_logic import money
from sandbox.store import Store

COMPANY_NAMES = {"usmf": "CRONUS USA", "demf": "CRONUS Europe"}
BUSINESS_UNITS = {"usmf": "Contoso US", "demf": "Contoso Europe"}
UNITS = {"ea": ("PCS", "Piece", "H87"), "box": ("BOX", "Box", "BX"), "h": ("HOUR", "Hour", "HUR"),
         "kg": ("KG", "Kilogram", "KGM"), "dz": ("DZ", "Dozen", "DZN"), "pallet": ("PALLET", "Pallet", "PF")}
EXTRA_CURRENCY = ("CHF", "Swiss Franc", "CHF")  # BC knows it, the CRM does not
# BC knows them and the value maps name them, the CRM has neither yet: p2c creates them in the CRM
NEW_CURRENCY = ("DKK", "Danish Krone", "kr.")
# units per US dollar of the currencies only BC knows (the CRM's own rates: demo_data.CURRENCIES)
BC_ONLY_RATES = {"CHF": 0.88, "DKK": 6.87}
NEW_UNIT = ("SET", "Set", "SET")
QUOTE_STATUS = {"Created": "Draft", "Sent": "Sent", "Confirmed": "Accepted"}  # others: Expired
BLOCKED = {"No": " ", "Invoice": "Invoice", "All": "All"}  # other F&O holds: All
UNMAPPED_SALESPERSON = "ZZ"
MODIFIED = "lastModifiedDateTime"


class _Gen:
    def __init__(self, erp: Store, crm: Store, bc: Store, seed: int, base_time):
        self.erp, self.crm, self.bc = erp, crm, bc
        self.seed = seed
        self.rng = random.Random(seed * 7919 + 10)
        self.base = base_time
        self.counts: Counter = Counter()
        self.planted: list[dict[str, Any]] = []
        self._ids: dict[tuple[str, str, str], str] = {}
        self.companies = {code: self.id("companies", code) for code in COMPANY_NAMES}

    # --- helpers -----------------------------------------------------------------------------

    def id(self, set_name: str, *parts: Any) -> str:
        """A GUID (version 4 shape) hashed from the seed, set and natural key: deterministic, and 3x
        cheaper than ``uuid.uuid5`` (a million of them at ``large``)."""
        h = hashlib.blake2b(f"{self.seed}/{set_name}/{'/'.join(map(str, parts))}".encode(), digest_size=16).hexdigest()
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def cached_id(self, set_name: str, company: str, number: str) -> str:
        """:meth:`id` of master data that many lines name, computed once."""
        k = (set_name, company, number)
        found = self._ids.get(k)
        if found is None:
            found = self._ids[k] = self.id(set_name, company, number)
        return found

    def when(self, max_days: int = 900) -> str:
        return logic.now_ms(self.base - timedelta(days=self.rng.randint(0, max_days),
                                                  milliseconds=self.rng.randint(0, 86_399_999)))

    def write(self, set_name: str, rows: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> None:
        self.counts[set_name] += self.bc.bulk_insert(set_name, rows)

    def erp_rows(self, set_name: str, order: list[tuple[str, bool]] | None = None) -> Iterator[dict[str, Any]]:
        return self.erp.iter_rows(set_name, order_by=order or ())

    def plant(self, set_name: str, row: dict[str, Any], company: str, reason: str) -> None:
        self.planted.append({"system": "bc", "entity_set": set_name, "id": row["id"], "number": row.get("number")
                             or row.get("code"), "company": COMPANY_NAMES[company], "reason": reason})

    # --- reference data --------------------------------------------------------------------------

    def exchange_rates(self, code: str, cid: str, lcy: str) -> list[dict[str, Any]]:
        """Each foreign currency's exchange rates in one company, against its local currency (BC's
        relationalCurrencyCode blank): 100 units of the currency = N units of the local one. A rate
        from last year and the one in force since a month ago; no draw from the random stream."""
        from sandbox.demo_data import CURRENCIES

        per_usd = {iso: rate for _, iso, _, rate in CURRENCIES if iso != "XBT"} | BC_ONLY_RATES
        rows = []
        for iso, rate in per_usd.items():
            if iso == lcy:
                continue
            for days, drift in ((400, 1.05), (30, 1.0)):
                start = (self.base - timedelta(days=days)).date().isoformat()
                rows.append({COMPANY: cid, "id": self.id("currencyExchangeRates", code, iso, start), "currencyCode": iso,
                             "startingDate": start, "exchangeRateAmount": 100.0,
                             "relationalCurrencyCode": "",
                             "relationalExchangeRateAmount": round(100.0 * per_usd[lcy] / rate * drift, 4),
                             MODIFIED: logic.now_ms(self.base)})
        return rows

    def reference(self) -> None:
        names = {"usmf": "Contoso Entertainment System USA", "demf": "Contoso Entertainment System Germany"}
        self.write("companies", [{"id": cid, "name": COMPANY_NAMES[code], "displayName": names[code],
                                  "systemVersion": "25.0.0.0", "businessProfileId": ""}
                                 for code, cid in self.companies.items()])
        # one companyInformation row per company (its local currency); stamped without a draw from the
        # random stream, so the rest of the data stays as it was
        self.write("companyInformation", [
            {COMPANY: cid, "id": cid, "displayName": names[code], "currencyCode": logic.COMPANIES[COMPANY_NAMES[code]][1],
             MODIFIED: logic.now_ms(self.base)} for code, cid in self.companies.items()])
        currencies = [(r["CurrencyCode"], r["Name"], r["Symbol"]) for r in self.erp_rows("Currencies")]
        terms = list(self.erp_rows("PaymentTerms", [("dataAreaId", False), ("Name", False)]))
        self.salespeople: dict[str, list[str]] = {}
        for code, cid in self.companies.items():
            lcy = logic.COMPANIES[COMPANY_NAMES[code]][1]
            self.write("currencies", [
                {COMPANY: cid, "id": self.id("currencies", code, iso), "code": iso, "displayName": name,
                 "symbol": symbol, "amountDecimalPlaces": "2:2", "amountRoundingPrecision": 0.01, MODIFIED: self.when()}
                for iso, name, symbol in [*currencies, EXTRA_CURRENCY] if iso != lcy])
            self.write("unitsOfMeasure", [
                {COMPANY: cid, "id": self.id("unitsOfMeasure", code, bc), "code": bc, "displayName": name,
                 "internationalStandardCode": iso, "symbol": bc.lower(), MODIFIED: self.when()}
                for bc, name, iso in UNITS.values()])
            # written after the rest, without a drawn time stamp: the other rows stay as they were
            iso, name, symbol = NEW_CURRENCY
            new_currency = {COMPANY: cid, "id": self.id("currencies", code, iso), "code": iso, "displayName": name,
                            "symbol": symbol, "amountDecimalPlaces": "2:2", "amountRoundingPrecision": 0.01,
                            MODIFIED: logic.now_ms(self.base)}
            unit, name, iso = NEW_UNIT
            new_unit = {COMPANY: cid, "id": self.id("unitsOfMeasure", code, unit), "code": unit, "displayName": name,
                        "internationalStandardCode": iso, "symbol": unit.lower(), MODIFIED: logic.now_ms(self.base)}
            self.write("currencies", [new_currency])
            self.write("unitsOfMeasure", [new_unit])
            self.plant("currencies", new_currency, code, "created_in_crm")
            self.plant("unitsOfMeasure", new_unit, code, "created_in_crm")
            self.write("currencyExchangeRates", self.exchange_rates(code, cid, lcy))
            self.write("paymentTerms", [
                {COMPANY: cid, "id": self.id("paymentTerms", code, t["Name"]), "code": t["Name"].upper()[:10],
                 "displayName": t["Description"], "dueDateCalculation": f"{t['NumberOfDays'] or 0}D",
                 "discountDateCalculation": "10D" if "2%" in t["Name"] else "",
                 "discountPercent": 2.0 if "2%" in t["Name"] else 0.0, "calculateDiscountOnCreditMemos": False,
                 MODIFIED: self.when()} for t in terms if t["dataAreaId"] == code])
            bu = self.crm.fetch("SELECT u.firstname, u.lastname FROM systemusers u JOIN businessunits b ON "
                                "b.businessunitid = u._businessunitid_value WHERE b.name = ? ORDER BY u.lastname",
                                (BUSINESS_UNITS[code],))
            self.salespeople[code] = [f"{u['firstname'][0]}{u['lastname'][0]}".upper() for u in bu] or ["AA"]
            self.salespeople_of(code, cid, bu)

    def salespeople_of(self, code: str, cid: str, users: list[dict[str, Any]]) -> None:
        """BC's salespeople of a company: one per CRM user of its business unit (code = the initials),
        the same e-mail address but for the last one (BC keeps another mailbox: coupled by name), plus
        one nobody in the CRM is (``UNMAPPED_SALESPERSON``, planted: its customers cannot be owned)."""
        rows = []
        for i, (person, sp) in enumerate(zip(users, self.salespeople[code])):
            first, last = person["firstname"], person["lastname"]
            email = f"{first}.{last}@contoso.com".lower() if i < len(users) - 1 else f"{sp.lower()}@cronus.example"
            rows.append({COMPANY: cid, "id": self.id("salespeoplePurchasers", code, sp), "code": sp,
                         "displayName": f"{first} {last}", "email": email, "email2": "", "phoneNo": "",
                         "jobTitle": "Sales Representative", "commisionPercent": 0.0, "privacyBlocked": False,
                         "blocked": False, MODIFIED: logic.now_ms(self.base)})
        rows.append({COMPANY: cid, "id": self.id("salespeoplePurchasers", code, UNMAPPED_SALESPERSON),
                     "code": UNMAPPED_SALESPERSON, "displayName": "Zoe Zimmermann", "email": "zz@cronus.example",
                     "email2": "", "phoneNo": "", "jobTitle": "Sales Representative", "commisionPercent": 0.0,
                     "privacyBlocked": False, "blocked": False, MODIFIED: logic.now_ms(self.base)})
        self.write("salespeoplePurchasers", rows)

    def currency(self, company: str, code: str | None) -> tuple[str, str]:
        lcy = logic.COMPANIES[COMPANY_NAMES[company]][1]
        if not code or code == lcy:
            return EMPTY_GUID, lcy
        return self.id("currencies", company, code), code

    # --- master data -------------------------------------------------------------------------------

    def items(self) -> None:
        self.items_known: set[tuple[str, str]] = set()

        def rows() -> Iterator[dict[str, Any]]:
            for p in self.erp_rows("ReleasedProductsV2"):
                company, number = p["dataAreaId"], p["ItemNumber"]
                self.items_known.add((company, number))
                unit = UNITS.get(p.get("SalesUnitSymbol") or "ea", UNITS["ea"])[0]
                service = p.get("ProductType") == "Service"
                row = {COMPANY: self.companies[company], "id": self.id("items", company, number), "number": number,
                       "displayName": p.get("ProductName") or "", "displayName2": "",
                       "type": "Service" if service else "Inventory", "itemCategoryCode": "AUDIO",
                       "blocked": p.get("IsSalesProhibited") == "Yes", "gtin": f"{self.rng.randrange(10**12, 10**13)}",
                       "inventory": 0.0 if service else float(self.rng.randint(0, 400)),
                       "unitPrice": p.get("SalesPrice") or 0.0, "priceIncludesTax": False,
                       "unitCost": p.get("UnitCost") or 0.0, "taxGroupCode": "TAXABLE",
                       "baseUnitOfMeasureId": self.id("unitsOfMeasure", company, unit), "baseUnitOfMeasureCode": unit,
                       "generalProductPostingGroupCode": "RETAIL", "inventoryPostingGroupCode": "RESALE",
                       MODIFIED: self.when()}
                if unit == "PALLET":
                    self.plant("items", row, company, "unmapped_unit")
                yield row

        self.write("items", rows())

    def customers(self, balances: dict[tuple[str, str], float]) -> None:
        """Customers, each with its company contact; ``party`` → company contact, for the persons."""
        self.contact_of_party: dict[str, tuple[str, str]] = {}
        seq = itertools.count(1)

        def rows() -> Iterator[dict[str, Any]]:
            for c in self.erp_rows("CustomersV3"):
                company, number = c["dataAreaId"], c["CustomerAccount"]
                currency_id, currency_code = self.currency(company, c.get("SalesCurrencyCode"))
                name = c.get("OrganizationName") or " ".join(
                    x for x in (c.get("PersonFirstName"), c.get("PersonLastName")) if x)
                row = {COMPANY: self.companies[company], "id": self.id("customers", company, number),
                       "number": number, "displayName": name,
                       "type": "Person" if c.get("PartyType") == "Person" else "Company",
                       "addressLine1": c.get("AddressStreet") or "", "city": c.get("AddressCity") or "",
                       "state": c.get("AddressState") or "", "country": c.get("AddressCountryRegionISOCode") or "",
                       "postalCode": c.get("AddressZipCode") or "", "phoneNumber": c.get("PrimaryContactPhone") or "",
                       "email": c.get("PrimaryContactEmail") or "", "website": c.get("PrimaryContactURL") or "",
                       "salespersonCode": self.rng.choice(self.salespeople[company]),
                       "balanceDue": balances.get((company, number), 0.0), "creditLimit": c.get("CreditLimit") or 0.0,
                       "taxLiable": True, "currencyId": currency_id, "currencyCode": currency_code,
                       "paymentTermsId": self.id("paymentTerms", company, c["PaymentTerms"]) if c.get("PaymentTerms")
                       else EMPTY_GUID, "blocked": BLOCKED.get(c.get("OnHoldStatus") or "No", "All"),
                       MODIFIED: self.when()}
                contact = f"CT-{next(seq):05d}"
                if c.get("PartyNumber"):
                    self.contact_of_party[c["PartyNumber"]] = (contact, name)
                self.company_contacts.append(self._company_contact(company, contact, row))
                yield row

        self.company_contacts: list[dict[str, Any]] = []
        self.write("customers", _flushing(rows(), lambda: self._flush_company_contacts()))
        self._flush_company_contacts()

    def _company_contact(self, company: str, number: str, customer: dict[str, Any]) -> dict[str, Any]:
        return {COMPANY: self.companies[company], "id": self.id("contacts", company, number), "number": number,
                "type": "Company", "displayName": customer["displayName"], "companyNumber": number,
                "companyName": customer["displayName"], "contactBusinessRelation": "Customer",
                "addressLine1": customer["addressLine1"], "city": customer["city"], "country": customer["country"],
                "postalCode": customer["postalCode"], "phoneNumber": customer["phoneNumber"],
                "email": customer["email"], "website": customer["website"],
                "searchName": customer["displayName"].upper(), "privacyBlocked": False, MODIFIED: customer[MODIFIED]}

    def _flush_company_contacts(self) -> None:
        if self.company_contacts:
            self.write("contacts", self.company_contacts)
            self.company_contacts = []

    def persons(self) -> None:
        def rows() -> Iterator[dict[str, Any]]:
            for p in self.erp_rows("ContactPersons"):
                company, number = p["dataAreaId"], p["ContactPersonId"]
                parent, parent_name = self.contact_of_party.get(p.get("AssociatedPartyNumber") or "", ("", ""))
                name = p.get("ContactPersonName") or " ".join(x for x in (p.get("FirstName"), p.get("LastName")) if x)
                yield {COMPANY: self.companies[company], "id": self.id("contacts", company, number), "number": number,
                       "type": "Person", "displayName": name, "jobTitle": p.get("EmploymentJobTitle") or "",
                       "companyNumber": parent, "companyName": parent_name, "contactBusinessRelation": "",
                       "phoneNumber": p.get("PrimaryPhoneNumber") or "", "email": p.get("PrimaryEmailAddress") or "",
                       "searchName": name.upper(), "privacyBlocked": False, MODIFIED: self.when()}

        self.write("contacts", rows())

    # --- documents -----------------------------------------------------------------------------------

    def documents(self, header_set: str, erp_header: str, erp_lines: str, number_col: str, qty_col: str) -> dict:
        """One document set with its lines; returns (company, number) → header totals."""
        line_set = LINES[header_set]
        headers = {(h["dataAreaId"], h[number_col]) for h in self.erp.iter_rows(erp_header, columns=[number_col])}
        totals: dict[tuple[str, str], dict[str, float]] = {}
        order = [("dataAreaId", False), (number_col, False), ("LineCreationSequenceNumber", False)]

        def rows() -> Iterator[dict[str, Any]]:
            for doc, group in itertools.groupby(self.erp_rows(erp_lines, order), lambda r: (r["dataAreaId"], r[number_col])):
                if doc not in headers:  # an F&O orphan line: BC has no line without its document
                    continue
                company, number = doc
                source = list(group)
                lines = [{"quantity": ln.get(qty_col) or 0.0, "unitPrice": ln.get("SalesPrice") or 0.0,
                          "discountAmount": ln.get("LineDiscountAmount") or 0.0} for ln in source]
                priced, totals[doc] = logic.price_document(company, lines)
                doc_id = self.id(header_set, company, number)
                for ln, base, amounts in zip(source, lines, priced):
                    item = ln.get("ProductNumber") or ""
                    known = (company, item) in self.items_known
                    unit = UNITS.get(ln.get("SalesUnitSymbol") or "ea", UNITS["ea"])[0]
                    row = {COMPANY: self.companies[company],
                           "id": self.id(line_set, company, number, ln["LineCreationSequenceNumber"]),
                           "documentId": doc_id, "sequence": ln["LineCreationSequenceNumber"] * logic.LINE_STEP,
                           "itemId": self.cached_id("items", company, item) if known else EMPTY_GUID,
                           "lineType": "Item" if known else "Comment", "lineObjectNumber": item if known else "",
                           "description": ln.get("LineDescription") or ln.get("ProductName") or "",
                           "unitOfMeasureId": self.cached_id("unitsOfMeasure", company, unit), "unitOfMeasureCode": unit,
                           "taxCode": "TAXABLE", **base, **amounts}
                    if line_set == "salesOrderLines":
                        row.update(shippedQuantity=0.0, invoicedQuantity=0.0, shipQuantity=base["quantity"],
                                   invoiceQuantity=base["quantity"])
                    yield row

        self.write(line_set, rows())
        return totals

    def header(self, set_name: str, company: str, number: str, customer: str | None, totals: dict[str, float] | None,
               modified: str) -> dict[str, Any]:
        """The fields every document shares: customer, addresses (from the customer), currency, totals."""
        cust = self.bc.get("customers", {COMPANY: self.companies[company], "id": self.id("customers", company, customer)}) \
            if customer else None
        cust = cust or {}
        row = {COMPANY: self.companies[company], "id": self.id(set_name, company, number), "number": number,
               "customerId": cust.get("id") or EMPTY_GUID, "customerNumber": customer or "",
               "customerName": cust.get("displayName") or "", "billToName": cust.get("displayName") or "",
               "billToCustomerId": cust.get("id") or EMPTY_GUID, "billToCustomerNumber": customer or "",
               "shipToName": cust.get("displayName") or "", "currencyId": cust.get("currencyId") or EMPTY_GUID,
               "currencyCode": cust.get("currencyCode") or logic.COMPANIES[COMPANY_NAMES[company]][1],
               "paymentTermsId": cust.get("paymentTermsId") or EMPTY_GUID,
               "salesperson": cust.get("salespersonCode") or "", "phoneNumber": cust.get("phoneNumber") or "",
               "email": cust.get("email") or "", MODIFIED: modified,
               **(totals or logic.price_document(company, [])[1])}
        for side in ("sellTo", "billTo"):
            row.update({f"{side}AddressLine1": cust.get("addressLine1") or "", f"{side}City": cust.get("city") or "",
                        f"{side}Country": cust.get("country") or "", f"{side}PostCode": cust.get("postalCode") or ""})
        return row

    def quotes(self) -> None:
        totals = self.documents("salesQuotes", "CDSSalesQuotationHeaders", "CDSSalesQuotationLines",
                                "SalesQuotationNumber", "RequestedSalesQuantity")

        def rows() -> Iterator[dict[str, Any]]:
            for q in self.erp_rows("CDSSalesQuotationHeaders"):
                company, number = q["dataAreaId"], q["SalesQuotationNumber"]
                modified = self.when(300)
                row = self.header("salesQuotes", company, number, q.get("RequestingCustomerAccountNumber"),
                                  totals.get((company, number)), modified)
                expiry = (q.get("SalesQuotationExpiryDate") or "")[:10] or None
                row.update({"externalDocumentNumber": q.get("SalesQuotationName") or "", "documentDate": modified[:10],
                            "postingDate": modified[:10], "validUntilDate": expiry, "dueDate": expiry,
                            "status": QUOTE_STATUS.get(q.get("SalesQuotationStatus") or "", "Expired")})
                yield row

        self.write("salesQuotes", rows())

    def orders(self) -> None:
        totals = self.documents("salesOrders", "CDSSalesOrderHeaders", "CDSSalesOrderLines", "SalesOrderNumber",
                                "OrderedSalesQuantity")
        invoiced = {(r["dataAreaId"], r["SalesOrderNumber"]) for r in self.erp.iter_rows(
            "SalesInvoiceHeadersV2", columns=["SalesOrderNumber"])}

        def rows() -> Iterator[dict[str, Any]]:
            for o in self.erp_rows("CDSSalesOrderHeaders"):
                company, number = o["dataAreaId"], o["SalesOrderNumber"]
                status = o.get("SalesOrderProcessingStatus") or "Active"
                modified = self.when(300)
                row = self.header("salesOrders", company, number, o.get("OrderingCustomerAccountNumber"),
                                  totals.get((company, number)), modified)
                row.update({"externalDocumentNumber": o.get("CustomersOrderReference") or "",
                            "orderDate": (o.get("OrderCreationDateTime") or modified)[:10], "postingDate": modified[:10],
                            "requestedDeliveryDate": (o.get("RequestedShippingDate") or "")[:10] or None,
                            "status": "Draft" if status == "Active" else "Open",
                            "fullyShipped": (company, number) in invoiced, "partialShipping": False,
                            "pricesIncludeTax": False})
                yield row

        self.write("salesOrders", rows())
        # lines of posted orders: shipped and invoiced in full
        for code, cid in self.companies.items():
            self.bc._conn().execute(
                'UPDATE "salesOrderLines" SET "shippedQuantity" = "quantity", "invoicedQuantity" = "quantity", '
                '"shipQuantity" = 0, "invoiceQuantity" = 0 WHERE "companyId" = ? AND "documentId" IN '
                '(SELECT "id" FROM "salesOrders" WHERE "companyId" = ? AND "fullyShipped" = 1)', (cid, cid))

    def invoices(self) -> dict[tuple[str, str], float]:
        """Posted invoices; returns the open amount per customer (its balance)."""
        totals = self.documents("salesInvoices", "SalesInvoiceHeadersV2", "SalesInvoiceLines", "InvoiceNumber",
                                "InvoicedQuantity")
        balances: dict[tuple[str, str], float] = defaultdict(float)
        terms = {(t["dataAreaId"], t["Name"]): t.get("NumberOfDays") or 0 for t in self.erp_rows("PaymentTerms")}

        def rows() -> Iterator[dict[str, Any]]:
            for inv in self.erp_rows("SalesInvoiceHeadersV2"):
                company, number = inv["dataAreaId"], inv["InvoiceNumber"]
                customer = inv.get("InvoiceCustomerAccountNumber")
                day = (inv.get("InvoiceDate") or "")[:10]
                row = self.header("salesInvoices", company, number, None, totals.get((company, number)), day + "T18:00:00.000Z")
                cust_id = self.id("customers", company, customer) if customer else EMPTY_GUID
                paid = self.rng.random() < 0.6
                total = row["totalAmountIncludingTax"]
                row.update({"customerId": cust_id, "customerNumber": customer or "", "billToCustomerId": cust_id,
                            "billToCustomerNumber": customer or "", "invoiceDate": day, "postingDate": day,
                            "dueDate": logic.due_date(day, f"{terms.get((company, inv.get('PaymentTermsName')), 30)}D"),
                            "orderNumber": inv.get("SalesOrderNumber") or "",
                            "orderId": self.id("salesOrders", company, inv["SalesOrderNumber"])
                            if inv.get("SalesOrderNumber") else EMPTY_GUID,
                            "customerPurchaseOrderReference": inv.get("CustomersOrderReference") or "",
                            "currencyCode": inv.get("CurrencyCode") or row["currencyCode"],
                            "status": "Paid" if paid else "Open", "remainingAmount": 0.0 if paid else total})
                row["currencyId"] = self.currency(company, row["currencyCode"])[0]
                if not paid and customer:
                    balances[(company, customer)] = float(money(balances[(company, customer)]) + money(total))
                yield row

        self.write("salesInvoices", rows())
        return balances

    def fill_invoice_customers(self) -> None:
        """Invoices were written before the customers they name: copy the customer's name over now."""
        self.bc._conn().execute(
            'UPDATE "salesInvoices" SET "customerName" = c."displayName", "billToName" = c."displayName", '
            '"shipToName" = c."displayName", "sellToCity" = c."city", "billToCity" = c."city" FROM "customers" c '
            'WHERE c."companyId" = "salesInvoices"."companyId" AND c."id" = "salesInvoices"."customerId"')

    # --- BC's own planted records ------------------------------------------------------------------

    def planted_records(self, crm_only_account_id: str | None) -> None:
        crm_only_account = self.crm.get("accounts", crm_only_account_id) if crm_only_account_id else None
        us, cid = "usmf", self.companies["usmf"]
        customers = list(self.bc.iter_rows("customers", f'"{COMPANY}" = ?', (cid,), order_by=[("number", False)],
                                           page_size=50))
        usable = [c for c in customers if c["blocked"] == " "][:4]
        for c, (changes, reason) in zip(usable, (
                ({"salespersonCode": UNMAPPED_SALESPERSON}, "unmapped_salesperson"),
                ({"salespersonCode": UNMAPPED_SALESPERSON}, "unmapped_salesperson"),
                ({"currencyCode": EXTRA_CURRENCY[0], "currencyId": self.id("currencies", us, EXTRA_CURRENCY[0])},
                 "unmapped_currency"),
                ({"blocked": "All"}, "blocked"))):
            self.bc.update("customers", logic.key(c), changes)
            self.plant("customers", c, us, reason)
        if crm_only_account is not None:
            for n in (1, 2):  # the CRM account's name and post code, twice, under BC-only numbers
                number = f"C-{n:05d}"
                row = {COMPANY: cid, "id": self.id("customers", us, number), "number": number,
                       "displayName": crm_only_account["name"], "type": "Company",
                       "postalCode": crm_only_account["address1_postalcode"] or "",
                       "city": crm_only_account["address1_city"] or "", "country": "US",
                       "salespersonCode": self.salespeople[us][0], "taxLiable": True, "blocked": " ",
                       "currencyId": EMPTY_GUID, "currencyCode": "USD", "balanceDue": 0.0, "creditLimit": 0.0,
                       MODIFIED: self.when()}
                self.write("customers", [row])
                self.plant("customers", row, us, "ambiguous_match")


def _flushing(rows: Iterator[dict[str, Any]], flush) -> Iterator[dict[str, Any]]:
    """``rows``, calling ``flush`` every 5,000 (side rows collected while generating go out in step)."""
    for i, row in enumerate(rows, start=1):
        yield row
        if i % 5_000 == 0:
            flush()


def reset(data_dir: Path, seed: int, base_time, crm_only_account_id: str | None) -> dict[str, Any]:
    """Write ``bc.sqlite`` from the F&O (and CRM) stores just written; returns the manifest's ``bc`` section.

    ``crm_only_account_id``: a CRM-only account whose name and post code two BC customers copy."""
    from sandbox.server import bc_store, crm_store, erp_store

    data_dir = Path(data_dir)
    for suffix in ("", "-wal", "-shm"):
        (data_dir / ("bc.sqlite" + suffix)).unlink(missing_ok=True)
    erp, crm, bc = erp_store(data_dir), crm_store(data_dir), bc_store(data_dir)
    try:
        gen = _Gen(erp, crm, bc, seed, base_time)
        gen.reference()
        gen.items()
        balances = gen.invoices()
        gen.customers(balances)
        gen.fill_invoice_customers()
        gen.persons()
        gen.quotes()
        gen.orders()
        gen.planted_records(crm_only_account_id)
        bc.set_meta("demo", {"seed": seed})
        bc._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        for s in (erp, crm, bc):
            s.close()
    return {"companies": {COMPANY_NAMES[c]: {"id": i, "legal_entity": c, "business_unit": BUSINESS_UNITS[c]}
                          for c, i in gen.companies.items()},
            "counts": dict(sorted(gen.counts.items())), "planted": gen.planted}


# --- BC's share of a simulated day (``p2c sandbox activity``) -------------------------------------


class _Day:
    """A day's edits through the BC API (``api``: :class:`sandbox.activity.Api` on ``…/api/v2.0/``),
    with the ERP's own process (a customer pays an invoice) beside the server on the store."""

    def __init__(self, api: Any, db: Store, seed: int, day: Any):
        self.api, self.db, self.day = api, db, day
        self.rng = random.Random(seed * 104_729 + 3)
        self.company = {r["name"]: r["id"] for r in db.iter_rows("companies")}["CRONUS USA"]
        self.planted = {c["number"] for c in db.iter_rows("customers", f'"{COMPANY}" = ? AND ("salespersonCode" = ? '
                                                          'OR "blocked" != \' \' OR "number" LIKE \'C-%\')',
                                                          (self.company, UNMAPPED_SALESPERSON))}
        self.used: set[str] = set()

    def url(self, rest: str) -> str:
        return f"companies({self.company})/{rest}"

    def log(self, set_name: str, action: str, row: dict[str, Any], fields: dict[str, Any] | None = None) -> None:
        self.day.log("bc", set_name, action, row["id"], row.get("number"), "CRONUS USA", fields)

    def pick(self, set_name: str, where: str, params: tuple, n: int) -> list[dict[str, Any]]:
        rows = [r for r in self.db.fetch(f'SELECT * FROM "{set_name}" WHERE "{COMPANY}" = ? AND {where} '
                                         'ORDER BY "number" LIMIT 400', (self.company, *params))
                if r["number"] not in self.used and r["number"] not in self.planted]
        picked = self.rng.sample(rows, min(n, len(rows)))
        self.used.update(r["number"] for r in picked)
        return picked

    def patch(self, set_name: str, row: dict[str, Any], changes: dict[str, Any], action: str = "update") -> None:
        """A PATCH with the ETag just read, as a careful client sends it."""
        current = self.api.http.get(self.url(f"{set_name}({row['id']})"))
        self.api._check(current, f"GET {set_name}")
        r = self.api.http.patch(self.url(f"{set_name}({row['id']})"), json=changes,
                                headers={"If-Match": current.json()["@odata.etag"]})
        self.api._check(r, f"PATCH {set_name}")
        self.log(set_name, action, row, changes)

    def run(self) -> None:
        rng = self.rng
        for c in self.pick("customers", '"blocked" = \' \'', (), 3):
            self.patch("customers", c, {"phoneNumber": f"+1 425 555 {rng.randint(1000, 9999)}"})
        for c in self.pick("customers", '"blocked" = \' \'', (), 1):
            self.patch("customers", c, {"creditLimit": float(c["creditLimit"] or 0) + 5000.0})
        new = self.api.create(self.url("customers"), {"displayName": f"Nordwind {rng.randint(100, 999)} Handel",
                                                      "city": "Seattle", "country": "US", "postalCode": "98101"})
        self.log("customers", "create", new)
        items = [i for i in self.db.fetch('SELECT * FROM "items" WHERE "companyId" = ? AND "blocked" = 0 AND '
                                          '"type" = \'Inventory\' AND "baseUnitOfMeasureCode" != \'PALLET\' '
                                          'ORDER BY "number" LIMIT 400', (self.company,))]
        for c in self.pick("customers", '"blocked" = \' \' AND "currencyCode" = \'USD\'', (), 3):
            lines = [{"lineObjectNumber": i["number"], "quantity": float(rng.choice((1, 2, 5)))}
                     for i in rng.sample(items, min(len(items), rng.randint(1, 3)))]
            order = self.api.create(self.url("salesOrders"), {"customerId": c["id"], "salesOrderLines": lines})
            self.log("salesOrders", "create", order, {"lines": len(lines)})
        for o in self.pick("salesOrders", '"status" = \'Draft\' AND EXISTS (SELECT 1 FROM "salesOrderLines" l '
                           'WHERE l."documentId" = "salesOrders"."id")', (), 1):
            line = self.db.fetch('SELECT * FROM "salesOrderLines" WHERE "documentId" = ? ORDER BY "sequence" LIMIT 1',
                                 (o["id"],))[0]
            r = self.api.http.patch(self.url(f"salesOrderLines({line['id']})"), json={"quantity": line["quantity"] + 1},
                                    headers={"If-Match": "*"})
            self.api._check(r, "PATCH salesOrderLines")
            self.day.log("bc", "salesOrderLines", "update", line["id"], f"{o['number']}|{line['sequence']}",
                         "CRONUS USA", {"quantity": line["quantity"] + 1})
        # orders posted: invoices, inventory down, balances up
        for o in self.pick("salesOrders", '"status" = \'Open\' AND "fullyShipped" = 0 AND "customerId" IN (SELECT '
                           '"id" FROM "customers" WHERE "blocked" = \' \') AND EXISTS (SELECT 1 FROM "salesOrderLines" l WHERE l."documentId" = '
                           '"salesOrders"."id")', (), 3):
            self.api._check(self.api.http.post(self.url(f"salesOrders({o['id']})/Microsoft.NAV.shipAndInvoice")),
                            "shipAndInvoice")
            self.log("salesOrders", "post", o)
            invoice = self.db.fetch('SELECT "id", "number" FROM "salesInvoices" WHERE "orderId" = ? ORDER BY "number" '
                                    'DESC LIMIT 1', (o["id"],))[0]
            self.log("salesInvoices", "create", invoice, {"orderNumber": o["number"]})
        for i in rng.sample(items, min(2, len(items))):
            self.patch("items", i, {"unitPrice": round(float(i["unitPrice"] or 0) * rng.choice((1.05, 0.95)), 2)})
        # a customer pays an open invoice (BC's payment posting, beside the server)
        for inv in self.pick("salesInvoices", '"status" = \'Open\'', (), 1):
            with self.db.transaction():
                logic.update(self.db, "salesInvoices", inv, {"status": "Paid", "remainingAmount": 0.0})
                cust = self.db.get("customers", {COMPANY: self.company, "id": inv["customerId"]})
                if cust is not None:
                    logic.update(self.db, "customers", cust, {"balanceDue": float(
                        money(cust["balanceDue"]) - money(inv["remainingAmount"]))})
            self.log("salesInvoices", "pay", inv, {"status": "Paid"})
        # deletions: a draft order and a person contact
        for o in self.pick("salesOrders", '"status" = \'Draft\'', (), 1):
            self._delete("salesOrders", o)
        for c in self.pick("contacts", '"type" = \'Person\'', (), 1):
            self._delete("contacts", c)

    def _delete(self, set_name: str, row: dict[str, Any]) -> None:
        current = self.api.http.get(self.url(f"{set_name}({row['id']})"))
        r = self.api.http.delete(self.url(f"{set_name}({row['id']})"), headers={"If-Match": current.json()["@odata.etag"]})
        self.api._check(r, f"DELETE {set_name}")
        self.log(set_name, "delete", row)


def play_day(api: Any, data_dir: Path, seed: int, day: Any) -> None:
    """BC's share of ``p2c sandbox activity`` against the running BC server, logged into ``day``
    (:class:`sandbox.activity.Day`) as system ``bc``: customers edited (with the ETag read), a new
    customer, new orders with lines (deep insert), a line changed, orders posted (invoices,
    inventory), prices changed, an invoice paid, a draft order and a contact deleted."""
    from sandbox.server import bc_store

    db = bc_store(data_dir)
    try:
        _Day(api, db, seed, day).run()
    finally:
        db.close()
