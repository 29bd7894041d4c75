"""`p2c sandbox up` prints the lines to paste so a plain `p2c run` reaches it."""

from __future__ import annotations

import os
import subprocess
import sys

from sandbox.server import Options
from tests.conftest import free_port


def test_on_the_default_ports_only_the_secrets_need_exporting():
    assert Options().export_lines() == [
        "export SOURCES__CRM__CREDENTIALS__CLIENT_SECRET=p2c-sandbox-secret",
        "export SOURCES__ERP__CREDENTIALS__CLIENT_SECRET=p2c-sandbox-secret",
    ]


def test_with_business_central_as_the_erp_the_erp_role_points_at_it():
    lines = Options(erp="business_central", bc_port=9103).export_lines()
    assert "export P2C__ERP=business_central" in lines
    assert "export SOURCES__ERP__BASE_URL=http://127.0.0.1:9103/api/v2.0/" in lines
    assert "export SOURCES__ERP__CREDENTIALS__TOKEN_URL=http://127.0.0.1:9103/p2c-sandbox/oauth2/v2.0/token" in lines
    assert not any(":8702" in line for line in lines)


def test_other_ports_export_the_addresses_too():
    lines = Options(crm_port=9101, erp_port=9102, client_secret="s3 cret").export_lines()
    assert "export SOURCES__CRM__BASE_URL=http://127.0.0.1:9101/api/data/v9.2/" in lines
    assert "export SOURCES__ERP__CREDENTIALS__TOKEN_URL=http://127.0.0.1:9102/p2c-sandbox/oauth2/v2.0/token" in lines
    assert "export SOURCES__ERP__CREDENTIALS__CLIENT_SECRET='s3 cret'" in lines  # quoted for the shell
    assert not any("CLIENT_ID" in line for line in lines)  # unchanged: .dlt/config.toml has it


def test_pasting_the_printed_lines_lets_p2c_connect(tmp_path):
    crm, erp = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    sandbox = [sys.executable, "-m", "p2c.cli", "sandbox"]
    up = subprocess.run([*sandbox, "up", "--dir", str(tmp_path), "--crm-port", str(crm), "--erp-port", str(erp),
                         "--bc-port", str(free_port())],
                        env=env, capture_output=True, text=True, timeout=120)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        pasted = "\n".join(line for line in up.stdout.splitlines() if line.startswith("export "))
        assert "CLIENT_SECRET=p2c-sandbox-secret" in pasted and f":{crm}/" in pasted
        # what a user does next: paste, then p2c (here its connection check: a token from each system)
        check = "from p2c import preflight; preflight.connections(); print('connected')"
        done = subprocess.run(["bash", "-c", f'{pasted}\nexec "{sys.executable}" -c "{check}"'], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.stdout.strip() == "connected", done.stdout + done.stderr
    finally:
        subprocess.run([*sandbox, "down", "--dir", str(tmp_path)], env=env, capture_output=True, timeout=60)
