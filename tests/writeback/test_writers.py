"""Each system's writer: the request for a planned write, and what a refused create means (pure)."""

from __future__ import annotations

import json

from p2c_core.multipart import PartResponse
from systems.dataverse import writer as dataverse
from systems.finops import writer as finops

from .helpers import row

ERP_KEY = {"dataAreaId": "usmf", "CustomerAccount": "A-1"}


def test_dataverse_writes_are_upserts_guarded_as_the_mode_says():
    create = dataverse.build(row(), {"accountnumber": "A-1"}, "create_only")
    assert (create.method, create.path) == ("PATCH", "accounts(accountnumber='A-1')?$select=accountid")
    assert create.headers["If-None-Match"] == "*" and "accountnumber" not in create.body
    update = dataverse.build(row(op="deactivate", payload={}), {"accountnumber": "A-1"}, "upsert")
    assert update.headers["If-Match"] == "*" and update.body == dataverse.INACTIVE
    assert dataverse.refused_create(create, 412, None) == "skipped"
    assert dataverse.refused_create(update, 412, None) is None


def test_finops_creates_post_the_key_and_an_existing_key_is_exists():
    create = finops.build(row(system="erp", target_set="CustomersV3", target_key=ERP_KEY), "upsert")
    assert (create.method, create.path, create.body["dataAreaId"]) == ("POST", "CustomersV3", "usmf")
    resend = finops.resend_existing(row(system="erp", target_set="CustomersV3", target_key=ERP_KEY))
    assert resend.path == "CustomersV3(dataAreaId='usmf',CustomerAccount='A-1')" and resend.headers["If-Match"] == "*"
    said = PartResponse(400, "Bad Request", {}, json.dumps({"error": {"message": "The record already exists."}}))
    assert finops.refused_create(create, 409, None) == "exists"
    assert finops.refused_create(create, 400, said) == "exists"
    assert finops.refused_create(create, 400, PartResponse(400, "Bad Request", {}, "")) is None
    assert finops.company_of(ERP_KEY) == "usmf" and finops.company_of({"CurrencyCode": "USD"}) is None
