"""Deterministic demo data for the emulated systems, at three scales, with planted dirty records.

``reset(data_dir, scale, seed)`` wipes ``<dir>/crm.sqlite``, ``<dir>/erp.sqlite`` and ``<dir>/bc.sqlite``
(Business Central: the F&O business in BC's shape, :mod:`sandbox.business_central_data`) and writes a
tenant pair the way years of prospect-to-cash would leave it: reference data both sides know
(the value maps of ``docs/architecture.md``), accounts/customers, contacts/contact persons,
released products and price lists, quotes, orders and invoices with lines — some in one system
only, some in both (equal, or differing in a field), the ERP copies priced by
:mod:`sandbox.erp_logic` and the CRM copies by the Dataverse rules. A fixed set of awkward
records (missing and duplicated keys, unknown currency/unit/country, the unmapped root business
unit, write-in products, orphan lines, Unicode, names at the column maximum, inactive records) is
planted on top and listed in ``<dir>/manifest.json``.

Everything comes from one ``random.Random(seed)`` and fixed timestamps, so the same seed gives
identical rows. Accounts are generated in chunks (with everything that hangs off them) and
written with ``Store.bulk_insert``, so memory stays bounded at any scale.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sandbox import business_central_data, erp_logic
from sandbox.dataverse_rules import DEFAULT_OWNER_META, computed, header_totals
from sandbox.schema import CRM, ERP, Entity
from sandbox.server import crm_store, erp_store
from sandbox.store import Store

# accounts per scale; everything else is proportional (≈ 11.5 rows in all per account)
SCALES: dict[str, int] = {"tiny": 40, "small": 145, "medium": 7_300, "large": 73_000}
CHUNK_ACCOUNTS = 2_000
MANIFEST = "manifest.json"
CASE_SAMPLE = 25  # manifest entries kept per (entity set, case); the counts cover every record

BASE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)  # "now" of the demo history
ROOT_BU = "Contoso"
INTEGRATION_USER = "# p2c integration"  # application users' names start with "#"


@dataclass(frozen=True)
class Company:
    code: str
    business_unit: str
    currency: str
    price_list: str
    language: str
    warehouse: str
    countries: tuple[tuple[str, str], ...]  # (CRM country name, ISO code)
    cities: tuple[str, ...]


COMPANIES: dict[str, Company] = {
    "usmf": Company("usmf", "Contoso US", "USD", "Standard USD", "en-us", "13",
                    (("United States", "US"),) * 6 + (("Canada", "CA"),),
                    ("Seattle", "Redmond", "Chicago", "Austin", "Boston", "Denver", "Toronto", "Atlanta")),
    "demf": Company("demf", "Contoso Europe", "EUR", "Standard EUR", "de", "11",
                    (("Germany", "DE"),) * 3 + (("France", "FR"), ("United Kingdom", "GB"), ("Netherlands", "NL"),
                                                ("Spain", "ES"), ("Italy", "IT")),
                    ("München", "Köln", "Paris", "Lyon", "London", "Amsterdam", "Madrid", "Milano")),
}
CURRENCIES = (  # (CRM name, ISO code, symbol, rate to USD); Bitcoin is the planted unknown
    ("US Dollar", "USD", "$", 1.0), ("Euro", "EUR", "€", 0.92), ("Pound Sterling", "GBP", "£", 0.79),
    ("Canadian Dollar", "CAD", "CA$", 1.36), ("Bitcoin", "XBT", "₿", 0.000011),
)
UNITS = (("Each", "ea", 1.0), ("Box", "box", 12.0), ("Hour", "h", 1.0), ("Kilogram", "kg", 1.0), ("Dozen", "dz", 12.0))
PAYMENT_TERMS = {1: ("Net30", "Net 30 days", 30), 2: ("Net10-2%", "2% 10, Net 30", 30), 3: ("Net45", "Net 45 days", 45),
                 4: ("Net60", "Net 60 days", 60)}
PROCESSING_TO_CRM = {"Active": "Active", "Confirmed": "Confirmed", "Picked": "Picked", "Delivered": "Shipped",
                     "Invoiced": "Invoiced", "Canceled": "Cancelled"}

_WORDS = ("Alpine", "Bright", "Cobalt", "Delta", "Evergreen", "Falcon", "Granite", "Harbor", "Iron", "Juniper",
          "Keystone", "Lumen", "Maple", "Nimbus", "Orion", "Pioneer", "Quartz", "River", "Summit", "Tidal")
_KINDS = ("Traders", "Systems", "Supplies", "Logistics", "Foods", "Motors", "Labs", "Retail", "Energy", "Media")
_SUFFIX = {"usmf": ("Inc.", "LLC", "Corp."), "demf": ("GmbH", "AG", "SARL", "Ltd", "B.V.", "S.L.")}
_FIRST = ("Anna", "Ben", "Chloé", "David", "Elif", "Farid", "Greta", "Hiro", "Inés", "Jonas", "Kai", "Lena", "Mateo",
          "Nora", "Omar", "Paula", "Quinn", "Rosa", "Sven", "Tara")
_LAST = ("Adams", "Becker", "Costa", "Dubois", "Evans", "Fischer", "García", "Hughes", "Ivanova", "Jansen", "Klein",
         "Lambert", "Müller", "Nowak", "Olsen", "Petit", "Rossi", "Schmidt", "Tanaka", "Weber")
_TITLES = ("Purchasing Manager", "CFO", "Buyer", "Operations Lead", "Office Manager", "Owner")
_PRODUCTS = ("Speaker", "Amplifier", "Cable", "Headphones", "Projector", "Microphone", "Mixer", "Receiver",
             "Subwoofer", "Turntable", "Installation", "Support Plan")
_MODELS = ("Mini", "Pro", "Max", "Studio", "Home", "Go", "Plus", "Elite")
_UNIT_WEIGHTS = (("ea", 70), ("box", 10), ("h", 8), ("kg", 6), ("dz", 6))
_ERP_STATUSES = (("Active", 15), ("Confirmed", 20), ("Picked", 10), ("Delivered", 20), ("Invoiced", 35))


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Sink:
    """Rows waiting to be bulk-inserted, per (system, entity set); flushed once per chunk."""

    def __init__(self, stores: dict[str, Store]):
        self.stores = stores
        self.rows: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self.counts: dict[str, Counter] = {"crm": Counter(), "erp": Counter()}

    def add(self, system: str, set_name: str, row: dict[str, Any]) -> dict[str, Any]:
        self.rows[(system, set_name)].append(row)
        return row

    def flush(self) -> None:
        # parents before children only matters for readers; the store has no foreign keys
        for (system, set_name), rows in self.rows.items():
            if rows:
                self.counts[system][set_name] += self.stores[system].bulk_insert(set_name, rows)
        self.rows.clear()


@dataclass
class _Manifest:
    planted: list[dict[str, Any]] = field(default_factory=list)
    case_counts: Counter = field(default_factory=Counter)
    _sampled: Counter = field(default_factory=Counter)

    def dirty(self, system: str, entity_set: str, id_or_key: Any, natural_key: str | None, company: str | None,
              reason: str, **extra: Any) -> None:
        self.planted.append({"system": system, "entity_set": entity_set, "id_or_key": id_or_key,
                             "natural_key": natural_key, "company": company, "reason": reason} | extra)

    def case(self, system: str, entity_set: str, id_or_key: Any, natural_key: str | None, company: str | None,
             case: str, always: bool = False, **extra: Any) -> None:
        self.case_counts[f"{entity_set}:{case}"] += 1
        if always or self._sampled[(entity_set, case)] < CASE_SAMPLE:
            self._sampled[(entity_set, case)] += 1
            self.planted.append({"system": system, "entity_set": entity_set, "id_or_key": id_or_key,
                                 "natural_key": natural_key, "company": company, "case": case} | extra)


def _pick(rng: random.Random, weighted: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


class _Generator:
    def __init__(self, seed: int, accounts: int, sink: _Sink):
        self.rng = random.Random(seed)
        self.n_accounts = accounts
        self.sink = sink
        self.manifest = _Manifest()
        self.seq: Counter = Counter()
        self.ids: dict[str, str] = {}
        self.products: dict[str, list[dict[str, Any]]] = {}  # company -> sellable products for lines
        self.anchors: dict[str, list[dict[str, Any]]] = {"usmf": [], "demf": []}  # clean coupled accounts
        self.party = 0

    # --- small helpers --------------------------------------------------------------------------

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def number(self, prefix: str, width: int = 5) -> str:
        self.seq[prefix] += 1
        return f"{prefix}-{self.seq[prefix]:0{width}d}"

    def when(self, max_days: int = 900) -> tuple[str, str]:
        created = BASE_TIME - timedelta(days=self.rng.randint(1, max_days), seconds=self.rng.randint(0, 86_399))
        modified = created + timedelta(days=self.rng.randint(0, int((BASE_TIME - created).days)))
        return _ts(created), _ts(min(modified, BASE_TIME))

    def crm(self, set_name: str, row: dict[str, Any]) -> dict[str, Any]:
        if "createdon" in CRM[set_name].names and "createdon" not in row:
            row["createdon"], row["modifiedon"] = self.when()
        return self.sink.add("crm", set_name, row)

    def erp(self, set_name: str, row: dict[str, Any]) -> dict[str, Any]:
        return self.sink.add("erp", set_name, row)

    def owner(self, company: str | None) -> dict[str, str]:
        bu = COMPANIES[company].business_unit if company else ROOT_BU
        users = self.ids[f"users:{bu}"].split(",")
        return {"_ownerid_value": self.rng.choice(users), "_owningbusinessunit_value": self.ids[f"bu:{bu}"]}

    # --- reference data ---------------------------------------------------------------------------

    def reference(self) -> None:
        root = self.guid()
        self.ids[f"bu:{ROOT_BU}"] = root
        self.crm("businessunits", {"businessunitid": root, "name": ROOT_BU, "_parentbusinessunitid_value": None})
        for c in COMPANIES.values():
            self.ids[f"bu:{c.business_unit}"] = bu = self.guid()
            self.crm("businessunits", {"businessunitid": bu, "name": c.business_unit, "_parentbusinessunitid_value": root})
        people = {ROOT_BU: (("System", "Administrator"),),
                  "Contoso US": (("Alex", "Carter"), ("Maria", "Lopez"), ("Sam", "Porter")),
                  "Contoso Europe": (("Jana", "Vogel"), ("Luc", "Moreau"), ("Emma", "Clarke"))}
        for bu, names in people.items():
            ids = []
            for first, last in names:
                uid = self.guid()
                ids.append(uid)
                self.crm("systemusers", {"systemuserid": uid, "fullname": f"{first} {last}", "firstname": first,
                                         "lastname": last, "internalemailaddress": f"{first}.{last}@contoso.com".lower(),
                                         "isdisabled": False, "_businessunitid_value": self.ids[f"bu:{bu}"]})
            self.ids[f"users:{bu}"] = ",".join(ids)
        # the integration's application user (client credentials), in the root business unit; it owns
        # what the integration creates without an owner. Its id is derived, not drawn, so adding it
        # left the rest of the demo data as it was.
        self.ids["user:integration"] = app_user = str(uuid.uuid5(uuid.NAMESPACE_URL, "p2c-sandbox/app-user"))
        self.crm("systemusers", {"systemuserid": app_user, "fullname": INTEGRATION_USER, "firstname": "#",
                                 "lastname": INTEGRATION_USER[2:], "internalemailaddress": "p2c-integration@contoso.com",
                                 "isdisabled": False, "_businessunitid_value": root})
        for name, iso, symbol, rate in CURRENCIES:
            self.ids[f"cur:{iso}"] = cid = self.guid()
            self.crm("transactioncurrencies", {"transactioncurrencyid": cid, "currencyname": name,
                                               "isocurrencycode": iso, "currencysymbol": symbol, "exchangerate": rate,
                                               "currencyprecision": 2, "statecode": 0, "statuscode": 1})
            if iso != "XBT":
                self.erp("Currencies", {"CurrencyCode": iso, "Name": name, "Symbol": symbol})
        self.ids["schedule"] = sched = self.guid()
        self.crm("uomschedules", {"uomscheduleid": sched, "name": "Default Unit", "baseuomname": "Each",
                                  "statecode": 0, "statuscode": 1})
        each = None
        for name, symbol, qty in UNITS:
            self.ids[f"uom:{symbol}"] = uid = self.guid()
            each = each or uid
            self.crm("uoms", {"uomid": uid, "name": name, "_uomscheduleid_value": sched, "_baseuom_value": each,
                              "quantity": qty, "isschedulebaseuom": uid == each})
            self.erp("UnitsOfMeasure", {"UnitSymbol": symbol, "UnitDescription": name, "UnitClass": "Quantity",
                                        "DecimalPrecision": 2, "IsBaseUnit": "Yes" if uid == each else "No"})
        self.erp("UnitsOfMeasure", {"UnitSymbol": "pallet", "UnitDescription": "Pallet", "UnitClass": "Quantity",
                                    "DecimalPrecision": 0, "IsBaseUnit": "No"})
        for c in COMPANIES.values():
            self.ids[f"pl:{c.code}"] = pl = self.guid()
            self.crm("pricelevels", {"pricelevelid": pl, "name": c.price_list, "begindate": "2024-01-01",
                                     "enddate": None, "_transactioncurrencyid_value": self.ids[f"cur:{c.currency}"],
                                     "statecode": 0, "statuscode": 100001})
            name = "Contoso Entertainment System USA" if c.code == "usmf" else "Contoso Entertainment System Germany"
            self.erp("LegalEntities", {"LegalEntityId": c.code, "Name": name, "AccountingCurrency": c.currency})
            for terms in PAYMENT_TERMS.values():
                self.erp("PaymentTerms", {"dataAreaId": c.code, "Name": terms[0], "Description": terms[1],
                                          "NumberOfDays": terms[2]})
            for gid, desc in (("10", "Domestic customers"), ("20", "Foreign customers"), ("30", "Wholesale")):
                self.erp("CustomerGroups", {"dataAreaId": c.code, "CustomerGroupId": gid, "Description": desc,
                                            "PaymentTermId": "Net30"})

    # --- products and prices ---------------------------------------------------------------------

    def product_catalogue(self, count: int) -> None:
        self.products = {"usmf": [], "demf": []}
        for _ in range(count):
            self.product(self.number("P", 4))

    def product(self, number: str, *, name: str | None = None, case: str | None = None,
                unit: str | None = None, releases: tuple[str, ...] | None = None, prohibited: bool = False,
                manifest_case: str | None = None) -> None:
        rng = self.rng
        name = name or f"{rng.choice(_PRODUCTS)} {rng.choice(_MODELS)} {rng.randint(10, 990)}"
        unit = unit or _pick(rng, _UNIT_WEIGHTS)
        usd = round(rng.uniform(5, 1500), 2)
        cost = round(usd * rng.uniform(0.4, 0.7), 2)
        if releases is None:
            releases = tuple(c for c, p in (("usmf", 0.85), ("demf", 0.65)) if rng.random() < p) or ("usmf",)
        prices = {c: usd if c == "usmf" else round(usd * 0.92, 2) for c in releases}
        case = case or _pick(rng, (("both_equal", 60), ("both_differ", 15), ("erp_only", 25)))
        for c in releases:
            self.erp("ReleasedProductsV2", {
                "dataAreaId": c, "ItemNumber": number, "ProductNumber": number, "ProductName": name,
                "SearchName": name.upper()[:20], "ProductType": "Service" if unit == "h" else "Item",
                "ProductGroupId": "Audio", "InventoryUnitSymbol": unit, "SalesUnitSymbol": unit,
                "SalesPrice": prices[c], "UnitCost": cost, "SalesSalesTaxItemGroupCode": "FULL",
                "IsSalesProhibited": "Yes" if prohibited else "No"})
        first = releases[0]
        if case == "erp_only" or unit == "pallet":
            key = {"dataAreaId": first, "ItemNumber": number}
            self.manifest.case("erp", "ReleasedProductsV2", key, number, first, manifest_case or "erp_only",
                               always=manifest_case is not None)
            return
        pid = self.guid()
        differ: list[str] = []
        crm_name, crm_prices = name, dict(prices)
        if case == "both_differ":
            if rng.random() < 0.5:
                crm_name, differ = f"{name} (old)", ["name"]
            else:
                crm_prices[first] = round(prices[first] * 0.9, 2)
                differ = ["amount"]
        self.crm("products", {
            "productid": pid, "productnumber": number, "name": crm_name, "description": None,
            "price": crm_prices[first], "standardcost": cost, "currentcost": cost,
            "_defaultuomid_value": self.ids[f"uom:{unit}"], "_defaultuomscheduleid_value": self.ids["schedule"],
            "_pricelevelid_value": self.ids[f"pl:{first}"],
            "_transactioncurrencyid_value": self.ids[f"cur:{COMPANIES[first].currency}"],
            "producttypecode": 1, "productstructure": 1, "quantitydecimal": 2, "p2c_isexternallymaintained": True,
            "statecode": 0, "statuscode": 1})
        for c in releases:
            self.crm("productpricelevels", {
                "productpricelevelid": self.guid(), "_pricelevelid_value": self.ids[f"pl:{c}"], "_productid_value": pid,
                "_uomid_value": self.ids[f"uom:{unit}"], "_uomscheduleid_value": self.ids["schedule"],
                "_transactioncurrencyid_value": self.ids[f"cur:{COMPANIES[c].currency}"], "amount": crm_prices[c],
                "pricingmethodcode": 1, "quantitysellingcode": 1, "productnumber": number})
            if not prohibited:
                # lines are priced at the ERP price (the CRM price list may lag on a both_differ product)
                self.products[c].append({"number": number, "id": pid, "unit": unit, "price": prices[c], "name": name})
        self.manifest.case("crm", "products", pid, number, None, manifest_case or case,
                           always=manifest_case is not None, counterpart={"dataAreaId": first, "ItemNumber": number}, **({"fields": differ} if differ else {}))

    # --- accounts and everything that hangs off them -----------------------------------------------

    def company_name(self, company: str) -> str:
        r = self.rng
        return f"{r.choice(_WORDS)} {r.choice(_KINDS)} {r.choice(_SUFFIX[company])}"

    def account(self, company: str, case: str, *, name: str | None = None, children: bool = True,
                crm_overrides: dict[str, Any] | None = None, manifest_case: str | None = None,
                number: str | None = "new") -> dict[str, Any]:
        """One account (CRM), customer (ERP) or both, with its contacts, quotes, orders, invoices."""
        rng = self.rng
        c = COMPANIES[company]
        number = self.number("ACC") if number == "new" else number
        name = name or self.company_name(company)
        country, iso = rng.choice(c.countries)
        terms = rng.randint(1, 4)
        slug = "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum())[:20] or "customer"
        acct = {
            "number": number, "company": company, "name": name, "email": f"info@{slug}.example.com",
            "phone": f"+{rng.randint(1, 49)} {rng.randint(100, 999)} {rng.randint(1000000, 9999999)}",
            "website": f"https://www.{slug}.example.com", "street": f"{rng.randint(1, 999)} {rng.choice(_WORDS)} Street",
            "city": rng.choice(c.cities), "zip": f"{rng.randint(10000, 99999)}", "country": country, "iso": iso,
            "terms": terms, "credit": float(rng.choice((5000, 10000, 25000, 50000, 100000))),
            "group": rng.choice(("10", "10", "20")), "id": None, "party": None,
        }
        differ: list[str] = []
        if case in ("crm_only", "both_equal", "both_differ"):
            acct["id"] = aid = self.guid()
            self.crm("accounts", {
                "accountid": aid, **self.owner(company), "accountnumber": number, "name": name,
                "emailaddress1": acct["email"], "telephone1": acct["phone"], "websiteurl": acct["website"],
                "address1_line1": acct["street"], "address1_city": acct["city"], "address1_postalcode": acct["zip"],
                "address1_country": country, "creditlimit": acct["credit"], "paymenttermscode": terms,
                "customertypecode": 3, "_transactioncurrencyid_value": self.ids[f"cur:{c.currency}"],
                "_primarycontactid_value": None,
                "p2c_customergroupid": acct["group"] if case != "crm_only" else None,
                "p2c_onholdstatus": "No" if case != "crm_only" else None,
                "statecode": 0, "statuscode": 1, **(crm_overrides or {})})
        if case in ("erp_only", "both_equal", "both_differ"):
            self.party += 1
            acct["party"] = f"{self.party:09d}"
            erp_vals = {"OrganizationName": name, "PrimaryContactPhone": acct["phone"], "AddressCity": acct["city"],
                        "CreditLimit": acct["credit"]}
            if case == "both_differ":
                field_name, col, value = rng.choice((
                    ("phone", "PrimaryContactPhone", f"+1 555 {rng.randint(1000000, 9999999)}"),
                    ("city", "AddressCity", rng.choice([x for x in c.cities if x != acct["city"]])),
                    ("credit_limit", "CreditLimit", acct["credit"] + 2500.0),
                    ("name", "OrganizationName", f"{name} (ERP)"),
                ))
                erp_vals[col] = value
                differ = [field_name]
            self.erp("CustomersV3", {
                "dataAreaId": company, "CustomerAccount": number, "PartyType": "Organization",
                "PartyNumber": acct["party"], "CustomerGroupId": acct["group"], "SalesCurrencyCode": c.currency,
                "PaymentTerms": PAYMENT_TERMS[terms][0], "OnHoldStatus": "No", "LanguageId": c.language,
                "SiteId": "1", "WarehouseId": c.warehouse,
                "IsExternallyMaintained": "No" if case == "erp_only" else "Yes", "AddressStreet": acct["street"],
                "AddressZipCode": acct["zip"], "AddressCountryRegionISOCode": iso, "PrimaryContactEmail": acct["email"],
                "PrimaryContactURL": acct["website"], **erp_vals})
        key = {"dataAreaId": company, "CustomerAccount": number}
        mcase = manifest_case or case
        if case == "erp_only":
            self.manifest.case("erp", "CustomersV3", key, number, company, mcase, always=manifest_case is not None)
        else:
            extra = {"counterpart": key} if case != "crm_only" else {}
            self.manifest.case("crm", "accounts", acct["id"], number, company, mcase,
                               always=manifest_case is not None, **extra, **({"fields": differ} if differ else {}))
        if case in ("both_equal",) and children and len(self.anchors[company]) < 8:
            self.anchors[company].append(acct)
        if children:
            self.contacts(acct, case)
            self.quotes(acct, case)
            self.orders(acct, case)
        return acct

    def contact(self, acct: dict[str, Any], case: str, *, first: str | None = None, last: str | None = None,
                number: str | None = "new", crm_state: int = 0, erp_inactive: bool = False,
                owner_company: str | None = "same", manifest_case: str | None = None) -> dict[str, Any] | None:
        rng = self.rng
        company = acct["company"]
        number = self.number("CON") if number == "new" else number
        first, last = first or rng.choice(_FIRST), last or rng.choice(_LAST)
        email = f"{first[0]}.{last}@example.com".lower()
        phone = f"+{rng.randint(1, 49)} {rng.randint(100, 999)} {rng.randint(1000000, 9999999)}"
        title = rng.choice(_TITLES)
        cid = None
        if case != "erp_only":
            cid = self.guid()
            owner = self.owner(company if owner_company == "same" else owner_company)
            self.crm("contacts", {
                "contactid": cid, **owner, "p2c_contactnumber": number, "firstname": first, "lastname": last,
                "fullname": f"{first} {last}", "emailaddress1": email, "telephone1": phone, "jobtitle": title,
                "_parentcustomerid_value": acct["id"],
                "_transactioncurrencyid_value": self.ids[f"cur:{COMPANIES[company].currency}"],
                "statecode": crm_state, "statuscode": 1 if crm_state == 0 else 2})
        differ: list[str] = []
        if case != "crm_only":
            self.party += 1
            erp_title = title
            if case == "both_differ":
                erp_title, differ = "Head of " + title, ["job_title"]
            self.erp("ContactPersons", {
                "dataAreaId": company, "ContactPersonId": number, "ContactPersonPartyNumber": f"{self.party:09d}",
                "AssociatedPartyNumber": acct["party"], "ContactPersonName": f"{first} {last}", "FirstName": first,
                "LastName": last, "PrimaryEmailAddress": email, "PrimaryPhoneNumber": phone,
                "EmploymentJobTitle": erp_title,
                "IsContactPersonExternallyMaintained": "No" if case == "erp_only" else "Yes",
                "IsInactive": "Yes" if erp_inactive else "No", "LastEditDateTime": self.when()[1]})
        key = {"dataAreaId": company, "ContactPersonId": number}
        mcase = manifest_case or case
        always = manifest_case is not None
        if case == "erp_only":
            self.manifest.case("erp", "ContactPersons", key, number, company, mcase, always=always)
        else:
            extra = {"counterpart": key} if case != "crm_only" else {}
            self.manifest.case("crm", "contacts", cid, number, company, mcase, always=always, **extra,
                               **({"fields": differ} if differ else {}))
        return {"id": cid, "number": number}

    def contacts(self, acct: dict[str, Any], case: str) -> None:
        for _ in range(self.rng.choice((0, 1, 1, 2, 2, 3))):
            if case in ("both_equal", "both_differ"):
                ccase = _pick(self.rng, (("both_equal", 60), ("both_differ", 10), ("crm_only", 30)))
            else:
                ccase = case
            self.contact(acct, ccase)

    def _line_items(self, company: str, count: int) -> list[dict[str, Any]]:
        rng = self.rng
        items = []
        for _ in range(count):
            p = rng.choice(self.products[company])
            qty = float(rng.choice((1, 1, 2, 3, 5, 10, 12, 25)))
            discount = round(qty * p["price"] * rng.choice((0, 0, 0, 0.05, 0.1)), 2)
            items.append({"product": p, "qty": qty, "discount": discount})
        return items

    def _crm_lines(self, set_name: str, parent_col: str, parent_id: str, company: str,
                   items: list[dict[str, Any]], taxes: list[float] | None) -> list[dict[str, Any]]:
        e = CRM[set_name]
        rows = []
        for i, it in enumerate(items, start=1):
            p = it["product"]
            row = {e.key[0]: self.guid(), parent_col: parent_id, "_productid_value": p["id"],
                   "_uomid_value": self.ids[f"uom:{p['unit']}"],
                   "_transactioncurrencyid_value": self.ids[f"cur:{COMPANIES[company].currency}"],
                   "productdescription": None, "isproductoverridden": False, "ispriceoverridden": True,
                   "quantity": it["qty"], "priceperunit": p["price"], "manualdiscountamount": it["discount"],
                   "tax": taxes[i - 1] if taxes is not None else None, "lineitemnumber": i, "sequencenumber": i}
            computed(e, {}, row)
            rows.append(row)
        return rows

    def _erp_lines(self, company: str, number_col: str, number: str, items: list[dict[str, Any]],
                   qty_col: str, order: bool) -> list[dict[str, Any]]:
        rows = []
        for i, it in enumerate(items, start=1):
            p = it["product"]
            row = {"dataAreaId": company, number_col: number, "LineCreationSequenceNumber": i,
                   "ProductNumber": p["number"], "LineDescription": p["name"], qty_col: it["qty"],
                   "SalesUnitSymbol": p["unit"], "SalesPrice": p["price"], "LineDiscountAmount": it["discount"],
                   "CurrencyCode": COMPANIES[company].currency}
            if order:
                row.update(erp_logic.price_line(company, it["qty"], p["price"], it["discount"]))
            else:
                row["LineAmount"] = float(erp_logic.line_amount(it["qty"], p["price"], it["discount"]))
            rows.append(row)
        return rows

    def quotes(self, acct: dict[str, Any], case: str) -> None:
        rng = self.rng
        company = acct["company"]
        c = COMPANIES[company]
        if not self.products[company] or rng.random() > 0.3:
            return
        number = self.number("QUO")
        items = self._line_items(company, rng.randint(1, 4))
        in_erp = case == "erp_only" or (case != "crm_only" and rng.random() < 0.5)
        in_crm = case != "erp_only"
        created, _ = self.when(400)
        erp_lines = self._erp_lines(company, "SalesQuotationNumber", number, items, "RequestedSalesQuantity", False)
        totals = erp_logic.quotation_totals(company, erp_lines)
        if in_erp:
            self.erp("CDSSalesQuotationHeaders", {
                "dataAreaId": company, "SalesQuotationNumber": number, "SalesQuotationName": f"Quote {number}",
                "RequestingCustomerAccountNumber": acct["number"], "InvoiceCustomerAccountNumber": acct["number"],
                "CurrencyCode": c.currency, "SalesQuotationStatus": rng.choice(("Sent", "Confirmed", "Created")),
                "SalesQuotationExpiryDate": created[:10] + "T00:00:00Z", "GeneratedSalesOrderNumber": None,
                "PaymentTermsName": PAYMENT_TERMS[acct["terms"]][0], **totals})
            for row in erp_lines:
                self.erp("CDSSalesQuotationLines", row)
        qid = None
        if in_crm:
            qid = self.guid()
            line_tax = [float(erp_logic.line_tax(company, r["LineAmount"])) for r in erp_lines] if in_erp else None
            lines = self._crm_lines("quotedetails", "_quoteid_value", qid, company, items, line_tax)
            header = {"quoteid": qid, **self.owner(company), "quotenumber": number, "name": f"Quote {number}",
                      "_customerid_value": acct["id"], "_pricelevelid_value": self.ids[f"pl:{company}"],
                      "_transactioncurrencyid_value": self.ids[f"cur:{c.currency}"], "effectivefrom": created[:10],
                      "effectiveto": None, "p2c_quotationstatus": None,
                      "p2c_hasexternallymaintainedproductsonly": True, "freightamount": 0.0, "discountamount": 0.0,
                      "statecode": 1 if in_erp else 0, "statuscode": 2 if in_erp else 1,
                      "createdon": created, "modifiedon": created}
            header.update(header_totals(lines, header))
            self.crm("quotes", header)
            for row in lines:
                self.crm("quotedetails", row)
        qcase = "both_equal" if in_crm and in_erp else ("crm_only" if in_crm else "erp_only")
        key = {"dataAreaId": company, "SalesQuotationNumber": number}
        if in_crm:
            self.manifest.case("crm", "quotes", qid, number, company, qcase, **({"counterpart": key} if in_erp else {}))
        else:
            self.manifest.case("erp", "CDSSalesQuotationHeaders", key, number, company, qcase)

    def orders(self, acct: dict[str, Any], case: str) -> None:
        rng = self.rng
        company = acct["company"]
        if not self.products[company]:
            return
        for _ in range(rng.choice((0, 0, 1, 1, 1, 2, 3))):
            if case == "crm_only":
                ocase = "crm_only"
            elif case == "erp_only":
                ocase = "erp_only"
            else:
                ocase = _pick(rng, (("both_equal", 50), ("both_differ", 10), ("crm_only", 25), ("erp_only", 15)))
            self.order(acct, ocase, self._line_items(company, rng.randint(1, 5)))

    def order(self, acct: dict[str, Any], ocase: str, items: list[dict[str, Any]], *, number: str | None = "new",
              write_in: str | None = None, manifest_case: str | None = None,
              status: str | None = None) -> dict[str, Any]:
        rng = self.rng
        company = acct["company"]
        c = COMPANIES[company]
        number = self.number("SO") if number == "new" else number
        created, _ = self.when(300)
        in_erp = ocase in ("both_equal", "both_differ", "erp_only")
        in_crm = ocase != "erp_only"
        status = status or (_pick(rng, _ERP_STATUSES) if in_erp else "Active")
        erp_lines = self._erp_lines(company, "SalesOrderNumber", number, items, "OrderedSalesQuantity", True)
        totals = erp_logic.order_totals(company, erp_lines)
        header = {
            "dataAreaId": company, "SalesOrderNumber": number, "SalesOrderName": f"Order {number}",
            "OrderingCustomerAccountNumber": acct["number"], "InvoiceCustomerAccountNumber": acct["number"],
            "CurrencyCode": c.currency, **erp_logic.statuses(status),
            "PaymentTermsName": PAYMENT_TERMS[acct["terms"]][0], "RequestedShippingDate": _ts(BASE_TIME + timedelta(days=rng.randint(1, 30))),
            "QuotationNumber": None, "CustomersOrderReference": f"PO-{rng.randint(10000, 99999)}",
            "LanguageId": c.language, "OrderingCustomerIsExternallyMaintained": "Yes" if in_crm else "No",
            "InvoiceCustomerIsExternallyMaintained": "Yes" if in_crm else "No", "IsSalesProcessingStopped": "No",
            "OrderCreationDateTime": created, **totals}
        invoice, invoice_in_crm = None, False
        if in_erp:
            self.erp("CDSSalesOrderHeaders", header)
            for row in erp_lines:
                row["SalesOrderLineStatus"] = erp_logic.SALES_STATUS[status]
                self.erp("CDSSalesOrderLines", row)
            if status == "Invoiced":
                inv_date = created[:10] + "T00:00:00Z"
                invoice, inv_lines = erp_logic.invoice_rows(
                    header, erp_lines, self.number("INV"), self.number("CIV", 6), inv_date,
                    {it["product"]["number"]: it["product"]["name"] for it in items})
                self.erp("SalesInvoiceHeadersV2", invoice)
                for row in inv_lines:
                    self.erp("SalesInvoiceLines", row)
        oid = None
        differ: list[str] = []
        if in_crm:
            oid = self.guid()
            taxes = [r["TotalTaxAmount"] for r in erp_lines] if in_erp else None
            lines = self._crm_lines("salesorderdetails", "_salesorderid_value", oid, company, items, taxes)
            crm_status = PROCESSING_TO_CRM[status] if in_erp else None
            if ocase == "both_differ":
                # the CRM copy still shows the status of the last sync; the ERP has moved on
                previous = erp_logic.PROGRESSION[max(0, erp_logic.PROGRESSION.index(status) - 1)]
                crm_status = PROCESSING_TO_CRM[previous] if previous != status else None
                differ = ["processing_status"]
            for ln, erp_ln in zip(lines, erp_lines):
                ln["quantityshipped"] = ln["quantity"] if status in ("Delivered", "Invoiced") else 0.0
                ln["p2c_linestatus"] = erp_ln["SalesOrderLineStatus"] if in_erp else None
            hdr = {"salesorderid": oid, **self.owner(company), "ordernumber": number, "name": f"Order {number}",
                   "_customerid_value": acct["id"], "_pricelevelid_value": self.ids[f"pl:{company}"],
                   "_transactioncurrencyid_value": self.ids[f"cur:{c.currency}"], "_quoteid_value": None,
                   "requestdeliveryby": header["RequestedShippingDate"][:10], "datefulfilled": None,
                   "submitdate": created[:10], "paymenttermscode": acct["terms"], "p2c_processingstatus": crm_status,
                   "p2c_isexternallymaintained": in_erp, "statecode": 0, "statuscode": 1,
                   "createdon": created, "modifiedon": created}
            if write_in:
                wline = {"salesorderdetailid": self.guid(), "_salesorderid_value": oid, "_productid_value": None,
                         "_uomid_value": self.ids["uom:ea"], "_transactioncurrencyid_value": self.ids[f"cur:{c.currency}"],
                         "productdescription": write_in, "isproductoverridden": True, "ispriceoverridden": True,
                         "quantity": 1.0, "priceperunit": 150.0, "manualdiscountamount": 0.0, "tax": None,
                         "lineitemnumber": len(lines) + 1, "sequencenumber": len(lines) + 1,
                         "quantityshipped": 0.0, "p2c_linestatus": None}
                computed(CRM["salesorderdetails"], {}, wline)
                lines.append(wline)
            if in_erp:
                hdr.update({"freightamount": totals["OrderTotalChargesAmount"], "discountamount": totals["TotalDiscountAmount"],
                            "totaltax": totals["OrderTotalTaxAmount"], "totalamount": totals["OrderTotalAmount"],
                            "totallineitemamount": round(sum(ln["baseamount"] - ln["manualdiscountamount"] for ln in lines), 4)})
            else:
                hdr.update({"freightamount": 0.0, "discountamount": 0.0})
                hdr.update(header_totals(lines, hdr))
            self.crm("salesorders", hdr)
            for row in lines:
                self.crm("salesorderdetails", row)
            if invoice is not None and rng.random() < 0.7:
                self.crm_invoice(acct, oid, invoice, lines)
                invoice_in_crm = True
        key = {"dataAreaId": company, "SalesOrderNumber": number}
        mcase = manifest_case or ocase
        always = manifest_case is not None
        if in_crm:
            self.manifest.case("crm", "salesorders", oid, number, company, mcase, always=always,
                               **({"counterpart": key} if in_erp else {}), **({"fields": differ} if differ else {}))
        else:
            self.manifest.case("erp", "CDSSalesOrderHeaders", key, number, company, mcase, always=always)
        if invoice is not None:
            ikey = {k: invoice[k] for k in ERP["SalesInvoiceHeadersV2"].key}
            self.manifest.case("erp", "SalesInvoiceHeadersV2", ikey, invoice["InvoiceNumber"], company,
                               "both_equal" if invoice_in_crm else "erp_only")
        return {"id": oid, "number": number, "lines": lines if in_crm else []}

    def crm_invoice(self, acct: dict[str, Any], order_id: str, inv: dict[str, Any], order_lines: list[dict]) -> None:
        iid = self.guid()
        company = acct["company"]
        lines = []
        for ol in order_lines:
            ln = {k: ol[k] for k in ("_productid_value", "_uomid_value", "_transactioncurrencyid_value",
                                     "productdescription", "isproductoverridden", "ispriceoverridden", "quantity",
                                     "priceperunit", "manualdiscountamount", "tax", "lineitemnumber", "sequencenumber")}
            ln.update({"invoicedetailid": self.guid(), "_invoiceid_value": iid})
            computed(CRM["invoicedetails"], {}, ln)
            lines.append(ln)
        date = inv["InvoiceDate"][:10]
        self.crm("invoices", {
            "invoiceid": iid, **self.owner(company), "invoicenumber": inv["InvoiceNumber"],
            "name": f"Invoice {inv['InvoiceNumber']}", "_customerid_value": acct["id"], "_salesorderid_value": order_id,
            "_pricelevelid_value": self.ids[f"pl:{company}"],
            "_transactioncurrencyid_value": self.ids[f"cur:{COMPANIES[company].currency}"],
            "duedate": date, "p2c_invoicedate": date, "p2c_isexternallymaintained": True,
            "totalamount": inv["TotalInvoiceAmount"], "totaltax": inv["TotalTaxAmount"],
            "freightamount": inv["TotalChargeAmount"], "discountamount": inv["TotalDiscountAmount"],
            "totallineitemamount": round(sum(ln["baseamount"] - ln["manualdiscountamount"] for ln in lines), 4),
            "statecode": 0, "statuscode": 4, "createdon": inv["InvoiceDate"], "modifiedon": inv["InvoiceDate"]})
        for ln in lines:
            self.crm("invoicedetails", ln)

    # --- the planted awkward records -------------------------------------------------------------------

    def planted(self) -> None:
        m, rng = self.manifest, self.rng
        us = self.anchors["usmf"] or self.anchors["demf"]

        def bare(company: str, reason: str, *, number: str | None = "new", **over: Any) -> dict[str, Any]:
            acct = self.account(company, "crm_only", children=False, crm_overrides=over, number=number,
                                manifest_case="crm_only")
            m.planted.pop()  # listed as dirty instead of as a clean case
            m.case_counts["accounts:crm_only"] -= 1
            m.dirty("crm", "accounts", acct["id"], acct["number"], company if reason != "unmapped_company" else None,
                    reason)
            return acct

        for _ in range(2):
            bare("usmf", "missing_key", number=None)
        for company in ("usmf", "demf"):
            dup = self.number("ACC")
            bare(company, "duplicate_key", number=dup)
            bare(company, "duplicate_key", number=dup)
        for _ in range(2):
            bare("usmf", "unmapped_currency", _transactioncurrencyid_value=self.ids["cur:XBT"])
        for _ in range(2):
            bare("demf", "unmapped_country", address1_country="Atlantis")
        bare("usmf", "unmapped_payment_terms", paymenttermscode=7)
        for _ in range(2):
            bare("usmf", "unmapped_company", **self.owner(None))

        anchor = us[0]
        company = anchor["company"]
        for _ in range(2):
            ct = self.contact(anchor, "crm_only", number=None, manifest_case="crm_only")
            m.planted.pop()
            m.case_counts["contacts:crm_only"] -= 1
            m.dirty("crm", "contacts", ct["id"], None, company, "missing_key")
        dup = self.number("CON")
        for _ in range(2):
            ct = self.contact(anchor, "crm_only", number=dup, manifest_case="crm_only")
            m.planted.pop()
            m.case_counts["contacts:crm_only"] -= 1
            m.dirty("crm", "contacts", ct["id"], dup, company, "duplicate_key")

        # products: a missing and a duplicated product number (CRM), an ERP unit no map knows
        for number in (None, "dup", "dup"):
            pid = self.guid()
            if number is None:
                pnum = None
            else:
                if "dup_product" not in self.ids:
                    self.ids["dup_product"] = self.number("P", 4)
                pnum = self.ids["dup_product"]
            self.crm("products", {
                "productid": pid, "productnumber": pnum, "name": f"Legacy item {rng.randint(100, 999)}",
                "price": 10.0, "standardcost": 5.0, "currentcost": 5.0, "_defaultuomid_value": self.ids["uom:ea"],
                "_defaultuomscheduleid_value": self.ids["schedule"], "_pricelevelid_value": self.ids["pl:usmf"],
                "_transactioncurrencyid_value": self.ids["cur:USD"], "producttypecode": 1, "productstructure": 1,
                "quantitydecimal": 2, "p2c_isexternallymaintained": False, "statecode": 0, "statuscode": 1})
            m.dirty("crm", "products", pid, pnum, None, "missing_key" if pnum is None else "duplicate_key")
        for _ in range(2):
            pnum = self.number("P", 4)
            self.product(pnum, unit="pallet", releases=("usmf",), case="erp_only", manifest_case="erp_only")
            m.planted.pop()
            m.case_counts["ReleasedProductsV2:erp_only"] -= 1
            m.dirty("erp", "ReleasedProductsV2", {"dataAreaId": "usmf", "ItemNumber": pnum}, pnum, "usmf", "unmapped_unit")

        # orders: missing and duplicated order numbers (no lines), write-in lines, orphan lines
        def crm_only_order(number: str | None, reason: str) -> None:
            o = self.order(anchor, "crm_only", [], number=number, manifest_case="crm_only")
            m.planted.pop()
            m.case_counts["salesorders:crm_only"] -= 1
            m.dirty("crm", "salesorders", o["id"], number, company, reason)

        crm_only_order(None, "missing_key")
        dup = self.number("SO")
        crm_only_order(dup, "duplicate_key")
        crm_only_order(dup, "duplicate_key")
        for text in ("On-site installation", "Custom engraving"):
            o = self.order(anchor, "crm_only", self._line_items(company, 1), write_in=text, manifest_case="crm_only")
            m.dirty("crm", "salesorderdetails", o["lines"][-1]["salesorderdetailid"], f"{o['number']}|2", company,
                    "write_in_product", order=o["number"])
        for set_name, parent_col in (("salesorderdetails", "_salesorderid_value"), ("salesorderdetails", "_salesorderid_value"),
                                     ("quotedetails", "_quoteid_value")):
            row = self._crm_lines(set_name, parent_col, self.guid(), company, self._line_items(company, 1), None)[0]
            self.crm(set_name, row)
            m.dirty("crm", set_name, row[CRM[set_name].key[0]], None, company, "parent_missing")
        missing = self.number("SO")  # a number no header carries
        row = self._erp_lines(company, "SalesOrderNumber", missing, self._line_items(company, 1), "OrderedSalesQuantity", True)[0]
        row["SalesOrderLineStatus"] = "Backorder"
        self.erp("CDSSalesOrderLines", row)
        m.dirty("erp", "CDSSalesOrderLines", {k: row[k] for k in ERP["CDSSalesOrderLines"].key}, f"{missing}|1",
                company, "parent_missing")

        # awkward but clean: Unicode, names at the column maximum, inactive records
        for name in ("Société Générale d'Électricité S.A.", "北京数据科技有限公司", "Café Olé 🚀☕ Ventures"):
            self.account("demf" if not name.startswith("北") else "usmf", "both_equal", name=name, children=False,
                         manifest_case="unicode")
        self.contact(anchor, "both_equal", first="José", last="Müller-Łukasiewicz 山田", manifest_case="unicode")
        long_name = ("Long Name Holdings " * 10)[: CRM["accounts"].col("name").max_length - 1] + "X"
        self.account("usmf", "both_equal", name=long_name, children=False, manifest_case="long_name")
        pnum = self.number("P", 4)
        self.product(pnum, name=("Extended Warranty " * 8)[: CRM["products"].col("name").max_length - 1] + "Z",
                     unit="ea", releases=("usmf",), case="both_equal", manifest_case="long_name")
        for _ in range(2):
            self.account("usmf", "crm_only", children=False, crm_overrides={"statecode": 1, "statuscode": 2},
                         manifest_case="inactive")
            self.contact(anchor, "crm_only", crm_state=1, manifest_case="inactive")
        self.contact(anchor, "both_equal", erp_inactive=True, manifest_case="inactive")
        pnum = self.number("P", 4)
        self.product(pnum, unit="ea", releases=("usmf",), case="erp_only", prohibited=True, manifest_case="inactive")

    # --- the whole tenant ---------------------------------------------------------------------------------

    def run(self) -> None:
        self.reference()
        self.product_catalogue(max(40, int(self.n_accounts * 0.4)))
        self.sink.flush()
        made = 0
        while made < self.n_accounts:
            for _ in range(min(CHUNK_ACCOUNTS, self.n_accounts - made)):
                company = "usmf" if self.rng.random() < 0.6 else "demf"
                case = _pick(self.rng, (("crm_only", 20), ("erp_only", 15), ("both_equal", 45), ("both_differ", 20)))
                self.account(company, case)
                made += 1
            self.sink.flush()
        self.planted()
        self.sink.flush()


def _wipe(data_dir: Path) -> None:
    for name in ("crm.sqlite", "erp.sqlite", "bc.sqlite"):
        for suffix in ("", "-wal", "-shm"):
            (data_dir / (name + suffix)).unlink(missing_ok=True)
    (data_dir / MANIFEST).unlink(missing_ok=True)
    (data_dir / "activity.json").unlink(missing_ok=True)


def reset(data_dir: Path, scale: str, seed: int) -> dict[str, Any]:
    """Wipe both systems' stores in ``data_dir`` and write the demo tenant; returns the counts.

    Refuses while servers are running on the directory (their open stores would keep stale pages)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    _wipe(data_dir)
    stores = {"crm": crm_store(data_dir), "erp": erp_store(data_dir)}
    try:
        gen = _Generator(seed, SCALES[scale], _Sink(stores))
        gen.run()
        erp = stores["erp"]
        for prefix, set_name, col in (("INV", "SalesInvoiceHeadersV2", "InvoiceNumber"),
                                      ("CIV", "SalesInvoiceHeadersV2", "LedgerVoucher")):
            erp.set_meta(f"numseq:{prefix}", gen.seq[prefix])
        stores["crm"].set_meta(DEFAULT_OWNER_META, gen.ids["user:integration"])
        erp.set_meta(erp_logic.PARTY_SEQUENCE, gen.party)  # parties the service creates continue the demo's numbers
        for store in stores.values():
            store.set_meta("demo", {"scale": scale, "seed": seed, "sequences": dict(sorted(gen.seq.items()))})
    finally:
        for store in stores.values():
            store._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            store.close()
    crm_only = next((p["id_or_key"] for p in gen.manifest.planted if p.get("entity_set") == "accounts"
                     and p.get("case") == "crm_only" and p.get("company") == "usmf"), None)
    bc = business_central_data.reset(data_dir, seed, BASE_TIME, crm_only)  # the same business, on BC
    counts = {system: dict(sorted(c.items())) for system, c in gen.sink.counts.items()}
    manifest = {
        "scale": scale,
        "seed": seed,
        "counts": counts,
        "total": sum(sum(c.values()) for c in counts.values()),
        "case_counts": dict(sorted((k, v) for k, v in gen.manifest.case_counts.items() if v)),
        "planted": gen.manifest.planted,
        "bc": bc,
    }
    (data_dir / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    return {"scale": scale, "seed": seed, "total": manifest["total"], **counts, "bc": bc["counts"],
            "planted": sum(1 for p in gen.manifest.planted if "reason" in p)}


def load_manifest(data_dir: Path) -> dict[str, Any]:
    return json.loads((Path(data_dir) / MANIFEST).read_text())


__all__ = ["SCALES", "COMPANIES", "reset", "load_manifest"]
