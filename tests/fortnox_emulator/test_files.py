"""Files: the inbox, the archive and voucher file connections, over real HTTP, checked against the spec."""

from __future__ import annotations

from datetime import date

import pytest
import requests

from tests.fortnox_emulator.conftest import ALL_SCOPES, error_of, voucher_body

FILE_SCOPES = ALL_SCOPES + " inbox connectfile archive"
PDF = b"%PDF-1.4 a Z-report\n%%EOF\n"


@pytest.fixture
def files(session_for, tenant_id):
    """The demo company's API with the scopes attaching needs."""
    return session_for(tenant_id, FILE_SCOPES)


def _upload(session, name="Z-K1-1-2026-11-20.pdf", content=PDF, path="/3/inbox", **params):
    params = {"path": "inbox_v", **params} if path == "/3/inbox" else params
    return session.request("POST", path, files={"file": (name, content, "application/pdf")}, params=params)


def _inbox(session):
    return session.request("GET", "/3/inbox", params={"path": "inbox_v"})


def _voucher(session, day: str, description: str = "Z 1", **params) -> dict:
    response = session.post("/3/vouchers", voucher_body(day, description=description), **params)
    assert response.status_code == 201, response.text
    return response.json()["Voucher"]


def _connect(session, file_id: str, voucher: dict, **params):
    body = {"VoucherFileConnection": {"FileId": file_id, "VoucherSeries": voucher["VoucherSeries"],
                                      "VoucherNumber": str(voucher["VoucherNumber"])}}
    return session.post("/3/voucherfileconnections", body, **params)


def test_an_upload_to_the_voucher_inbox_answers_201_with_the_file(files, emulator, tenant_id):
    response = _upload(files)

    assert response.status_code == 201
    stored = response.json()["File"]
    assert stored["Name"] == "Z-K1-1-2026-11-20.pdf"
    assert stored["Size"] == len(PDF)
    assert stored["Path"] == "inbox_v"
    assert stored["Id"] and stored["ArchiveFileId"] and stored["Id"] != stored["ArchiveFileId"]
    listed = _inbox(files).json()["Folder"]
    assert [f["Id"] for f in listed["Files"]] == [stored["Id"]]
    root = files.get("/3/inbox").json()["Folder"]
    assert "inbox_v" in [folder["Name"] for folder in root["Folders"]] and root["Files"] == []
    assert [(f["name"], f["folder"]) for f in emulator.control.files(tenant_id)] == [(stored["Name"], "inbox_v")]


def test_an_upload_without_the_file_field_or_into_an_unknown_folder_is_refused(files):
    missing = files.request("POST", "/3/inbox", files={"document": ("a.pdf", PDF)}, params={"path": "inbox_v"})
    unknown = files.request("POST", "/3/inbox", files={"file": ("a.pdf", PDF)}, params={"path": "nowhere"})

    assert missing.status_code == 400 and error_of(missing)[0] == 2999015
    assert unknown.status_code == 400 and error_of(unknown)[0] == 2999017


def test_an_upload_over_the_size_limit_is_refused_and_nothing_is_stored(make_emulator, openapi):
    from tests.fortnox_emulator.conftest import FortnoxSession

    emulator = make_emulator(max_upload_bytes=100)
    tenant = emulator.default_tenant_id
    session = FortnoxSession(emulator.url, emulator.control.issue_tokens(tenant, FILE_SCOPES)["access_token"],
                             openapi)

    small = _upload(session, content=b"x" * 100)
    large = _upload(session, content=b"x" * 101)

    assert small.status_code == 201
    assert large.status_code == 400
    assert error_of(large) == (2999016, "Filen är för stor: högst 100 byte.")
    assert len(emulator.control.files(tenant)) == 1


def test_the_archive_takes_uploads_with_its_own_scope(files, session_for, tenant_id):
    response = _upload(files, path="/3/archive")
    inbox_only = session_for(tenant_id, ALL_SCOPES + " inbox")

    assert response.status_code == 201 and response.json()["File"]["Path"] == "archive"
    assert [f["Name"] for f in files.get("/3/archive").json()["Folder"]["Files"]] == ["Z-K1-1-2026-11-20.pdf"]
    refused = _upload(inbox_only, path="/3/archive")
    assert refused.status_code == 400 and error_of(refused)[0] == 2000663


@pytest.mark.parametrize("path", ["/3/inbox", "/3/voucherfileconnections"])
def test_files_need_their_scopes(fortnox, path):
    response = fortnox.get(path)

    assert response.status_code == 400
    assert error_of(response) == (2000663, "Har inte behörighet för scope")


def test_connecting_a_file_to_a_voucher_of_its_year_moves_it_out_of_the_inbox(files, emulator, tenant_id):
    today = emulator.app.today()
    voucher = _voucher(files, today.isoformat(), financialyear=2)
    file_id = _upload(files).json()["File"]["Id"]

    response = _connect(files, file_id, voucher, financialyear=2)

    assert response.status_code == 201
    connection = response.json()["VoucherFileConnection"]
    assert connection == {"@url": connection["@url"], "FileId": file_id, "VoucherDescription": "Z 1",
                          "VoucherNumber": str(voucher["VoucherNumber"]), "VoucherSeries": "F", "VoucherYear": 2}
    assert _inbox(files).json()["Folder"]["Files"] == []
    stored = {(v["financial_year"], v["series"], v["number"]): v["files"] for v in emulator.control.vouchers(tenant_id)}
    assert stored == {(2, "F", voucher["VoucherNumber"]): [file_id]}
    assert files.get(f"/3/voucherfileconnections/{file_id}").json()["VoucherFileConnection"]["FileId"] == file_id


def test_a_connection_without_financialyear_goes_to_the_voucher_of_that_number_in_the_preselected_year(
        files, emulator, tenant_id):
    today = emulator.app.today()
    last_year = _voucher(files, date(today.year - 1, 12, 31).isoformat(), "Z 31 dec", financialyear=1)
    this_year = _voucher(files, today.isoformat(), "Z today", financialyear=2)
    assert last_year["VoucherNumber"] == this_year["VoucherNumber"] == 1
    file_id = _upload(files).json()["File"]["Id"]

    response = _connect(files, file_id, last_year)  # no financialyear: the preselected year is meant

    assert response.status_code == 201
    assert response.json()["VoucherFileConnection"]["VoucherYear"] == 2
    assert response.json()["VoucherFileConnection"]["VoucherDescription"] == "Z today"


def test_a_connection_is_refused_for_a_year_in_the_body_a_missing_voucher_file_or_a_file_already_connected(
        files, emulator):
    voucher = _voucher(files, emulator.app.today().isoformat())
    file_id = _upload(files).json()["File"]["Id"]
    with_year = {"VoucherFileConnection": {"FileId": file_id, "VoucherSeries": "F", "VoucherNumber": "1",
                                           "VoucherYear": 2}}

    assert error_of(files.post("/3/voucherfileconnections", with_year))[0] == 2000321
    assert error_of(_connect(files, file_id, {**voucher, "VoucherNumber": 99}))[0] == 2999020
    assert error_of(_connect(files, "no-such-file", voucher))[0] == 2999018
    assert _connect(files, file_id, voucher).status_code == 201
    again = _connect(files, file_id, voucher)
    assert again.status_code == 400 and error_of(again)[0] == 2999019
    assert files.get("/3/voucherfileconnections/no-such-file").status_code == 404


@pytest.mark.parametrize("filters", ["honoured", "ignored"])
def test_the_connection_list_filters_by_voucher_or_ignores_the_filters(make_emulator, openapi, filters):
    from tests.fortnox_emulator.conftest import FortnoxSession

    emulator = make_emulator(file_connection_filters=filters)
    tenant = emulator.default_tenant_id
    session = FortnoxSession(emulator.url, emulator.control.issue_tokens(tenant, FILE_SCOPES)["access_token"],
                             openapi)
    day = emulator.app.today().isoformat()
    first, second = _voucher(session, day, "Z 1"), _voucher(session, day, "Z 2")
    for voucher in (first, second):
        assert _connect(session, _upload(session).json()["File"]["Id"], voucher, financialyear=2).status_code == 201

    listed = session.get("/3/voucherfileconnections", voucherseries="F", vouchernumber=2, voucheryear=2)

    numbers = [c["VoucherNumber"] for c in listed.json()["VoucherFileConnections"]]
    assert numbers == (["2"] if filters == "honoured" else ["1", "2"])


def test_voucher_year_is_the_financial_year_id_or_its_calendar_year_by_the_reading(make_emulator, openapi):
    from tests.fortnox_emulator.conftest import FortnoxSession

    emulator = make_emulator(voucher_year_reading="calendar")
    tenant = emulator.default_tenant_id
    session = FortnoxSession(emulator.url, emulator.control.issue_tokens(tenant, FILE_SCOPES)["access_token"],
                             openapi)
    today = emulator.app.today()
    voucher = _voucher(session, today.isoformat())
    created = _connect(session, _upload(session).json()["File"]["Id"], voucher, financialyear=2)

    assert created.json()["VoucherFileConnection"]["VoucherYear"] == today.year
    listed = session.get("/3/voucherfileconnections", voucheryear=today.year).json()["VoucherFileConnections"]
    assert len(listed) == 1
    assert session.get("/3/voucherfileconnections", voucheryear=2).json()["VoucherFileConnections"] == []


def test_a_dropped_answer_after_storing_leaves_the_upload_and_the_connection_in_place(files, emulator, tenant_id):
    voucher = _voucher(files, emulator.app.today().isoformat())
    emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/inbox", seconds=0, after="drop")
    with pytest.raises(requests.ConnectionError):
        _upload(files)
    (stored,) = _inbox(files).json()["Folder"]["Files"]
    emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/voucherfileconnections",
                               seconds=0, after="drop")

    with pytest.raises(requests.ConnectionError):
        _connect(files, stored["Id"], voucher)

    assert [v["files"] for v in emulator.control.vouchers(tenant_id)] == [[stored["Id"]]]
    listed = files.get("/3/voucherfileconnections", voucherseries="F", vouchernumber=1, voucheryear=2).json()
    assert [c["FileId"] for c in listed["VoucherFileConnections"]] == [stored["Id"]]


def test_a_reset_forgets_the_files(files, emulator, tenant_id):
    _upload(files)

    emulator.control.reset_tenant(tenant_id)

    assert emulator.control.files(tenant_id) == []
