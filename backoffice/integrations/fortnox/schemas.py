"""A ``Voucher`` as the body of Fortnox ``POST /3/vouchers`` (``docs/fortnox/api-facts.md`` §2.2).

``{"Voucher": {"Description", "TransactionDate", "VoucherSeries", "Comments", "VoucherRows": [{"Account",
"Debit", "Credit", "CostCenter", "TransactionInformation"}]}}``. Attributes stay snake_case; the
PascalCase names are ``data_key``s. ``Year`` is read-only (the financial year is chosen with the
``financialyear`` query parameter), so it is not sent. ``CostCenter`` and ``TransactionInformation``
are left out when unset: api-facts.md documents ``null`` only in Fortnox's responses, so sending
nothing is the choice that cannot be misread. The limits (Description 1–200, TransactionInformation
≤ 100, Account 1000–9999, at least two rows) are the ``Voucher`` value's own invariants.

Fortnox amounts are JSON numbers: :func:`voucher_body` keeps them ``Decimal`` and :func:`dumps_body`
writes each as its exact decimal literal (``1234.50``), never through ``float``.
"""

import simplejson
from marshmallow import Schema, fields, post_dump

from backoffice.zreport.voucher import Voucher


class VoucherRowSchema(Schema):
    """One ``VoucherRows`` item; ``Debit`` and ``Credit`` are both sent, the unused one as 0."""

    account = fields.Integer(data_key="Account")
    debit = fields.Decimal(data_key="Debit")
    credit = fields.Decimal(data_key="Credit")
    cost_center = fields.String(data_key="CostCenter")
    transaction_information = fields.String(data_key="TransactionInformation")

    @post_dump
    def _leave_out_unset(self, data: dict, **kwargs) -> dict:
        return {key: value for key, value in data.items() if value is not None}


class VoucherSchema(Schema):
    """The ``Voucher`` object of the request body, without the read-only ``Year``."""

    description = fields.String(data_key="Description")
    transaction_date = fields.Date(data_key="TransactionDate")
    series = fields.String(data_key="VoucherSeries")
    rows = fields.List(fields.Nested(VoucherRowSchema), data_key="VoucherRows")


def voucher_body(voucher: Voucher, *, comments: str | None = None) -> dict:
    """Return the ``POST /3/vouchers`` body for ``voucher``, with amounts as ``Decimal``.

    ``comments`` goes into ``Comments`` (writable, at most 1000 characters, returned in list items:
    docs/fortnox/facts-2026-12.md); the export engine puts its token there.
    """
    body = voucher_schema.dump(voucher)
    if comments is not None:
        if len(comments) > 1000:
            raise ValueError("Comments is at most 1000 characters")
        body["Comments"] = comments
    return {"Voucher": body}


def dumps_body(body: dict, *, indent: int | None = None) -> str:
    """Serialise a request body to JSON, writing every ``Decimal`` as an exact JSON number.

    The text is ASCII (other characters are ``\\u`` escapes), so any transport encoding carries it.
    ``indent`` pretty-prints it for people (``flask zreport voucher``).
    """
    return simplejson.dumps(body, use_decimal=True, indent=indent)


voucher_schema = VoucherSchema()
