"""Why an export waits: the machine-readable reason codes shared by jobs, problems and the UI.

Pure: the Swedish sentences for these codes live in ``backoffice.messages``.
"""

from __future__ import annotations

import enum


class Reason(enum.StrEnum):
    #: the mapping lacks an account for a part of the report (fix: the wizard's step)
    MAPPING_INCOMPLETE = "mapping_incomplete"
    #: no mapping saved at all
    MAPPING_MISSING = "mapping_missing"
    ACCOUNT_MISSING = "account_missing"
    ACCOUNT_INACTIVE = "account_inactive"
    SERIES_MISSING = "series_missing"
    SERIES_NOT_MANUAL = "series_not_manual"
    COST_CENTER_MISSING = "cost_center_missing"
    COST_CENTER_INACTIVE = "cost_center_inactive"
    #: Fortnox would not let us read the cost centres (the connection lacks the scope ``costcenter``, or
    #: the company the licence): only vouchers that carry a cost centre wait
    COST_CENTERS_UNREADABLE = "cost_centers_unreadable"
    NO_FINANCIAL_YEAR = "no_financial_year"
    PERIOD_LOCKED = "period_locked"
    #: Fortnox refused our refresh token (expired, used elsewhere, revoked): log in to Fortnox again
    AUTH_EXPIRED = "auth_expired"
    #: Fortnox refuses a freshly refreshed access token: the connection was invalidated
    CONNECTION_INVALIDATED = "connection_invalidated"
    #: the Fortnox user lacks a permission, scope or licence
    ACCESS_DENIED = "access_denied"
    #: no Fortnox connection for the company (never connected, or deactivated)
    NOT_CONNECTED = "not_connected"
    #: Fortnox refused the voucher for a reason we could not classify
    VOUCHER_INVALID = "voucher_invalid"
    #: Fortnox holds a voucher with our token whose series, date or rows are not what we sent:
    #: it is never posted again; an accountant must look at both
    VOUCHER_DIFFERS = "voucher_differs"
    #: transient errors outlasted the retries (5, 25, 125 s)
    EXPORT_FAILED = "export_failed"
    #: a register unit's Z-numbers have a gap: a day close never reached us, so its sales are not in
    #: the books (a problem, never a job's reason; the register must send it again)
    ZREPORT_MISSING = "zreport_missing"
    #: a register unit's grand total grew by something else than the next report's sales or returns
    #: (a problem, never a job's reason): registrations are missing or the register's memory was reset
    GRAND_TOTAL_JUMP = "grand_total_jump"


#: The problems of completeness: of the books, found in the stored reports (``problems.completeness_causes``), never a job's reason.
COMPLETENESS = frozenset({Reason.ZREPORT_MISSING, Reason.GRAND_TOTAL_JUMP})

#: Causes that live in Fortnox: a refreshed metadata snapshot can show them fixed.
FORTNOX_SIDE = frozenset(
    {
        Reason.ACCOUNT_MISSING,
        Reason.ACCOUNT_INACTIVE,
        Reason.SERIES_MISSING,
        Reason.SERIES_NOT_MANUAL,
        Reason.COST_CENTER_MISSING,
        Reason.COST_CENTER_INACTIVE,
        Reason.NO_FINANCIAL_YEAR,
        Reason.PERIOD_LOCKED,
        Reason.COST_CENTERS_UNREADABLE,
    }
)

#: Causes fixed by logging in to Fortnox again ("Åtgärda detta" runs the Fortnox login).
AUTHORISATION = frozenset({Reason.AUTH_EXPIRED, Reason.CONNECTION_INVALIDATED, Reason.ACCESS_DENIED, Reason.NOT_CONNECTED,
                           Reason.COST_CENTERS_UNREADABLE})

#: Causes fixed in our own settings (the wizard, "Ekonomi → Redovisning").
OUR_SETTINGS = frozenset({Reason.MAPPING_INCOMPLETE, Reason.MAPPING_MISSING})
