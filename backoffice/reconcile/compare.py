"""Reconcile a month: every Z-report against the vouchers Fortnox holds, as immutable values (pure).

Invariants of :func:`reconcile_month`:

- Every Z-report of the month gives one :class:`DayEntry`; every (day, register) without a report
  up to the last day looked at gives one entry in state ``no_report``.
- A Fortnox voucher belongs to at most one report. It is the report's when its (financial year,
  series, number) is the one the export job recorded, when its ``Comments`` carry the job's token,
  or when its description is the report's
  (compared by :func:`description_key`, which survives Fortnox trimming, collapsing spaces or
  replacing punctuation). A voucher of the month in one of our series that belongs to
  no report is a ``foreign_voucher``.
- A report with two or more vouchers is ``duplicate``; an exported report whose voucher Fortnox
  does not have is ``missing``; a voucher whose net per (account, cost centre), struck-out rows left
  out, is not what was sent is ``differs``, with the difference per account to the öre.
- A corrected report ("Rätta dag", ``backoffice/correction/``) expects a chain: its exported voucher,
  then per correction a reversal of the voucher then current and a new voucher (:class:`CorrectionLink`).
  They all belong to the report (by the numbers recorded, the correction's tokens in ``Comments``,
  or a reversal's description ``Rättelse av F 12: `` + the report's); the day is ``ok`` when every
  correction has both vouchers and the chain's net per (account, cost centre) is the report's
  current booking. A reversal without its new voucher is ``correction_incomplete`` (state
  ``missing``: the day nets to zero), a new voucher without its reversal likewise (``duplicate``);
  a voucher beyond the chain is a ``duplicate_voucher``.
- A voucher is named as accountants write it (``F 12``); when the month holds the same series and
  number in two financial years (a year that ends inside the month), each such name also carries its
  year (:func:`voucher_labels`), so no two vouchers of a result share a name.
- Money is ``Decimal`` throughout; a row's amount is signed, debit positive and credit negative.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from backoffice.money import ZERO


class DayState(enum.StrEnum):
    #: booked once, and the rows are what was sent (or there was nothing to book)
    OK = "ok"
    #: booked once, but the rows read back are not what was sent
    DIFFERS = "differs"
    #: the export job says exported, but Fortnox has no such voucher
    MISSING = "missing"
    #: two or more vouchers in Fortnox for one Z-report
    DUPLICATE = "duplicate"
    #: the report has not reached Fortnox (waiting, blocked, failed, before the start date)
    NOT_EXPORTED = "not_exported"
    #: the register sent no Z-report for the day
    NO_REPORT = "no_report"


class FindingKind(enum.StrEnum):
    #: a Z-number is missing in a register's series
    Z_NUMBER_GAP = "z_number_gap"
    #: two vouchers in Fortnox for one Z-report
    DUPLICATE_VOUCHER = "duplicate_voucher"
    #: a voucher in our series that the back office did not make
    FOREIGN_VOUCHER = "foreign_voucher"
    #: a voucher whose rows are no longer what we sent
    VOUCHER_DIFFERS = "voucher_differs"
    #: the export job says exported, but Fortnox does not have the voucher
    VOUCHER_MISSING = "voucher_missing"
    #: a voucher without its Z-report PDF
    ATTACHMENT_MISSING = "attachment_missing"
    #: a correction's reversal is in Fortnox without its new voucher (or the other way round)
    CORRECTION_INCOMPLETE = "correction_incomplete"
    #: the files connected to the month's vouchers could not be read (no permission): whether each
    #: has its PDF is unknown, which is not the same as missing
    ATTACHMENT_UNKNOWN = "attachment_unknown"


@dataclass(frozen=True, slots=True)
class Posting:
    """The net of one (account, cost centre) on a voucher.

    account: the BAS account.
    cost_center: the cost centre code, or None.
    amount: debit minus credit, two decimals (credit is negative).
    """

    account: int
    cost_center: str | None
    amount: Decimal


@dataclass(frozen=True, slots=True)
class VoucherRef:
    """A voucher's identity in Fortnox: its financial year id, series and number."""

    year: int | None
    series: str
    number: int

    @property
    def label(self) -> str:
        """``F 12``, as Fortnox and accountants write it."""
        return f"{self.series} {self.number}"


def same_voucher(a: VoucherRef, b: VoucherRef) -> bool:
    """Whether two refs name one voucher: series and number equal, and the year too when both know it."""
    return (a.series, a.number) == (b.series, b.number) and (a.year is None or b.year is None or a.year == b.year)


@dataclass(frozen=True, slots=True)
class CorrectionLink:
    """One correction of a report ("Rätta dag"), in order: the voucher it reverses and the two it posts.

    corrected: the voucher reversed (the export's, or the previous correction's new one).
    reversal, new: the vouchers Fortnox holds, as recorded; None until recorded.
    reversal_token, new_token: the correction's own marks in the vouchers' ``Comments``.
    under_way: the worker has yet to finish it (pending); a blocked or failed one waits for a person.
    """

    corrected: VoucherRef
    reversal: VoucherRef | None = None
    new: VoucherRef | None = None
    reversal_token: str | None = None
    new_token: str | None = None
    under_way: bool = False


#: The start of a reversal's description, ``Rättelse av F 12: `` (``correction.compare.reversal_description``).
_REVERSAL_WORDS = ("Rättelse", "av")


def reversed_by_text(description: str) -> tuple[tuple[str, int], str] | None:
    """The (series, number) a reversal's description names and the rest's :func:`description_key`,
    or None when the text is not ``Rättelse av <series> <number>: …``."""
    words = description_key(description).split(" ")
    if len(words) < 5 or tuple(words[:2]) != _REVERSAL_WORDS or not words[3].isdigit():
        return None
    return (words[2], int(words[3])), " ".join(words[4:])


@dataclass(frozen=True, slots=True)
class ExpectedReport:
    """One Z-report of the month as the back office knows it.

    zreport_id: our id of the report.
    business_date: the report's business day (the voucher's date).
    register_id: the register's POS id.
    z_number: the report's number in the register's series.
    description: the voucher text that identifies the report (what the job sent, else what booking gives).
    exported: whether the export job recorded the voucher as in Fortnox.
    voucher: the voucher the job recorded, or None.
    postings: what was sent (or, if nothing was sent, what booking gives now); empty when nothing to book.
    nothing_to_book: every account nets to zero, so no voucher is expected.
    before_start: the report is from before the integration's start date, so no voucher is expected.
    token: the export job's own mark, sent in the voucher's ``Comments``, or None.
    corrections: the report's corrections in order; ``postings`` is then the current voucher's booking.
    """

    zreport_id: int
    business_date: date
    register_id: str
    z_number: int
    description: str | None
    exported: bool
    voucher: VoucherRef | None = None
    postings: tuple[Posting, ...] = ()
    nothing_to_book: bool = False
    before_start: bool = False
    token: str | None = None
    corrections: tuple[CorrectionLink, ...] = ()


@dataclass(frozen=True, slots=True)
class FortnoxVoucher:
    """A voucher as read back from Fortnox.

    ref: its financial year, series and number.
    transaction_date: its date.
    description: its text.
    postings: the net per (account, cost centre) of its rows, struck-out rows left out.
    corrected: whether any row was struck out (a correction typed over it in Fortnox).
    has_attachment: whether a file is connected to it; None when it could not be read (no permission).
    comments: its ``Comments`` (where an export job's token is), or None.
    """

    ref: VoucherRef
    transaction_date: date
    description: str
    postings: tuple[Posting, ...]
    corrected: bool = False
    has_attachment: bool | None = None
    comments: str | None = None


@dataclass(frozen=True, slots=True)
class Difference:
    """What one (account, cost centre) holds in what we sent and in Fortnox, and the difference."""

    account: int
    cost_center: str | None
    sent: Decimal
    fortnox: Decimal

    @property
    def difference(self) -> Decimal:
        """Fortnox minus sent, to the öre."""
        return self.fortnox - self.sent


@dataclass(frozen=True, slots=True)
class DayEntry:
    """One calendar cell: one report (or a day without one) of one register.

    vouchers: the labels (``F 12``) of the Fortnox vouchers that belong to the report.
    differences: per (account, cost centre) where Fortnox differs from what was sent.
    corrected: a voucher of the report has struck-out rows.
    rectified: the report was corrected by "Rätta dag" (a reversal and a new voucher).
    attachment_missing: the report's voucher has no file connected.
    attachment_unknown: whether the report's voucher has a file connected could not be read.
    """

    business_date: date
    register_id: str
    state: DayState
    z_number: int | None = None
    zreport_id: int | None = None
    vouchers: tuple[str, ...] = ()
    differences: tuple[Difference, ...] = ()
    corrected: bool = False
    rectified: bool = False
    attachment_missing: bool = False
    attachment_unknown: bool = False
    nothing_to_book: bool = False
    before_start: bool = False


@dataclass(frozen=True, slots=True)
class Finding:
    """Something an accountant must look at; the Swedish sentence is made at the edge from it.

    kind: what was found.
    register_id, z_number: the report it concerns (None for a foreign voucher).
    voucher: the voucher label it concerns, or None.
    data: what the sentence names (missing numbers, the description, the differences…).
    """

    kind: FindingKind
    register_id: str | None = None
    z_number: int | None = None
    voucher: str | None = None
    data: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MonthResult:
    """The reconciliation of one month: a cell per report or empty day, and the findings.

    names: each voucher's name in the cells and findings (:func:`voucher_labels`).
    """

    month: date
    days: tuple[DayEntry, ...]
    findings: tuple[Finding, ...]
    names: dict[VoucherRef, str] = field(default_factory=dict)


def description_key(text: str) -> str:
    """A voucher text as compared: letters and digits only, in words separated by one space.

    Fortnox may store a description trimmed, with spaces collapsed and punctuation outside Latin-1
    replaced (``docs/fortnox/facts-2026-12.md`` 2); what identifies a report (z number, register
    name and id, date, company) is in its letters and digits, so both readings match.
    """
    normal = unicodedata.normalize("NFC", text)
    kept = "".join(ch if ch.isalnum() else (" " if ch.isspace() else "") for ch in normal)
    return " ".join(kept.split())


def voucher_labels(refs: Iterable[VoucherRef], year_names: Mapping[int, str] | None = None) -> dict[VoucherRef, str]:
    """Each voucher's name in a result: ``F 12``, or ``F 12 (2025-07-01–2026-06-30)`` when the same
    series and number also occur in another financial year among ``refs``.

    ``year_names``: a financial year's name by its Id (its period); a year without one is ``år <Id>``.
    """
    refs = set(refs)
    years: dict[tuple[str, int], set[int | None]] = {}
    for ref in refs:
        years.setdefault((ref.series, ref.number), set()).add(ref.year)
    names = year_names or {}

    def label(ref: VoucherRef) -> str:
        if len(years[(ref.series, ref.number)]) < 2:
            return ref.label
        year = "år okänt" if ref.year is None else names.get(ref.year, f"år {ref.year}")
        return f"{ref.label} ({year})"

    return {ref: label(ref) for ref in refs}


def net_postings(rows: Iterable[tuple[int, str | None, Decimal, Decimal]]) -> tuple[Posting, ...]:
    """The net per (account, cost centre) of ``(account, cost_center, debit, credit)`` rows, zeros
    dropped, sorted by account and cost centre."""
    nets: dict[tuple[int, str | None], Decimal] = {}
    for account, cost_center, debit, credit in rows:
        key = (account, cost_center or None)
        nets[key] = nets.get(key, ZERO) + debit - credit
    return tuple(
        Posting(account, cost_center, amount)
        for (account, cost_center), amount in sorted(nets.items(), key=lambda item: (item[0][0], item[0][1] or ""))
        if amount
    )


def differences(sent: tuple[Posting, ...], fortnox: tuple[Posting, ...]) -> tuple[Difference, ...]:
    """Every (account, cost centre) whose net in Fortnox is not what was sent."""
    ours = {(p.account, p.cost_center): p.amount for p in sent}
    theirs = {(p.account, p.cost_center): p.amount for p in fortnox}
    keys = sorted(ours.keys() | theirs.keys(), key=lambda key: (key[0], key[1] or ""))
    return tuple(
        Difference(account, cost_center, ours.get((account, cost_center), ZERO), theirs.get((account, cost_center), ZERO))
        for account, cost_center in keys
        if ours.get((account, cost_center), ZERO) != theirs.get((account, cost_center), ZERO)
    )


def month_days(month: date, last_day: date) -> list[date]:
    """The days of ``month`` (its first day) up to and including ``last_day``."""
    days = []
    day = month.replace(day=1)
    while day.month == month.month and day <= last_day:
        days.append(day)
        day += timedelta(days=1)
    return days


def reconcile_month(
    month: date,
    reports: Iterable[ExpectedReport],
    vouchers: Iterable[FortnoxVoucher],
    *,
    registers: Iterable[str],
    last_day: date,
    previous_z: dict[str, int] | None = None,
    year_names: Mapping[int, str] | None = None,
    attachments_unreadable: str | None = None,
) -> MonthResult:
    """Reconcile the month's reports with the month's vouchers in our series.

    ``registers``: the POS ids that get a cell every day; ``last_day``: the last day with cells (the
    month's end, or today in the current month); ``previous_z``: per register, the last Z-number
    before the month, so that a gap at the month's start is found too; ``year_names``: the financial
    years' names by Id, for the vouchers whose series and number occur in two years
    (:func:`voucher_labels`); ``attachments_unreadable``: why the vouchers' files could not be read
    (``scope``: the consent lacks it; ``refused``: Fortnox said no), which gives one
    ``attachment_unknown`` finding instead of a verdict per voucher.
    """
    reports = sorted(reports, key=lambda r: (r.business_date, r.register_id, r.z_number))
    vouchers = sorted(vouchers, key=lambda v: (v.ref.series, v.ref.year or 0, v.ref.number))
    labels = voucher_labels([v.ref for v in vouchers] + [r.voucher for r in reports if r.voucher is not None],
                            year_names)
    owner = _assign_vouchers(reports, vouchers)
    by_report: dict[int, list[FortnoxVoucher]] = {}
    foreign: list[FortnoxVoucher] = []
    for voucher in vouchers:
        zreport_id = owner.get(voucher.ref)
        if zreport_id is None:
            foreign.append(voucher)
        else:
            by_report.setdefault(zreport_id, []).append(voucher)

    findings: list[Finding] = _z_number_gaps(reports, previous_z or {})
    days: list[DayEntry] = []
    for report in reports:
        entry, found = _judge(report, by_report.get(report.zreport_id, []), labels)
        days.append(entry)
        findings += found
    for voucher in foreign:
        findings.append(
            Finding(
                FindingKind.FOREIGN_VOUCHER,
                voucher=labels[voucher.ref],
                data={"date": voucher.transaction_date.isoformat(), "description": voucher.description},
            )
        )
    booked = [entry for entry in days if entry.vouchers]
    if attachments_unreadable is not None and booked:
        findings.append(Finding(FindingKind.ATTACHMENT_UNKNOWN,
                                data={"reason": attachments_unreadable, "vouchers": len(booked)}))
    reported = {(r.business_date, r.register_id) for r in reports}
    for day in month_days(month, last_day):
        for register_id in registers:
            if (day, register_id) not in reported:
                days.append(DayEntry(day, register_id, DayState.NO_REPORT))
    days.sort(key=lambda d: (d.business_date, d.register_id, d.z_number or 0))
    return MonthResult(month.replace(day=1), tuple(days), tuple(findings), labels)


def _assign_vouchers(reports: list[ExpectedReport], vouchers: list[FortnoxVoucher]) -> dict[VoucherRef, int]:
    """Which report each voucher belongs to: by the number the job recorded, then by the job's token
    in ``Comments``, then by the description."""
    owner: dict[VoucherRef, int] = {}
    by_ref = {v.ref: v for v in vouchers}
    by_number: dict[tuple[str, int], list[FortnoxVoucher]] = {}
    for v in vouchers:
        by_number.setdefault((v.ref.series, v.ref.number), []).append(v)
    for report in reports:
        if report.voucher is None:
            continue
        ref = report.voucher
        if ref.year is not None:
            voucher = by_ref.get(ref)
        else:  # a job that recorded no year: of the same number in two years, the one of the report's day
            candidates = by_number.get((ref.series, ref.number), [])
            voucher = next((v for v in candidates if v.transaction_date == report.business_date),
                           candidates[0] if candidates else None)
        if voucher is not None and voucher.ref not in owner:
            owner[voucher.ref] = report.zreport_id
    for report in reports:  # a corrected report's chain, by the numbers its corrections recorded
        chain = [ref for link in report.corrections for ref in (link.corrected, link.reversal, link.new) if ref]
        for ref in chain:
            for voucher in by_number.get((ref.series, ref.number), []):
                if same_voucher(voucher.ref, ref) and voucher.ref not in owner:
                    owner[voucher.ref] = report.zreport_id
                    break
    tokens = [(r.token, r) for r in reports if r.token]
    tokens += [(token, r) for r in reports for link in r.corrections
               for token in (link.reversal_token, link.new_token) if token]
    for voucher in vouchers:
        if voucher.ref in owner or not voucher.comments:
            continue
        for token, marked in tokens:
            if token in voucher.comments:
                owner[voucher.ref] = marked.zreport_id
                break
    by_text = {description_key(r.description): r for r in reports if r.description}
    for voucher in vouchers:
        if voucher.ref in owner:
            continue
        named = by_text.get(description_key(voucher.description))
        if named is not None and named.business_date == voucher.transaction_date:
            owner[voucher.ref] = named.zreport_id
            continue
        reversal = reversed_by_text(voucher.description)  # dated the first open day, maybe not the report's
        if reversal is not None and reversal[1] in by_text and by_text[reversal[1]].corrections:
            owner[voucher.ref] = by_text[reversal[1]].zreport_id
    return owner


def _judge(report: ExpectedReport, vouchers: list[FortnoxVoucher],
           names: Mapping[VoucherRef, str]) -> tuple[DayEntry, list[Finding]]:
    """The cell and findings of one report, given the vouchers that belong to it and every voucher's name."""
    labels = tuple(names[v.ref] for v in vouchers)
    base = DayEntry(
        business_date=report.business_date,
        register_id=report.register_id,
        state=DayState.OK,
        z_number=report.z_number,
        zreport_id=report.zreport_id,
        vouchers=labels,
        nothing_to_book=report.nothing_to_book,
        before_start=report.before_start,
    )

    def finding(kind: FindingKind, voucher: str | None, data: dict[str, object]) -> Finding:
        return Finding(kind, register_id=report.register_id, z_number=report.z_number, voucher=voucher, data=data)

    if report.corrections:
        return _judge_chain(report, vouchers, names, base)
    if not vouchers:
        if report.nothing_to_book:
            return base, []
        if report.exported:
            label = names[report.voucher] if report.voucher else None
            missing = finding(FindingKind.VOUCHER_MISSING, label, {"date": report.business_date.isoformat()})
            return replace(base, state=DayState.MISSING), [missing]
        return replace(base, state=DayState.NOT_EXPORTED), []
    findings: list[Finding] = []
    ours = _our_voucher(report, vouchers)
    kept = names[ours.ref]
    diffs = differences(report.postings, ours.postings)
    state = DayState.DIFFERS if diffs else DayState.OK
    if len(vouchers) > 1:
        state = DayState.DUPLICATE
        extra = [names[v.ref] for v in vouchers if v.ref != ours.ref]
        findings.append(finding(FindingKind.DUPLICATE_VOUCHER, extra[0],
                                {"vouchers": list(labels), "kept": kept, "extra": extra}))
    if diffs:
        findings.append(finding(FindingKind.VOUCHER_DIFFERS, kept, {
            "differences": [
                {"account": d.account, "cost_center": d.cost_center, "sent": str(d.sent), "fortnox": str(d.fortnox),
                 "difference": str(d.difference)} for d in diffs
            ],
            "corrected": ours.corrected,
        }))
    # Only the report's own voucher needs its underlag: a duplicate is to be reversed, not documented.
    if ours.has_attachment is False:
        findings.append(finding(FindingKind.ATTACHMENT_MISSING, kept, {}))
    entry = replace(base, state=state, differences=diffs, corrected=any(v.corrected for v in vouchers),
                    attachment_missing=ours.has_attachment is False, attachment_unknown=ours.has_attachment is None)
    return entry, findings


def _judge_chain(report: ExpectedReport, vouchers: list[FortnoxVoucher], names: Mapping[VoucherRef, str],
                 base: DayEntry) -> tuple[DayEntry, list[Finding]]:
    """The cell and findings of a corrected report: its vouchers sorted into the chain (the export's,
    each correction's reversal and new voucher) and what is beyond it."""

    def name(ref: VoucherRef | None) -> str | None:
        return None if ref is None else names.get(ref, ref.label)

    def finding(kind: FindingKind, voucher: str | None, data: dict[str, object]) -> Finding:
        return Finding(kind, register_id=report.register_id, z_number=report.z_number, voucher=voucher, data=data)

    def marked(voucher: FortnoxVoucher, ref: VoucherRef | None, token: str | None) -> bool:
        return (ref is not None and same_voucher(voucher.ref, ref)) or bool(token and token in (voucher.comments or ""))

    links = report.corrections
    original: FortnoxVoucher | None = None
    reversals: list[FortnoxVoucher | None] = [None] * len(links)
    news: list[FortnoxVoucher | None] = [None] * len(links)
    extras: list[FortnoxVoucher] = []
    for voucher in vouchers:
        if original is None and report.voucher is not None and same_voucher(voucher.ref, report.voucher):
            original = voucher
            continue
        text = reversed_by_text(voucher.description)
        slot = next((i for i, link in enumerate(links) if reversals[i] is None and (
            marked(voucher, link.reversal, link.reversal_token)
            or (link.reversal is None and text is not None and text[0] == (link.corrected.series, link.corrected.number)))),
            None)
        if slot is not None:
            reversals[slot] = voucher
            continue
        slot = next((i for i, link in enumerate(links) if news[i] is None and marked(voucher, link.new, link.new_token)),
                    None)
        if slot is not None:
            news[slot] = voucher
        else:
            extras.append(voucher)
    chain = [v for v in [original, *reversals, *news] if v is not None]
    current = next((v for v in reversed(news) if v is not None), original)
    findings: list[Finding] = []
    if original is None and report.exported:
        findings.append(finding(FindingKind.VOUCHER_MISSING, name(report.voucher),
                                {"date": report.business_date.isoformat()}))
    state = DayState.OK
    for link, reversal, new in zip(links, reversals, news, strict=True):
        missing = ("new" if reversal is not None and new is None
                   else "reversal" if new is not None and reversal is None
                   else "both" if link.reversal is not None and reversal is None and new is None else None)
        if missing is None:
            continue
        state = DayState.DUPLICATE if missing == "reversal" else DayState.MISSING
        findings.append(finding(FindingKind.CORRECTION_INCOMPLETE, name(reversal.ref if reversal else link.reversal), {
            "corrected": name(link.corrected), "reversal": name(reversal.ref if reversal else link.reversal),
            "new": name(new.ref if new else link.new), "missing": missing, "in_progress": link.under_way,
        }))
    totals: dict[tuple[int, str | None], Decimal] = {}
    for voucher in chain:
        for posting in voucher.postings:
            key = (posting.account, posting.cost_center)
            totals[key] = totals.get(key, ZERO) + posting.amount
    summed = tuple(Posting(account, cost_center, amount) for (account, cost_center), amount in totals.items() if amount)
    diffs = differences(report.postings, summed)
    kept = name(current.ref) if current is not None else None
    if diffs and state == DayState.OK and current is not None:
        state = DayState.DIFFERS
        findings.append(finding(FindingKind.VOUCHER_DIFFERS, kept, {
            "differences": [
                {"account": d.account, "cost_center": d.cost_center, "sent": str(d.sent), "fortnox": str(d.fortnox),
                 "difference": str(d.difference)} for d in diffs
            ],
            "corrected": any(v.corrected for v in chain),
        }))
    if extras:
        state = DayState.DUPLICATE
        extra = [names[v.ref] for v in extras]
        findings.append(finding(FindingKind.DUPLICATE_VOUCHER, extra[0],
                                {"vouchers": list(base.vouchers), "kept": kept, "extra": extra}))
    if original is None and not chain and report.exported:
        state = DayState.MISSING
    attachment = current.has_attachment if current is not None else True
    if attachment is False:
        findings.append(finding(FindingKind.ATTACHMENT_MISSING, kept, {}))
    entry = replace(base, state=state, differences=diffs, corrected=any(v.corrected for v in chain), rectified=True,
                    attachment_missing=attachment is False, attachment_unknown=attachment is None)
    return entry, findings


def _our_voucher(report: ExpectedReport, vouchers: list[FortnoxVoucher]) -> FortnoxVoucher:
    """The voucher that counts as the report's: the one the job recorded (its year too, when it
    recorded one), else the first."""
    recorded = report.voucher
    for voucher in vouchers:
        if recorded is not None and (voucher.ref.series, voucher.ref.number) == (recorded.series, recorded.number) \
                and recorded.year in (None, voucher.ref.year):
            return voucher
    return vouchers[0]


def _z_number_gaps(reports: list[ExpectedReport], previous_z: dict[str, int]) -> list[Finding]:
    """One finding per run of missing Z-numbers in a register's series, from the last report before
    the month through the month's last report."""
    findings = []
    numbers: dict[str, list[int]] = {}
    for report in reports:
        numbers.setdefault(report.register_id, []).append(report.z_number)
    for register_id in sorted(numbers):
        seen = sorted(set(numbers[register_id]))
        before = previous_z.get(register_id)
        if before is not None and before < seen[0]:
            seen.insert(0, before)
        for low, high in zip(seen, seen[1:], strict=False):
            if high > low + 1:
                findings.append(Finding(
                    FindingKind.Z_NUMBER_GAP, register_id=register_id, z_number=low + 1,
                    data={"first": low + 1, "last": high - 1, "after": low, "before": high},
                ))
    return findings
