"""``p2c init``'s files: the TOML it writes reads back as written (whatever a secret holds), an
existing configuration is merged, not lost, the secrets file is mode 600, and the company map
draft pairs legal entities with business units without overwriting a map a person made."""

from __future__ import annotations

import csv
import stat
import tomllib

import pytest

from p2c.setup import draft_company_map, dump_toml, write_company_map, write_settings
from systems import Organisation

AWKWARD = ['plain', '', 'quote " and back\\slash', "new\nline\ttab\r", "\x00\x1f\x7f", "é ✓ 𝄞",
           "'single' \"\"\" triple", "# not a comment", "= [not] {a table}", "trailing\\"]


@pytest.mark.parametrize("text", AWKWARD)
def test_dumped_toml_reads_back_as_written(text):
    data = {"top": text, "n": -3, "flag": True, "sources": {"crm": {"credentials": {"client_secret": text}},
                                                             text or "k": {"dotted.key": text, "list": [text, 1]}}}
    assert tomllib.loads(dump_toml(data, "a header\nover two lines")) == data


def test_settings_merge_into_existing_files_and_secrets_stay_private(tmp_path):
    dlt = tmp_path / ".dlt"
    dlt.mkdir()
    (dlt / "config.toml").write_text('[runtime]\nlog_level = "WARNING"\n\n[sources.crm.credentials]\n'
                                     'token_url = "http://127.0.0.1:1/t"\nscope = "s"\nclient_id = "old"\n')
    (dlt / "secrets.toml").write_text('[sources.erp.credentials]\nclient_secret = "kept"\n')
    (dlt / "secrets.toml").chmod(0o644)
    secret = 'se"cr\\et\nwith = a [table]'
    write_settings(dlt, {"sources": {"crm": {"base_url": "https://x.crm.dynamics.com/api/data/v9.2/",
                                             "credentials": {"client_id": "new"}}}},
                   {"sources": {"crm": {"credentials": {"client_secret": secret}}}},
                   unset={"sources.crm.credentials.token_url", "sources.crm.credentials.scope"})
    config = tomllib.loads((dlt / "config.toml").read_text())
    assert config["runtime"] == {"log_level": "WARNING"}  # untouched settings kept
    assert config["sources"]["crm"]["credentials"] == {"client_id": "new"}  # the sandbox's token URL and scope dropped
    assert config["sources"]["crm"]["base_url"].startswith("https://x.crm")
    secrets = tomllib.loads((dlt / "secrets.toml").read_text())
    assert secrets["sources"]["crm"]["credentials"]["client_secret"] == secret
    assert secrets["sources"]["erp"]["credentials"]["client_secret"] == "kept"
    assert stat.S_IMODE((dlt / "secrets.toml").stat().st_mode) == 0o600  # even a file that was 644
    assert "client_secret" not in (dlt / "config.toml").read_text()


LEGAL_ENTITIES = [
    Organisation("usmf", "usmf", "Contoso Entertainment System USA", "USD"),
    Organisation("demf", "demf", "Contoso Entertainment System Germany", "EUR"),
    Organisation("gbsi", "gbsi", "Contoso Retail UK", "GBP"),
]
UNITS = [
    {"name": "Contoso", "_parentbusinessunitid_value": None},
    {"name": "Contoso Germany", "_parentbusinessunitid_value": "root"},
    {"name": "Contoso US", "_parentbusinessunitid_value": "root"},
]


def test_company_map_draft_pairs_by_name_and_never_overwrites(tmp_path):
    rows = draft_company_map(LEGAL_ENTITIES, UNITS)
    pairs = {r["company"]: (r["business_unit_name"], r["accounting_currency"]) for r in rows}
    # named pairings first; the entity left over gets the root unit (no child unit left): a draft to check
    assert pairs == {"usmf": ("Contoso US", "USD"), "demf": ("Contoso Germany", "EUR"), "gbsi": ("Contoso", "GBP")}
    assert sorted(r["company_rank"] for r in rows) == ["1", "2", "3"]

    first = write_company_map(tmp_path, rows)
    assert first.name == "company_map.csv"
    first.write_text("business_unit_name,company,accounting_currency,company_rank\nMine,usmf,USD,1\n")
    second = write_company_map(tmp_path, rows)
    assert second.name == "company_map.draft.csv"
    assert "Mine" in first.read_text()  # the person's map is untouched
    with second.open() as fh:
        assert len(list(csv.DictReader(fh))) == 3


def test_a_business_central_draft_names_each_company_as_bc_spells_it(tmp_path):
    companies = [Organisation("CRONUS USA", "cronus_usa", "Contoso Entertainment System USA", "USD"),
                 Organisation("CRONUS Europe", "cronus_europe", "Contoso Entertainment System Germany", "EUR")]
    path = write_company_map(tmp_path, draft_company_map(companies, UNITS, map_column="bc_company"))
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["business_unit_name", "company", "accounting_currency", "company_rank", "bc_company"]
    assert {(r["bc_company"], r["company"], r["business_unit_name"], r["accounting_currency"]) for r in rows} == {
        ("CRONUS USA", "cronus_usa", "Contoso US", "USD"), ("CRONUS Europe", "cronus_europe", "Contoso Germany", "EUR")}
