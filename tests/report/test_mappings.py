"""``p2c mappings`` reads the field map from the dbt project itself: the seeds, the writeback models'
calls and the compiled SQL. Changing a seed changes what it shows (no second copy to drift)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from p2c import mappings
from p2c.cli import app
from p2c_core.settings import PROJECT_DIR
from transform.inputs import dbt_paths

runner = CliRunner()


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict[str, str]:
    # a real `dbt compile` of the project into a temp directory (never the shared warehouse)
    return mappings.compiled_models(PROJECT_DIR, tmp_path_factory.mktemp("wh") / "p2c.duckdb")


def _by_target(rows, direction):
    return {r.target_field: r for r in rows if r.direction == direction}


def test_customer_fields_trace_to_the_crm_columns_and_seeds(compiled):
    rows = mappings.field_mappings(PROJECT_DIR, compiled, "customer")
    to_erp = _by_target(rows, "crm → erp")
    assert to_erp["OrganizationName"].source_field == "name"
    assert to_erp["OrganizationName"].source_set == "accounts" and to_erp["OrganizationName"].target_set == "CustomersV3"
    country = to_erp["AddressCountryRegionISOCode"]
    assert country.source_field == "address1_country" and "country_map" in country.value_map
    assert to_erp["PaymentTerms"].source_field == "paymenttermscode"
    assert "payment_terms_map" in to_erp["PaymentTerms"].value_map
    assert to_erp["OrganizationName"].model == "writeback.erp__customers_v3"
    # the ERP owns the credit limit: it travels the other way
    assert "CreditLimit" not in to_erp
    assert _by_target(rows, "erp → crm")["creditlimit"].owner == "erp"


def test_a_new_customer_gets_the_constants_and_template_defaults_of_the_model(compiled):
    rows = mappings.field_mappings(PROJECT_DIR, compiled, "customer")
    creates = {r.target_field: r for r in rows if r.when == "create"}
    assert creates["IsExternallyMaintained"].source_field == "constant 'Yes'"
    template = mappings.read_seed(PROJECT_DIR, "customer_template")
    for row in template:
        assert f"{row['company']}: {row['warehouse_id']}" in creates["WarehouseId"].transformation
    deactivate = [r for r in rows if r.when.startswith("deactivate")]
    assert deactivate and all(r.model == "writeback.erp__customers_v3" for r in deactivate)


def test_changing_a_seed_changes_the_map(compiled, tmp_path):
    project = tmp_path / "project"
    dbt_dirs = [*dbt_paths("model"), *dbt_paths("macro"), *dbt_paths("seed")]  # models/, macros/, seeds/, systems/<system>/...
    for path in dbt_dirs:
        shutil.copytree(path, project / path.relative_to(PROJECT_DIR))
    shutil.copy(PROJECT_DIR / "dbt_project.yml", project / "dbt_project.yml")
    before = mappings.field_mappings(project, compiled, "customer")
    assert "PrimaryContactPhone" in _by_target(before, "crm → erp")
    ownership = project / "seeds" / "field_ownership.csv"
    ownership.write_text(ownership.read_text().replace("customer,phone,crm", "customer,phone,erp"))
    after = mappings.field_mappings(project, compiled, "customer")
    assert "PrimaryContactPhone" not in _by_target(after, "crm → erp")
    assert _by_target(after, "erp → crm")["telephone1"].owner == "erp"


def test_mappings_command_exports_csv_and_json(compiled, tmp_path, monkeypatch):
    monkeypatch.setattr(mappings, "compiled_models", lambda *a, **k: compiled)
    monkeypatch.setenv("COLUMNS", "200")
    out = tmp_path / "map.csv"
    result = runner.invoke(app, ["mappings", "product", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    assert "ReleasedProductsV2 → products" in result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert rows and {r["entity"] for r in rows} == {"product"} and tuple(rows[0]) == mappings.COLUMNS
    data = json.loads(runner.invoke(app, ["mappings", "--json"]).stdout)
    assert {"customer", "order", "invoice_line"} <= {r["entity"] for r in data}
    assert runner.invoke(app, ["mappings", "no_such_entity"]).exit_code == 1


def test_an_unknown_entity_lists_the_entities_that_exist(monkeypatch):
    def not_needed(*a, **k):
        raise AssertionError("an unknown entity is answered before anything is compiled")

    monkeypatch.setattr(mappings, "compiled_models", not_needed)
    result = runner.invoke(app, ["mappings", "nosuch"], terminal_width=200)
    assert result.exit_code == 1
    assert "no entity 'nosuch'" in result.output
    listed = [line.split()[0] for line in result.output.splitlines()[1:] if line.strip()]
    assert listed == [e["entity"] for e in mappings.entities(PROJECT_DIR)]
    assert {"customer", "order_line", "invoice"} <= set(listed)
    assert "CRM accounts, ERP CustomersV3" in result.output
