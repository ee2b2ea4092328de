"""Hostile bodies at the POS API (issue 14, intake): each is answered with a 4xx, quickly, and nothing
of it is stored. Under Werkzeug's server (what ``flask run`` uses) and gunicorn alike.

The time limits here are generous timeouts that only a quadratic or a hanging intake would reach
(the quadratic duplicate-key check took 85–230 s for one body); ``bench/intake_limits.py`` measures
the real figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.fixtures import stored_count

MIB = 1024 * 1024
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def gunicorn(app_config, tmp_path_factory):
    """The back office under gunicorn (``wsgi:app``) on the test database, configured by the environment."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    keys = ("DATABASE_URL", "SECRET_KEY", "TOKEN_ENCRYPTION_KEY", "FORTNOX_CLIENT_ID", "FORTNOX_CLIENT_SECRET",
            "FORTNOX_AUTH_URL", "FORTNOX_TOKEN_URL", "FORTNOX_REVOKE_URL", "FORTNOX_API_URL")
    env = {**os.environ, **{key: str(app_config[key]) for key in keys}, "EMBEDDED_WORKER": "0"}
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1", "--log-level", "warning",
             "wsgi:app"],
            env=env, cwd=Path(__file__).resolve().parents[2], stdout=output, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/api/v1/openapi.json", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError(f"gunicorn did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(10)


def _chunks(body: bytes, size: int = 64 * 1024):
    for start in range(0, len(body), size):
        yield body[start:start + size]


def _post_chunked(url: str, token: str, body: bytes) -> requests.Response:
    # a generator body is sent with Transfer-Encoding: chunked and no Content-Length
    return requests.post(f"{url}/api/v1/z-reports", data=_chunks(body), timeout=60,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


def _padded(document: dict, size: int) -> bytes:
    """``document`` as JSON of exactly ``size`` bytes: whitespace after the object is still valid JSON."""
    raw = json.dumps(document).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


@pytest.mark.parametrize("server", ["werkzeug", "gunicorn"])
def test_a_chunked_body_over_one_mebibyte_answers_413_and_stores_nothing(
    db, request, live_server, register, make_document, server
):
    company, _, token = register
    url = live_server.url if server == "werkzeug" else request.getfixturevalue("gunicorn")
    # a valid report in its first MiB: cutting the body at the limit used to store it (201)
    body = _padded(make_document(), MIB) + b" " * 1024

    response = _post_chunked(url, token, body)

    assert response.status_code == 413, response.text
    assert "larger than 1 MiB" in response.json()["errors"]["_schema"][0]
    assert stored_count(db, company) == 0


@pytest.mark.parametrize("server", ["werkzeug", "gunicorn"])
def test_a_chunked_body_within_the_limit_is_read_whole(db, request, live_server, register, make_document, server):
    company, _, token = register
    url = live_server.url if server == "werkzeug" else request.getfixturevalue("gunicorn")
    document = make_document()

    exactly = _post_chunked(url, token, _padded(document, MIB))
    broken = _post_chunked(url, token, _padded(make_document(), MIB - 10)[:-200] + b"}" + b" " * 189)

    assert exactly.status_code == 201, exactly.text
    assert exactly.json()["document"] == document
    assert broken.status_code == 400  # the body as sent, not a prefix of it
    assert stored_count(db, company) == 1


def test_a_report_with_more_product_groups_than_the_limit_answers_422_naming_it(db, pos, register, make_document):
    company, _, token = register
    document = make_document()
    document["sales"] = [
        {"product_group": f"Grupp {n}", "vat_rate": "25", "gross": "125.00", "vat": "25.00", "count": 1}
        for n in range(1000)
    ]
    document["returns"] = []
    document["tips"] = []
    document["rounding"] = "0.00"
    document["payments"] = [{"method": "card", "amount": "125000.00", "count": 1000}]

    response = pos.post(token, document)

    assert response.status_code == 422, response.text
    assert response.json()["errors"]["sales"] == ["At most 500 sales lines per report (the limit of the POS API)."]
    assert stored_count(db, company) == 0


def test_exactly_the_limit_of_product_groups_is_accepted(db, pos, register, make_document):
    company, _, token = register
    document = make_document(returns=[], tips=[], rounding="0.00")
    document["sales"] = [
        {"product_group": f"Grupp {n}", "vat_rate": "25", "gross": "125.00", "vat": "25.00", "count": 1}
        for n in range(500)
    ]
    document["payments"] = [{"method": "card", "amount": "62500.00", "count": 500}]

    assert pos.post(token, document).status_code == 201


def test_a_report_with_more_payment_methods_than_the_limit_answers_422_naming_it(db, pos, register, make_document):
    company, _, token = register
    document = make_document()
    document["payments"] += [{"method": f"kort-{n}", "amount": "0.00", "count": 0} for n in range(99)]

    response = pos.post(token, document)

    assert response.status_code == 422
    assert response.json()["errors"]["payments"] == ["At most 100 payment methods per report (the limit of the POS API)."]
    assert stored_count(db, company) == 0


def test_one_mebibyte_of_short_duplicate_keys_is_answered_400_at_once(db, pos, register):
    company, _, token = register
    keys = ",".join(f'"k{n % 30000}":0' for n in range(95_000))  # ~1 MiB, every key three times
    body = ('{"sales":{' + keys + "}}").encode()
    assert len(body) < MIB

    started = time.monotonic()
    response = pos.post(token, body)  # the quadratic check took minutes; the timeout is 30 s

    assert response.status_code == 400
    assert "duplicate key(s) in a JSON object: k0, k1," in response.json()["errors"]["_schema"][0]
    assert "more" in response.json()["errors"]["_schema"][0]  # named, but not all 40,000 of them
    assert time.monotonic() - started < 30
    assert stored_count(db, company) == 0


def test_a_mebibyte_of_payment_entries_is_refused_by_the_limit_before_they_are_parsed(db, pos, register, make_document):
    company, _, token = register
    document = make_document()
    document["payments"] = [{"method": "card", "amount": "0.00"}] * 20_000

    response = pos.post(token, json.dumps(document))

    assert response.status_code == 422
    assert response.json()["errors"]["payments"] == ["At most 100 payment methods per report (the limit of the POS API)."]


@pytest.mark.parametrize(
    ("closed_at", "words"),
    [
        pytest.param("9999-12-31T23:59:59-14:00", "Not a possible date and time", id="year-10000-in-utc"),
        pytest.param("9999-12-31T23:30Z", "in the future", id="year-9999"),
        pytest.param("0001-01-01T00:00:00+14:00", "Not a possible date and time", id="year-0-in-utc"),
    ],
)
def test_closed_at_at_the_edges_of_time_answers_422(db, pos, register, make_document, closed_at, words):
    company, _, token = register

    response = pos.post(token, make_document(closed_at=closed_at))

    assert response.status_code == 422, response.text
    assert words in response.json()["errors"]["closed_at"][0]
    assert stored_count(db, company) == 0
