"""The JSON shapes of Fortnox resources (api-facts.md §2), built from the state objects.

Field names and which fields appear in list items follow the spec schemas
(`fortnox_Voucher`, `fortnox_VoucherListItem`, ...). Absent values are `null`, never omitted.
`@url` points at this emulator (Fortnox's point at https://api.fortnox.se).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from fortnox_emulator.errors import INVALID_PARAMETER, FortnoxApiError
from fortnox_emulator.state import Account, CostCenter, FinancialYear, Tenant, Voucher, VoucherSeries

T = TypeVar("T")

DEFAULT_LIMIT = 100  # C# SDK BaseSearch: "If undefined, API uses page size 100"
MAX_LIMIT = 500  # C# SDK ApiConstants.MaxLimit; above it we refuse (2000588) rather than clamp


def paginate(args: Mapping[str, str], plural: str, items: Sequence[T], render: Callable[[T], dict[str, Any]]
             ) -> dict[str, Any]:
    """`{"MetaInformation": {...}, plural: [...]}` for one page (`limit`, `page`).

    An empty result has `@TotalPages` 0 and `@CurrentPage` 1, as recorded from Fortnox.
    """
    limit = _positive_int(args.get("limit"), DEFAULT_LIMIT)
    page = _positive_int(args.get("page"), 1)
    if limit > MAX_LIMIT:
        raise FortnoxApiError(INVALID_PARAMETER)
    total = len(items)
    start = (page - 1) * limit
    return {
        "MetaInformation": {
            "@TotalResources": total,
            "@TotalPages": (total + limit - 1) // limit,
            "@CurrentPage": page,
        },
        plural: [render(item) for item in items[start:start + limit]],
    }


def _positive_int(raw: str | None, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise FortnoxApiError(INVALID_PARAMETER)
    return int(raw)


def voucher_url(base: str, voucher: Voucher) -> str:
    """The voucher's `@url`: series, number and the financial-year Id."""
    return f"{base}/3/vouchers/{voucher.series}/{voucher.number}?financialyear={voucher.year_id}"


def voucher_list_item_json(base: str, voucher: Voucher) -> dict[str, Any]:
    """A voucher in a list: no rows (softwerkab issue #153)."""
    return {
        "@url": voucher_url(base, voucher),
        "ApprovalState": 0,
        "Comments": voucher.comments,
        "Description": voucher.description,
        "ReferenceNumber": "",
        "ReferenceType": "MANUAL",
        "TransactionDate": voucher.transaction_date,
        "VoucherNumber": voucher.number,
        "VoucherSeries": voucher.series,
        "Year": voucher.year_id,
    }


def voucher_json(base: str, voucher: Voucher) -> dict[str, Any]:
    """A whole voucher with its rows."""
    return voucher_list_item_json(base, voucher) | {
        "CostCenter": voucher.cost_center,
        "Project": voucher.project,
        "VoucherRows": [
            {
                "Account": row.account,
                "CostCenter": row.cost_center,
                "Credit": row.credit,
                "Debit": row.debit,
                "Description": row.description,
                "Project": row.project,
                "Quantity": row.quantity,
                "Removed": row.removed,
                "TransactionInformation": row.transaction_information,
            }
            for row in voucher.rows
        ],
    }


def account_list_item_json(base: str, year: FinancialYear, account: Account) -> dict[str, Any]:
    """An account in a list (`fortnox_AccountListItem`)."""
    return {
        "@url": f"{base}/3/accounts/{account.number}?financialyear={year.id}",
        "Active": account.active,
        "BalanceBroughtForward": account.balance_brought_forward,
        "CostCenter": account.cost_center,
        "CostCenterSettings": account.cost_center_settings,
        "Description": account.description,
        "Number": account.number,
        "Project": account.project,
        "ProjectSettings": account.project_settings,
        "SRU": account.sru,
        "VATCode": account.vat_code,
        "Year": year.id,
    }


def account_json(base: str, year: FinancialYear, account: Account) -> dict[str, Any]:
    """One account (`fortnox_AccountSingleItem`)."""
    return account_list_item_json(base, year, account) | {
        # No bookkeeping of balances here: carried forward equals brought forward.
        "BalanceCarriedForward": account.balance_brought_forward,
        "OpeningQuantities": [],
        "QuantitySettings": "ALLOWED",
        "QuantityUnit": None,
        "TransactionInformation": None,
        "TransactionInformationSettings": account.transaction_information_settings,
    }


def series_list_item_json(base: str, year: FinancialYear, series: VoucherSeries) -> dict[str, Any]:
    """A voucher series in `VoucherSeriesCollection` (no NextVoucherNumber)."""
    return {
        "@url": f"{base}/3/voucherseries/{series.code}?financialyear={year.id}",
        "Approver": None,
        "Code": series.code,
        "Description": series.description,
        "Manual": series.manual,
        "Year": year.id,
    }


def series_json(base: str, year: FinancialYear, series: VoucherSeries) -> dict[str, Any]:
    """One voucher series, with the number the next voucher will get."""
    return series_list_item_json(base, year, series) | {"NextVoucherNumber": series.next_number}


def cost_center_json(base: str, cost_center: CostCenter) -> dict[str, Any]:
    """One cost centre (same shape in lists)."""
    return {
        "@url": f"{base}/3/costcenters/{cost_center.code}",
        "Active": cost_center.active,
        "Code": cost_center.code,
        "Description": cost_center.description,
        "Note": cost_center.note,
    }


def financial_year_json(base: str, year: FinancialYear) -> dict[str, Any]:
    """One financial year (same shape in lists)."""
    return {
        "@url": f"{base}/3/financialyears/{year.id}",
        "AccountChartType": year.account_chart_type,
        "AccountingMethod": year.accounting_method,
        "FromDate": year.from_date,
        "Id": year.id,
        "ToDate": year.to_date,
    }


def company_information_json(tenant: Tenant) -> dict[str, Any]:
    """`CompanyInformation`; DatabaseNumber is the tenant id (Fortnox blog)."""
    return {
        "Address": tenant.address,
        "City": tenant.city,
        "CompanyName": tenant.name,
        "CountryCode": "SE",
        "DatabaseNumber": tenant.id,
        "OrganizationNumber": tenant.org_number,
        "VisitAddress": tenant.address,
        "VisitCity": tenant.city,
        "VisitCountryCode": "SE",
        "VisitZipCode": tenant.zip_code,
        "ZipCode": tenant.zip_code,
    }


def me_json(tenant: Tenant) -> dict[str, Any]:
    """`MeInformation` of the company's one user."""
    return {"Email": tenant.user_email, "Id": "1", "Locale": "sv", "Name": tenant.user_name, "SysAdmin": True}
