"""``error_for`` over every documented Fortnox error shape (``docs/fortnox/api-facts.md`` §3, §4.4, §5),
with canned responses from ``responses``; the same classes against the emulator are in test_client.py."""

import json
from datetime import date

import pytest
import requests
import responses

from backoffice.integrations.fortnox.errors import (
    AccessDeniedError,
    AccountInactiveError,
    AccountMissingError,
    CostCenterInactiveError,
    CostCenterMissingError,
    FortnoxAuthError,
    FortnoxConnectionError,
    FortnoxError,
    FortnoxRateLimited,
    FortnoxRejected,
    FortnoxServerError,
    InvalidClientError,
    NoFinancialYearError,
    NotFoundError,
    PeriodLockedError,
    SeriesMissingError,
    SeriesNotManualError,
    VoucherInvalidError,
    connection_error_for,
    error_for,
)

API = "https://api.fortnox.se/3"
TOKEN_URL = "https://apps.fortnox.se/oauth-v1/token"


def answer(status, body=None, *, method="POST", url=API + "/vouchers", content_type="application/json", headers=None):
    """Make a real ``requests`` call that ``responses`` answers with ``status`` and ``body``."""
    if isinstance(body, dict):
        body = json.dumps(body)
    with responses.RequestsMock() as mock:
        mock.add(method, url, body=body or b"", status=status, content_type=content_type, headers=headers)
        return requests.request(method, url, timeout=1)


def error_information(code, message, *, casing="lower"):
    keys = ("error", "message", "code") if casing == "lower" else ("Error", "Message", "Code")
    return {"ErrorInformation": dict(zip(keys, (1, message, code), strict=True))}


@pytest.mark.parametrize(
    ("code", "message", "cls", "reason"),
    [
        (2001940, "Verifikationsserien är inte manuell (F).", SeriesNotManualError, "series_not_manual"),
        (2999001, 'Konto "3001" är inte aktivt', AccountInactiveError, "account_inactive"),
        (2001304, "Kunde inte hitta konto", AccountMissingError, "account_missing"),
        (2999002, "Ogiltig verifikationsserie angiven", SeriesMissingError, "series_missing"),
        (2999003, "Räkenskapsår saknas för valt datum", NoFinancialYearError, "no_financial_year"),
        (2000947, "Kostnadsställe är inaktivt", CostCenterInactiveError, "cost_center_inactive"),
        (2999004, 'Kostnadsställe "ODEN" existerar inte', CostCenterMissingError, "cost_center_missing"),
        (2000663, "Har inte behörighet för scope", AccessDeniedError, "access_denied"),
        (2001101, "Det finns ingen aktiv licens för önskat scope", AccessDeniedError, "access_denied"),
        (2001103, "Api-licens saknas.", AccessDeniedError, "access_denied"),
        (2001897, "Verifikationen måste ha minst två rader", VoucherInvalidError, "voucher_invalid"),
        (2999005, "Verifikationen balanserar inte", VoucherInvalidError, "voucher_invalid"),
        (
            2000401,
            "Företaget har låst perioden t.o.m. 2026-10-31. Lås upp perioden för att fortsätta.",
            PeriodLockedError,
            "period_locked",
        ),
    ],
    ids=[
        "series-not-manual",
        "account-inactive",
        "account-missing",
        "series-missing",
        "no-financial-year",
        "cost-center-inactive",
        "cost-center-missing",
        "missing-scope",
        "no-licence-for-scope",
        "no-api-licence",
        "fewer-than-two-rows",
        "unbalanced",
        "locked-period",
    ],
)
@pytest.mark.parametrize("casing", ["lower", "Pascal"])
def test_voucher_refusals_are_classified_in_both_key_casings(code, message, cls, reason, casing):
    error = error_for(answer(400, error_information(code, message, casing=casing)))

    assert type(error) is cls
    assert isinstance(error, FortnoxRejected)
    assert error.reason == reason
    assert (error.status, error.code, error.fortnox_message) == (400, code, message)
    assert not error.ambiguous


def test_code_as_a_string_is_read_as_a_number():
    error = error_for(answer(400, error_information("2000663", "Har inte behörighet för scope")))

    assert type(error) is AccessDeniedError
    assert error.code == 2000663


def test_a_documented_code_wins_over_a_misleading_message():
    error = error_for(answer(400, error_information(2001940, "Något helt annat")))

    assert type(error) is SeriesNotManualError


def test_unknown_codes_are_classified_by_message_not_by_number():
    """The emulator uses 2999xxx for codes nobody knows; the same number must not decide anything."""
    inactive = error_for(answer(400, error_information(2999100, 'Konto "3001" är inte aktivt')))
    missing = error_for(answer(400, error_information(2999100, "Kunde inte hitta konto 4011")))

    assert (type(inactive), type(missing)) == (AccountInactiveError, AccountMissingError)


def test_fields_are_read_from_the_message():
    series = error_for(answer(400, error_information(2001940, "Verifikationsserien är inte manuell (F).")))
    inactive = error_for(answer(400, error_information(None, 'Konto "3001" är inte aktivt')))
    missing = error_for(
        answer(400, error_information(2999000, 'Inköpskonto inte uppdaterat. Kontot "4011" existerar inte.'))
    )
    cost_center = error_for(answer(400, error_information(2000947, 'Kostnadsställe "ODEN" är inte aktivt')))
    locked = error_for(answer(400, error_information(2000401, "Bolaget har låst perioden t.o.m. 2026-10-31.")))

    assert (series.subject_kind, series.subject) == ("series", "F")
    assert (inactive.subject_kind, inactive.subject) == ("account", 3001)
    assert type(missing) is AccountMissingError and missing.subject == 4011
    assert (cost_center.subject_kind, cost_center.subject) == ("cost_center", "ODEN")
    assert (locked.subject_kind, locked.subject) == ("locked_through", date(2026, 10, 31))


def test_fields_stay_none_when_the_message_does_not_name_them():
    series = error_for(answer(400, error_information(2001940, "Serien är inte manuell")))
    account = error_for(answer(400, error_information(2001304, "Kunde inte hitta konto")))
    locked = error_for(answer(400, error_information(2000401, "Perioden är låst")))

    assert (series.subject, account.subject, locked.subject) == (None, None, None)


def test_missing_scope_may_come_as_403():
    error = error_for(answer(403, error_information(2000663, "Har inte behörighet för scope"), method="GET"))

    assert type(error) is AccessDeniedError


@pytest.mark.parametrize(
    "message", ["Saknar behörighet för kostnadsställen", "Saknar rättighet för bokföring", "Saknar rättighet",
                "Missing scope costcenter", "Ingen licens för modulen"]
)
def test_permission_words_mean_access_denied_whatever_the_code(message):
    assert type(error_for(answer(400, error_information(2999999, message)))) is AccessDeniedError


def test_an_unknown_refusal_of_a_voucher_is_voucher_invalid_and_elsewhere_rejected():
    voucher = error_for(answer(400, error_information(2999999, "Något gick fel")))
    account = error_for(answer(400, error_information(2999999, "Något gick fel"), url=API + "/accounts"))

    assert type(voucher) is VoucherInvalidError
    assert type(account) is FortnoxRejected and account.reason == "rejected"


def test_expired_access_token_401_without_error_information():
    error = error_for(answer(401, {"message": "unauthorized"}, method="GET", url=API + "/accounts"))

    assert type(error) is FortnoxAuthError
    assert error.reason == "auth_expired"
    assert error.fortnox_message == "unauthorized"
    assert error.code is None


def test_used_refresh_token_is_invalid_grant_with_a_text_html_content_type():
    body = '{"error":"invalid_grant","error_description":"Invalid refresh token"}'
    error = error_for(answer(400, body, url=TOKEN_URL, content_type="text/html; charset=UTF-8"))

    assert type(error) is FortnoxAuthError
    assert error.reason == "auth_expired"
    assert "Invalid refresh token" in error.fortnox_message


def test_wrong_client_secret_is_invalid_client_with_text_plain():
    body = '{"error":"invalid_client","error_description":"The client credentials are invalid"}'
    error = error_for(answer(401, body, url=TOKEN_URL, content_type="text/plain;charset=UTF-8"))

    assert type(error) is InvalidClientError
    assert isinstance(error, FortnoxAuthError)
    assert error.reason == "invalid_client"


def test_other_oauth_errors_are_rejections_not_expired_authorisations():
    error = error_for(answer(400, {"error": "invalid_request"}, url=TOKEN_URL))

    assert type(error) is FortnoxRejected


def test_429_without_body_or_retry_after():
    error = error_for(answer(429, None, method="GET", content_type="text/plain"))

    assert type(error) is FortnoxRateLimited
    assert error.reason == "rate_limited"
    assert error.retry_after is None
    assert not error.ambiguous


@pytest.mark.parametrize(
    ("body", "headers", "retry_after"),
    [
        ({"message": "Too many requests"}, {"Retry-After": "3"}, 3.0),
        ("<html><body>Slow down</body></html>", {"Retry-After": "2.5"}, 2.5),
        (error_information(2999999, "För många anrop"), {"Retry-After": "soon"}, None),
    ],
    ids=["json-message", "html", "error-information-unreadable-retry-after"],
)
def test_429_of_any_shape_is_rate_limited(body, headers, retry_after):
    error = error_for(answer(429, body, headers=headers))

    assert type(error) is FortnoxRateLimited
    assert error.retry_after == retry_after


def test_retry_after_as_an_http_date_is_read_as_seconds_from_now():
    error = error_for(answer(429, None, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}))

    assert error.retry_after > 60 * 60 * 24 * 365


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_html_outage_page_is_a_server_error_and_ambiguous(status):
    error = error_for(answer(status, "<html><h1>Service Unavailable</h1></html>", content_type="text/html"))

    assert type(error) is FortnoxServerError
    assert error.reason == "transient"
    assert error.ambiguous
    assert error.fortnox_message is None
    assert "text/html" in str(error)


@pytest.mark.parametrize(
    "body", [b"", b"{not json", b"[1, 2]", b"\xff\xfe"], ids=["empty", "invalid-json", "json-list", "bad-utf8"]
)
def test_unreadable_400_bodies_still_classify(body):
    error = error_for(answer(400, body))

    assert type(error) is VoucherInvalidError
    assert error.code is None and error.fortnox_message is None


def test_404_on_a_get_is_not_found():
    body = {"ErrorInformation": {"Error": 1, "Message": "Kan inte hitta verifikationen.", "Code": 2000434}}
    error = error_for(answer(404, body, method="GET", url=API + "/vouchers/A/99"))

    assert type(error) is NotFoundError
    assert error.reason == "not_found"
    assert error.code == 2000434


def test_str_is_english_with_the_status_code_and_fortnox_text():
    error = error_for(answer(400, error_information(2001940, "Verifikationsserien är inte manuell (F).")))

    text = str(error)
    assert text.startswith("the voucher series does not allow manual vouchers: POST /3/vouchers")
    assert "HTTP 400" in text and "2001940" in text and "inte manuell" in text


def test_every_class_has_a_distinct_reason_except_the_transient_pair():
    classes = [
        FortnoxError,
        FortnoxRateLimited,
        FortnoxAuthError,
        InvalidClientError,
        NotFoundError,
        FortnoxRejected,
        AccessDeniedError,
        SeriesNotManualError,
        SeriesMissingError,
        AccountMissingError,
        AccountInactiveError,
        CostCenterMissingError,
        CostCenterInactiveError,
        NoFinancialYearError,
        PeriodLockedError,
        VoucherInvalidError,
    ]
    reasons = [cls.reason for cls in classes]

    assert len(set(reasons)) == len(reasons)
    assert FortnoxConnectionError.reason == FortnoxServerError.reason == "transient"


def test_connection_refused_is_not_ambiguous_and_a_read_timeout_is():
    with responses.RequestsMock() as mock:
        mock.add("POST", API + "/vouchers", body=requests.ConnectTimeout("connect timed out"))
        mock.add("GET", API + "/accounts", body=requests.ReadTimeout("read timed out"))
        with pytest.raises(requests.ConnectTimeout) as connect:
            requests.post(API + "/vouchers", timeout=1)
        with pytest.raises(requests.ReadTimeout) as read:
            requests.get(API + "/accounts", timeout=1)

    refused = connection_error_for(connect.value, method="POST", url=API + "/vouchers")
    timed_out = connection_error_for(read.value, method="GET", url=API + "/accounts")

    assert (refused.ambiguous, timed_out.ambiguous) == (False, True)
    assert refused.reason == timed_out.reason == "transient"
    assert "did not reach" in str(refused) and "may have reached" in str(timed_out)
