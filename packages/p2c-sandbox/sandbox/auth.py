"""OAuth2 client credentials, shaped like Microsoft Entra ID, for both emulated systems.

Each server answers ``POST /<tenant>/oauth2/v2.0/token`` (form: ``grant_type=client_credentials``,
``client_id``, ``client_secret``, ``scope=<resource>/.default``) with ``{"token_type": "Bearer",
"expires_in", "ext_expires_in", "access_token"}``, and refuses wrong tenants, clients, secrets,
grants and scopes with Entra's error body (``error``, ``error_description`` starting with the
AADSTS code, ``error_codes``, ``timestamp``, ``trace_id``, ``correlation_id``, ``error_uri``).

Tokens are JWT-shaped and HMAC-signed with a key derived from the configured client secret, so
they survive a server restart (as real tokens survive a web-server recycle) and need no shared
state between the two servers. :class:`AuthMiddleware` answers 401 to any API request without a
valid, unexpired bearer token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULT_LIFETIME = 3599


@dataclass(frozen=True)
class Credentials:
    tenant: str = "p2c-sandbox"
    client_id: str = "p2c-sandbox-client"
    client_secret: str = "p2c-sandbox-secret"
    token_lifetime: int = DEFAULT_LIFETIME  # seconds


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


REVOCATION_FILE = "token_generation"


def revoke_tokens(data_dir: Path) -> int:
    """Revoke every access token issued so far by the servers on ``data_dir``; returns the new generation.

    Tokens carry the generation they were issued in (claim ``p2c_gen``); the servers answer 401
    to any older one, as Entra-protected services do after an administrator revokes the app's
    sessions. New token requests get tokens of the new generation."""
    path = Path(data_dir) / REVOCATION_FILE
    gen = token_generation(path) + 1
    tmp = path.with_suffix(".tmp")
    tmp.write_text(str(gen))
    tmp.replace(path)
    return gen


def token_generation(path: Path | None) -> int:
    if path is None:
        return 0
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


class TokenIssuer:
    """Issues and checks access tokens for one server (audience = the server's origin).

    ``revocation``: the data directory's generation file (:func:`revoke_tokens`); None: never revoked."""

    def __init__(self, creds: Credentials, clock=time.time, revocation: Path | None = None):
        self.creds = creds
        self.clock = clock
        self.revocation = revocation
        self._gen_seen: tuple[float, int] = (-1.0, 0)
        self._key = hashlib.sha256(f"{creds.tenant}|{creds.client_id}|{creds.client_secret}".encode()).digest()

    def generation(self) -> int:
        """The current token generation (re-read when the file changes; one stat per request)."""
        if self.revocation is None:
            return 0
        try:
            mtime = self.revocation.stat().st_mtime_ns
        except OSError:
            return 0
        if mtime != self._gen_seen[0]:
            self._gen_seen = (mtime, token_generation(self.revocation))
        return self._gen_seen[1]

    def issue(self, audience: str) -> dict[str, Any]:
        now = int(self.clock())
        life = int(self.creds.token_lifetime)
        claims = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{self.creds.tenant}/",
            "iat": now,
            "nbf": now,
            "exp": now + life,
            "appid": self.creds.client_id,
            "tid": self.creds.tenant,
            "jti": uuid.uuid4().hex,
            "p2c_gen": self.generation(),
        }
        head = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        sig = _b64(hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest())
        return {"token_type": "Bearer", "expires_in": life, "ext_expires_in": life, "access_token": f"{head}.{body}.{sig}"}

    def check(self, token: str) -> str | None:
        """None when the token is valid now, else why not (for the 401's WWW-Authenticate)."""
        try:
            head, body, sig = token.split(".")
            want = _b64(hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest())
            if not hmac.compare_digest(want, sig):
                return "invalid_token"
            claims = json.loads(_unb64(body))
        except (ValueError, json.JSONDecodeError):
            return "invalid_token"
        if claims.get("exp", 0) <= self.clock():
            return "expired"
        if claims.get("p2c_gen", 0) < self.generation():
            return "revoked"
        return None

    # --- the token endpoint ----------------------------------------------------------------

    def token_response(self, tenant: str, form: dict[str, str], origin: str) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) for a token request to ``/<tenant>/oauth2/v2.0/token``."""
        c = self.creds
        if tenant != c.tenant:
            return 400, _entra_error(
                "invalid_request", 90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
                "into the correct cloud. Check with your subscription administrator, this may happen if there "
                "are no active subscriptions for the tenant.",
            )
        grant = form.get("grant_type")
        if not grant:
            return 400, _entra_error(
                "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."
            )
        if grant != "client_credentials":
            return 400, _entra_error(
                "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant}'."
            )
        client_id = form.get("client_id", "")
        if not client_id:
            return 400, _entra_error(
                "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."
            )
        if client_id != c.client_id:
            return 400, _entra_error(
                "unauthorized_client", 700016,
                f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can "
                "happen if the application has not been installed by the administrator of the tenant or consented "
                "to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
            )
        secret = form.get("client_secret")
        if not secret:
            return 401, _entra_error(
                "invalid_client", 7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            )
        if not hmac.compare_digest(secret.encode(), c.client_secret.encode()):
            return 401, _entra_error(
                "invalid_client", 7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                f"secret value, not the client secret ID, for a secret added to app '{client_id}'.",
            )
        scope = form.get("scope", "")
        if not scope:
            return 400, _entra_error(
                "invalid_request", 90014,
                "The required field 'scope' is missing from the credential. Ensure that you have all the "
                "necessary parameters for the login request.",
            )
        if not scope.endswith("/.default") or " " in scope.strip():
            return 400, _entra_error(
                "invalid_scope", 1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows must have a scope "
                "value with /.default suffixed to the resource identifier (application ID URI).",
            )
        return 200, self.issue(scope[: -len("/.default")] or origin)


def _entra_error(error: str, code: int, text: str) -> dict[str, Any]:
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(timezone.utc)
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {corr} Timestamp: {stamp}",
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": corr,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


def token_path_tenant(path: str) -> str | None:
    """The tenant of a token-endpoint path ``/<tenant>/oauth2/v2.0/token``, else None."""
    parts = path.strip("/").split("/")
    if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
        return parts[0]
    return None


def caller(scope: Scope) -> str | None:
    """The client (``appid`` claim) of the request's bearer token, read without checking it: for
    per-client limits behind :class:`AuthMiddleware`, which has checked it already."""
    auth = dict(scope.get("headers") or []).get(b"authorization", b"").decode()
    try:
        return json.loads(_unb64(auth.partition(" ")[2].split(".")[1])).get("appid")
    except (IndexError, ValueError, AttributeError):
        return None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        msg = await receive()
        chunks.append(msg.get("body", b""))
        if not msg.get("more_body"):
            return b"".join(chunks)


async def send_json(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] = ()) -> None:  # type: ignore[assignment]
    data = json.dumps(body).encode() if body is not None else b""
    hdrs = [(b"content-length", str(len(data)).encode())]
    if body is not None:
        hdrs.append((b"content-type", b"application/json; charset=utf-8"))
    await send({"type": "http.response.start", "status": status, "headers": hdrs + list(headers)})
    await send({"type": "http.response.body", "body": data})


class AuthMiddleware:
    """Serves the token endpoint and guards every path under ``api_prefix`` with bearer tokens.

    ``unauthorized`` is the JSON body of a 401 (None: empty, as Dataverse and F&O send)."""

    def __init__(self, app: ASGIApp, issuer: TokenIssuer, api_prefix: str = "/", unauthorized: Any = None):
        self.app = app
        self.issuer = issuer
        self.api_prefix = api_prefix
        self.unauthorized = unauthorized

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        tenant = token_path_tenant(path)
        if tenant is not None:
            if scope["method"] != "POST":
                await send_json(send, 405, {"error": "invalid_request", "error_description": "Use POST."})
                return
            raw = await _read_body(receive)
            form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
            host = dict(scope["headers"]).get(b"host", b"127.0.0.1").decode()
            status, body = self.issuer.token_response(tenant, form, f"http://{host}")
            await send_json(send, status, body, [(b"cache-control", b"no-store")])
            return
        if path.startswith(self.api_prefix):
            auth = dict(scope["headers"]).get(b"authorization", b"").decode()
            scheme, _, token = auth.partition(" ")
            why = "missing" if scheme.lower() != "bearer" or not token else self.issuer.check(token.strip())
            if why is not None:
                host = dict(scope["headers"]).get(b"host", b"127.0.0.1").decode()
                tenant_url = f"http://{host}/{self.issuer.creds.tenant}/oauth2/authorize"
                challenge = f'Bearer authorization_uri={tenant_url}, resource_id=http://{host}/'
                if why != "missing":
                    challenge += f', error="invalid_token", error_description="{why}"'
                await send_json(send, 401, self.unauthorized, [(b"www-authenticate", challenge.encode())])
                return
        await self.app(scope, receive, send)
