"""Fixtures for the emulator's tests: a real emulator on a free port, real HTTP with `requests`,
and every /3/ answer checked against Fortnox's official OpenAPI document."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from fortnox_emulator.server import RunningEmulator, start_emulator

# Fortnox's OpenAPI document, vendored with the emulator (fortnox_emulator/spec/SOURCE.txt).
REPO_ROOT = Path(__file__).resolve().parents[2]
OPENAPI_PATH = REPO_ROOT / "fortnox_emulator" / "spec" / "openapi.json"
ALL_SCOPES = "bookkeeping costcenter companyinformation settings"
REDIRECT_URI = "http://127.0.0.1:9/callback"
#: A Fortnox authorization request as our back office sends it.
AUTH_QUERY = {"client_id": "demo", "redirect_uri": REDIRECT_URI, "scope": ALL_SCOPES, "state": "abc123",
              "access_type": "offline", "response_type": "code"}


def _relax_nullable(node: Any) -> Any:
    """Let every typed field be null.

    Fortnox's official schema marks no field nullable, but Fortnox sends absent values as null
    (recorded answers: "Absent values are sent as `null`, not omitted"; the real voucher list item
    has 'Comments': None), so the emulator does too and we validate with nullable relaxed.
    `$ref` properties (e.g. VoucherSeries.Approver) get an explicit null alternative, because
    OAS 3.0 ignores siblings of `$ref`.
    """
    if isinstance(node, dict):
        if "$ref" in node and len(node) == 1:
            return {"anyOf": [node, {"enum": [None]}]}
        relaxed = {key: _relax_nullable(value) for key, value in node.items()}
        if "type" in relaxed:
            relaxed["nullable"] = True
        if "enum" in relaxed:
            relaxed["enum"] = [*relaxed["enum"], None]
        return relaxed
    if isinstance(node, list):
        return [_relax_nullable(item) for item in node]
    return node


class OpenApiChecker:
    """Validates an API answer against the response schema the spec gives for its path and method."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.paths = document["paths"]
        components = copy.deepcopy(document["components"])
        components["schemas"] = {name: _relax_nullable(schema) for name, schema in components["schemas"].items()}
        self.components = components
        # Static paths before templated ones, so /3/vouchers/sublist wins over /3/vouchers/{a}/{b}.
        self.templates = sorted(self.paths, key=lambda p: (p.count("{"), -len(p)))
        self.patterns = [(t, re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", t) + "$")) for t in self.templates]

    def template_for(self, path: str) -> str | None:
        """The spec path template a concrete path belongs to, if any."""
        for template, pattern in self.patterns:
            if pattern.match(path):
                return template
        return None

    def schema_for(self, path: str, method: str, status: int) -> dict[str, Any]:
        """The response schema for this path, method and status ("default" for errors).

        Refusals of operations the spec lacks (PUT on a voucher, an unknown route) are checked
        against the spec's error envelope.
        """
        template = self.template_for(path)
        operation = self.paths[template].get(method.lower()) if template else None
        if operation is None:
            assert status >= 400, f"{method} {path} answered {status} but the spec has no such operation"
            return {"$ref": "#/components/schemas/fortnox_ErrorInformationWrap"}
        responses = operation["responses"]
        response = responses.get(str(status)) or responses["default"]
        return response["content"]["application/json"]["schema"]

    def check(self, response: requests.Response) -> None:
        """Raise ValidationError unless the answer's JSON matches the spec."""
        path = urlsplit(response.request.url).path.rstrip("/")
        schema = {**self.schema_for(path, response.request.method, response.status_code),
                  "components": self.components}
        OAS30Validator(schema, format_checker=oas30_format_checker).validate(response.json())


@pytest.fixture(scope="session")
def openapi() -> OpenApiChecker:
    """Fortnox's official OpenAPI document, ready to validate answers."""
    return OpenApiChecker(json.loads(OPENAPI_PATH.read_text(encoding="utf-8")))


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., RunningEmulator]]:
    """Start emulators with the given settings; all are stopped after the test."""
    started: list[RunningEmulator] = []

    def make(**settings: Any) -> RunningEmulator:
        emulator = start_emulator(**settings)
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(make_emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    """An emulator with default (Fortnox) settings and the control API on."""
    return make_emulator()


class FortnoxSession:
    """A `requests` session on the emulated /3/ API with a bearer token; every answer with an
    ErrorInformation or 2xx JSON body is validated against the OpenAPI document."""

    def __init__(self, base_url: str, access_token: str, checker: OpenApiChecker) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {access_token}"
        self.checker = checker

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send a request and validate the answer when the spec describes it."""
        response = self.http.request(method, self.base_url + path, timeout=10, **kwargs)
        if response.status_code < 300 or "ErrorInformation" in response.text:
            self.checker.check(response)
        return response

    def get(self, path: str, **params: Any) -> requests.Response:
        """GET with query parameters."""
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any, **params: Any) -> requests.Response:
        """POST a JSON body."""
        return self.request("POST", path, json=body, params=params)

    def put(self, path: str, body: Any, **params: Any) -> requests.Response:
        """PUT a JSON body."""
        return self.request("PUT", path, json=body, params=params)


def error_of(response: requests.Response) -> tuple[int, str]:
    """(code, message) of an ErrorInformation body in either key casing, code as int."""
    info = {key.lower(): value for key, value in response.json()["ErrorInformation"].items()}
    return int(info["code"]), info["message"]


def decimal_json(response: requests.Response) -> Any:
    """An answer's JSON with numbers as Decimal, as our client parses it."""
    return json.loads(response.text, parse_float=Decimal)


@pytest.fixture
def tenant_id(emulator: RunningEmulator) -> int:
    """The seeded demo company."""
    return emulator.default_tenant_id


@pytest.fixture
def fortnox(emulator: RunningEmulator, tenant_id: int, openapi: OpenApiChecker) -> FortnoxSession:
    """The API of the demo company with a token holding all four scopes the product asks for."""
    token = emulator.control.issue_tokens(tenant_id, ALL_SCOPES)
    return FortnoxSession(emulator.url, token["access_token"], openapi)


@pytest.fixture
def session_for(emulator: RunningEmulator, openapi: OpenApiChecker) -> Callable[..., FortnoxSession]:
    """A FortnoxSession for any tenant and scope."""

    def make(tenant: int, scope: str = ALL_SCOPES) -> FortnoxSession:
        return FortnoxSession(emulator.url, emulator.control.issue_tokens(tenant, scope)["access_token"], openapi)

    return make


def authorize(emulator: RunningEmulator, *, scope: str = ALL_SCOPES, state: str = "st4te",
              extra: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Run GET /oauth-v1/auth (auto-approve must be on) and return the redirect's query."""
    params = {**AUTH_QUERY, "scope": scope, "state": state, **(extra or {})}
    response = requests.get(emulator.url + "/oauth-v1/auth", params=params, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return parse_qs(urlsplit(location).query)


def token_request(emulator: RunningEmulator, data: dict[str, str], *, auth: tuple[str, str] = ("demo", "demo-secret"),
                  headers: dict[str, str] | None = None) -> requests.Response:
    """POST /oauth-v1/token with Basic client authentication."""
    return requests.post(emulator.url + "/oauth-v1/token", data=data, auth=auth, headers=headers, timeout=10)


def voucher_body(day: str, rows: list[dict[str, Any]] | None = None, series: str = "F",
                 description: str = "Z-rapport 1, kassa K1") -> dict[str, Any]:
    """A balanced cash Z-report voucher: 125 in the till, 100 sales at 25 %, 25 VAT."""
    if rows is None:
        rows = [{"Account": 1910, "Debit": 125, "Credit": 0},
                {"Account": 3001, "Debit": 0, "Credit": 100},
                {"Account": 2611, "Debit": 0, "Credit": 25}]
    return {"Voucher": {"Description": description, "TransactionDate": day, "VoucherSeries": series,
                        "VoucherRows": rows}}
