"""Files: the inbox (`/3/inbox`), the archive (`/3/archive`) and voucher file connections.

Fortnox facts followed (docs/fortnox/facts-2026-12.md, "Attaching a file to a voucher"):

- upload: `POST /3/inbox?path=inbox_v` (scope `inbox`) or `POST /3/archive` (scope `archive`),
  `multipart/form-data` with the field `file`, answers 201 `{"File": {"Id", "Name", "Path", "Size",
  "ArchiveFileId"}}`;
- connect: `POST /3/voucherfileconnections?financialyear=<Id>` with `{"VoucherFileConnection":
  {"FileId", "VoucherSeries", "VoucherNumber"}}` (scope `connectfile`); **without `financialyear`
  the voucher with that number in the preselected year is meant**, which may be another voucher;
  `VoucherYear` in the body is refused (2000321 [B]);
- look up: `GET /3/voucherfileconnections` with the filters `voucherseries`, `vouchernumber`,
  `voucheryear` [B] (the `file_connection_filters` setting plays the reading where they are ignored).
  The spec's list has no `MetaInformation`, as many of its lists that are paged; the
  `file_connection_pages` setting plays both: the whole list at once, or pages like other lists.

What no source gives, and what the emulator does then (docs/EMULATOR.md): the size limit
(`max_upload_bytes`), that `GET /3/inbox?path=<folder>` lists one folder, that a connected file leaves
the inbox for the archive, that a file is connected to one voucher only, and that `VoucherYear` in a
connection is the financial-year Id (as `Year` on a voucher).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from fortnox_emulator import payload
from fortnox_emulator.errors import (
    CONNECTION_NOT_FOUND_BY_ID,
    CONNECTION_VOUCHER_NOT_FOUND,
    FILE_ALREADY_CONNECTED,
    FILE_MISSING,
    FILE_NOT_FOUND,
    FILE_TOO_LARGE,
    FOLDER_NOT_FOUND,
    INVALID_PARAMETER,
    VOUCHER_YEAR_IN_BODY,
    FortnoxApiError,
)
from fortnox_emulator.jsonio import json_response
from fortnox_emulator.resources import paginate
from fortnox_emulator.state import FileConnection, StoredFile, Tenant, now_utc

if TYPE_CHECKING:
    from fortnox_emulator.api import ApiContext

#: The inbox's folders (Fortnox's "Inkorgar"): `inbox_v` takes underlag for vouchers.
INBOX_FOLDERS = {"inbox_v": "Verifikationer", "inbox_s": "Leverantörsfakturor", "inbox_kf": "Kundfakturor"}
INBOX_ROOT = "inbox"
ARCHIVE_ROOT = "archive"
CONNECTION_ACCEPTED = ("FileId", "VoucherSeries", "VoucherNumber", "VoucherDescription", "@url")


def _file_json(base: str, stored: StoredFile) -> dict[str, Any]:
    root = "archive" if stored.folder == ARCHIVE_ROOT else "inbox"
    return {"@url": f"{base}/3/{root}/{stored.id}", "ArchiveFileId": stored.archive_file_id, "Comments": None,
            "Id": stored.id, "Name": stored.name, "Path": stored.folder, "Size": stored.size}


def _folder_id(tenant: Tenant, name: str) -> str:
    """A stable folder id per company and folder (Fortnox's are UUIDs)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fortnox-emulator:{tenant.id}:{name}"))


def _upload(ctx: ApiContext, folder: str, max_bytes: int) -> Response:
    try:
        upload = ctx.request.files.get("file")
        if upload is None or not upload.filename:
            raise FortnoxApiError(FILE_MISSING)
        content = upload.read(max_bytes + 1)
    finally:
        ctx.request.close()  # the multipart parser's temporary files
    if len(content) > max_bytes:
        raise FortnoxApiError(FILE_TOO_LARGE, limit=max_bytes)
    stored = StoredFile(id=str(uuid.uuid4()), archive_file_id=str(uuid.uuid4()), name=upload.filename,
                        folder=folder, size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                        created_at=now_utc())
    ctx.tenant.files[stored.id] = stored
    ctx.changed()
    return json_response({"File": _file_json(ctx.base, stored)}, 201, {"Location": "files"})


def _inbox_folder(ctx: ApiContext) -> str:
    path = ctx.args.get("path") or ctx.args.get("folderId") or INBOX_ROOT
    names = {INBOX_ROOT, *INBOX_FOLDERS}
    by_id = {_folder_id(ctx.tenant, name): name for name in names}
    folder = path if path in names else by_id.get(path)
    if folder is None:
        raise FortnoxApiError(FOLDER_NOT_FOUND, path=path)
    return folder


def upload_to_inbox(ctx: ApiContext) -> Response:
    """POST /3/inbox[?path=inbox_v | folderId=]: multipart, field `file`; 201 `{"File": …}`."""
    return _upload(ctx, _inbox_folder(ctx), ctx.settings.max_upload_bytes)


def upload_to_archive(ctx: ApiContext) -> Response:
    """POST /3/archive: multipart, field `file`, into the archive's root."""
    return _upload(ctx, ARCHIVE_ROOT, ctx.settings.max_upload_bytes)


def _folder_json(ctx: ApiContext, folder: str, subfolders: dict[str, str]) -> dict[str, Any]:
    files = sorted((f for f in ctx.tenant.files.values() if f.folder == folder), key=lambda f: f.created_at)
    root = "archive" if folder == ARCHIVE_ROOT else "inbox"
    return {"Folder": {
        "@url": f"{ctx.base}/3/{root}", "Email": None, "Id": _folder_id(ctx.tenant, folder), "Name": folder,
        "Files": [_file_json(ctx.base, f) for f in files],
        "Folders": [{"@url": f"{ctx.base}/3/{root}?path={name}", "Id": _folder_id(ctx.tenant, name), "Name": name}
                    for name in subfolders],
    }}


def get_inbox(ctx: ApiContext) -> Response:
    """GET /3/inbox: the root with its folders; `?path=inbox_v` lists that folder (our reading)."""
    folder = _inbox_folder(ctx)
    return json_response(_folder_json(ctx, folder, INBOX_FOLDERS if folder == INBOX_ROOT else {}))


def get_archive(ctx: ApiContext) -> Response:
    """GET /3/archive: the archive's root, with the files connected to vouchers."""
    return json_response(_folder_json(ctx, ARCHIVE_ROOT, {}))


def _voucher_year(ctx: ApiContext, connection: FileConnection) -> int:
    """`VoucherYear` as the `voucher_year_reading` setting reads it: the year's Id or its calendar year."""
    year = ctx.tenant.financial_years.get(connection.year_id)
    if ctx.settings.voucher_year_reading == "calendar" and year is not None:
        return year.from_date.year
    return connection.year_id


def _connection_json(ctx: ApiContext, connection: FileConnection) -> dict[str, Any]:
    voucher = ctx.tenant.vouchers.get((connection.year_id, connection.series, connection.number))
    return {"@url": f"{ctx.base}/3/voucherfileconnections/{connection.file_id}", "FileId": connection.file_id,
            "VoucherDescription": voucher.description if voucher else None,
            "VoucherNumber": str(connection.number), "VoucherSeries": connection.series,
            "VoucherYear": _voucher_year(ctx, connection)}


def connect_file(ctx: ApiContext) -> Response:
    """POST /3/voucherfileconnections[?financialyear=]: connect an uploaded file to a voucher.

    Without `financialyear` the number is looked up in the preselected year, as Fortnox does.
    """
    data = ctx.body("VoucherFileConnection")
    if "VoucherYear" in data:
        raise FortnoxApiError(VOUCHER_YEAR_IN_BODY)
    payload.refuse_unknown_fields(data, CONNECTION_ACCEPTED)
    file_id = payload.text(data, "FileId", required=True)
    series = payload.text(data, "VoucherSeries", required=True)
    raw_number = str(data.get("VoucherNumber") or "")
    if not raw_number.isdigit():
        raise FortnoxApiError(INVALID_PARAMETER)
    year = ctx.year()
    number = int(raw_number)
    if (year.id, series, number) not in ctx.tenant.vouchers:
        raise FortnoxApiError(CONNECTION_VOUCHER_NOT_FOUND, series=series, number=number, year=year.id)
    stored = ctx.tenant.files.get(file_id)
    if stored is None:
        raise FortnoxApiError(FILE_NOT_FOUND, file_id=file_id)
    if file_id in ctx.tenant.file_connections:
        raise FortnoxApiError(FILE_ALREADY_CONNECTED, file_id=file_id)
    connection = FileConnection(file_id=file_id, year_id=year.id, series=series, number=number, created_at=now_utc())
    ctx.tenant.file_connections[file_id] = connection
    stored.folder = ARCHIVE_ROOT  # a connected file leaves the inbox (our reading)
    ctx.changed()
    return json_response({"VoucherFileConnection": _connection_json(ctx, connection)}, 201,
                         {"Location": "voucherfileconnections"})


def list_connections(ctx: ApiContext) -> Response:
    """GET /3/voucherfileconnections[?voucherseries=&vouchernumber=&voucheryear=]: the whole list, or one
    page of it (`limit`, `page`, `MetaInformation`) with `file_connection_pages="paged"`."""
    connections = sorted(ctx.tenant.file_connections.values(), key=lambda c: c.created_at)
    if ctx.settings.file_connection_filters == "honoured":
        series, number, year = (ctx.args.get(name) for name in ("voucherseries", "vouchernumber", "voucheryear"))
        if any(value is not None and name != "voucherseries" and not value.isdigit()
               for name, value in (("vouchernumber", number), ("voucheryear", year))):
            raise FortnoxApiError(INVALID_PARAMETER)
        connections = [c for c in connections
                       if (not series or c.series == series) and (not number or c.number == int(number))
                       and (not year or _voucher_year(ctx, c) == int(year))]
    if ctx.settings.file_connection_pages == "paged":
        return json_response(paginate(ctx.args, "VoucherFileConnections", connections,
                                      lambda c: _connection_json(ctx, c)))
    return json_response({"VoucherFileConnections": [_connection_json(ctx, c) for c in connections]})


def get_connection(ctx: ApiContext, file_id: str) -> Response:
    """GET /3/voucherfileconnections/{FileId}."""
    connection = ctx.tenant.file_connections.get(file_id)
    if connection is None:
        raise FortnoxApiError(CONNECTION_NOT_FOUND_BY_ID)
    return json_response({"VoucherFileConnection": _connection_json(ctx, connection)})
