"""The tenant check against the sandbox: a tenant without a custom column, an alternate key and
change tracking on one table stops `p2c run` (exit 2, nothing written) and `p2c doctor` names each
gap with its fix; a complete tenant passes, and `p2c init` connects to it non-interactively."""

from __future__ import annotations

import csv
import os
import stat
import subprocess
import tomllib
from pathlib import Path

import duckdb
import pytest
import p2c_process

ROOT = Path(__file__).resolve().parents[2]


def p2c(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "P2C_"))}
    return p2c_process.run(list(args), {**clean, **env}, cwd, timeout=600)


@pytest.fixture(scope="module")
def lacking(sandbox_factory):
    sb = sandbox_factory(scale="small", without_columns="accounts.p2c_customergroupid",
                         without_keys="salesorders", untracked="uoms")
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def complete(sandbox_factory):
    sb = sandbox_factory(scale="small")
    yield sb
    sb.stop()


def test_a_generic_clients_discovery_request_gets_the_attributes(lacking):
    with lacking.client("crm") as crm:
        r = crm.get("EntityDefinitions", params={
            "$select": "LogicalName", "$expand": "Attributes($select=LogicalName,AttributeType)"})
    assert r.status_code == 200
    tables = {d["LogicalName"]: {a["LogicalName"]: a["AttributeType"] for a in d["Attributes"]} for d in r.json()["value"]}
    assert tables["quote"]["customerid"] == "Customer" and tables["account"]["accountnumber"] == "String"
    assert set(r.json()["value"][0]) == {"MetadataId", "LogicalName", "Attributes"}
    assert set(next(iter(r.json()["value"]))["Attributes"][0]) == {"MetadataId", "LogicalName", "AttributeType"}
    assert "p2c_customergroupid" not in tables["account"]  # this tenant lacks it
    assert "p2c_onholdstatus" in tables["account"]


def test_doctor_and_run_stop_with_exit_2_naming_each_gap(lacking, tmp_path):
    env = {**lacking.env(), "P2C_WAREHOUSE": str(tmp_path / "w" / "p2c.duckdb")}
    doctor = p2c("doctor", env=env, cwd=ROOT)
    assert doctor.returncode == 2, doctor.stdout + doctor.stderr
    out = " ".join(doctor.stdout.split())
    assert "CRM accounts: column p2c_customergroupid is missing — add the custom column p2c_customergroupid to the account table" in out
    assert "CRM salesorders: alternate key (ordernumber) is missing — define it on the salesorder table" in out
    assert "CRM uoms: change tracking is off — enable Track changes on the uom table" in out
    assert out.count("is missing") + out.count("is off") == 3  # nothing else is reported

    run = p2c("run", env=env, cwd=ROOT)
    assert run.returncode == 2, run.stdout + run.stderr
    shown = " ".join((run.stdout + run.stderr).split())
    assert "column p2c_customergroupid is missing" in shown and "alternate key (ordernumber)" in shown
    with duckdb.connect(str(tmp_path / "w" / "p2c.duckdb"), read_only=True) as con:  # the run is booked, no more
        schemas = {r[0] for r in con.execute("select schema_name from information_schema.schemata").fetchall()}
    assert not schemas & {"crm_raw", "erp_raw", "writeback"}  # stopped before extracting anything


def test_a_complete_tenant_passes_and_init_connects_without_prompts(complete, tmp_path):
    env = {**complete.env(), "P2C_WAREHOUSE": str(tmp_path / "w" / "p2c.duckdb")}
    doctor = p2c("doctor", env=env, cwd=ROOT)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr

    project = tmp_path / "project"
    init = p2c(
        "init", "--no-input", "--dir", str(project),
        "--crm-url", complete.crm_url, "--erp-url", complete.erp_url, "--tenant", complete.tenant,
        "--client-id", complete.client_id,
        "--crm-token-url", complete.crm_token_url, "--erp-token-url", complete.erp_token_url,
        "--crm-scope", f"{complete.crm_origin}/.default", "--erp-scope", f"{complete.erp_origin}/.default",
        env={"P2C_CLIENT_SECRET": complete.client_secret}, cwd=tmp_path,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    assert complete.client_secret not in init.stdout + init.stderr  # never echoed
    config = tomllib.loads((project / ".dlt" / "config.toml").read_text())
    assert config["sources"]["crm"]["base_url"] == complete.crm_url
    assert config["sources"]["erp"]["credentials"]["client_id"] == complete.client_id
    assert complete.client_secret not in (project / ".dlt" / "config.toml").read_text()
    secrets_file = project / ".dlt" / "secrets.toml"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert tomllib.loads(secrets_file.read_text())["sources"]["crm"]["credentials"]["client_secret"] == complete.client_secret
    with (project / "seeds" / "company_map.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["company"], r["business_unit_name"], r["accounting_currency"]) for r in rows} >= {
        ("usmf", "Contoso US", "USD"), ("demf", "Contoso Europe", "EUR")}
    assert "every column, alternate key and change-tracking setting" in " ".join(init.stderr.split())


def test_init_drafts_the_company_map_from_business_centrals_companies(complete, tmp_path):
    """With Business Central as the ERP, `p2c init` reads its companies (and each one's local
    currency) instead of F&O's legal entities: the draft names each by BC's name (bc_company)."""
    project = tmp_path / "project"
    bc_token_url = f"{complete.bc_origin}/{complete.tenant}/oauth2/v2.0/token"
    init = p2c(
        "init", "--no-input", "--dir", str(project), "--erp", "business_central",
        "--crm-url", complete.crm_url, "--erp-url", complete.bc_url, "--tenant", complete.tenant,
        "--client-id", complete.client_id,
        "--crm-token-url", complete.crm_token_url, "--erp-token-url", bc_token_url,
        "--crm-scope", f"{complete.crm_origin}/.default", "--erp-scope", f"{complete.bc_origin}/.default",
        env={"P2C_CLIENT_SECRET": complete.client_secret}, cwd=tmp_path,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    # every later command in the project plays Business Central, with no variable to remember
    assert tomllib.loads((project / ".dlt" / "config.toml").read_text())["p2c"] == {"erp": "business_central"}
    assert "2 ERP organisations" in " ".join(init.stderr.split())
    with (project / "seeds" / "company_map.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["bc_company"], r["company"], r["business_unit_name"], r["accounting_currency"]) for r in rows} == {
        ("CRONUS USA", "cronus_usa", "Contoso US", "USD"), ("CRONUS Europe", "cronus_europe", "Contoso Europe", "EUR")}


def test_init_with_an_unknown_erp_stops_naming_the_option_and_writes_nothing(tmp_path):
    project = tmp_path / "project"
    init = p2c("init", "--no-input", "--dir", str(project), "--erp", "sap",
               "--crm-url", "https://x.crm.dynamics.com/api/data/v9.2/", "--erp-url", "https://x/data/",
               "--tenant", "t", "--client-id", "c", env={"P2C_CLIENT_SECRET": "s"}, cwd=tmp_path)
    assert init.returncode == 2, init.stdout + init.stderr
    shown = " ".join((init.stdout + init.stderr).split())
    assert "--erp 'sap'" in shown and "finops" in shown and "business_central" in shown
    assert not project.exists()
