"""Write vouchers as a SIE 4I file (type 4I: vouchers only, for a feeder system), pure.

Format rules from ``docs/sie4.md`` (SIE filformat utgåva 4B, sections given there):

- Code page 437 (``#FORMAT PC8``), one record per line ending in LF, fields separated by spaces,
  text fields quoted with ``"`` and a quote inside escaped as ``\\"``; no control characters.
- Order: ``#FLAGGA``, ``#PROGRAM``, ``#FORMAT``, ``#GEN``, ``#SIETYP``, ``#ORGNR``, ``#FNAMN``, then
  the chart (``#KONTO`` for every account used, ``#DIM 1`` and one ``#OBJEKT`` per cost centre),
  then the vouchers. Nothing forbidden in 4I (``#IB``, ``#UB``, ``#RES``…) is written.
- One ``#VER`` per voucher, its number left empty (``""``) for the receiving program to assign;
  its ``#TRANS`` amounts have two decimals, debit positive and credit negative, and sum to 0.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from backoffice.zreport.voucher import Voucher

#: Characters cp437 lacks that our texts may hold, and what stands in for them.
_STAND_INS = {"…": "...", "–": "-", "—": "-", "’": "'", "‘": "'", "”": '"', "“": '"', "\\": "/"}


class SieError(Exception):
    """Vouchers that cannot be written as SIE: one whose amounts do not sum to 0 (a bug)."""


@dataclass(frozen=True, slots=True)
class SieExport:
    """What a SIE 4I file of Z-report vouchers holds.

    program, version: who wrote the file (``#PROGRAM``).
    generated: the day it was written (``#GEN``, and each voucher's registration date).
    org_number, company_name: the company (``#ORGNR``, ``#FNAMN``).
    accounts: account number → name, for every account the vouchers use (``#KONTO``).
    cost_centres: cost-centre code → name (``#OBJEKT 1``).
    vouchers: the vouchers, in the order they are written.
    """

    program: str
    version: str
    generated: date
    org_number: str
    company_name: str
    accounts: Mapping[int, str]
    cost_centres: Mapping[str, str]
    vouchers: tuple[Voucher, ...]


def text_field(text: str) -> str:
    """A quoted SIE text field: stand-ins for what cp437 lacks, no control characters, ``\\"`` for quotes."""
    clean = "".join(_STAND_INS.get(ch, ch) for ch in text)
    clean = "".join(ch for ch in clean if ord(ch) >= 32 and ord(ch) != 127)
    clean = clean.encode("cp437", errors="replace").decode("cp437")
    return '"' + clean.replace('"', '\\"') + '"'


def amount_field(amount: Decimal) -> str:
    """An amount with ``.`` and two decimals, a minus in front when negative, never a plus."""
    return f"{amount.quantize(Decimal('0.01')):.2f}"


def sie_date(day: date) -> str:
    return day.strftime("%Y%m%d")


def render_sie(export: SieExport) -> bytes:
    """The SIE 4I file of ``export``, encoded in code page 437."""
    lines = [
        "#FLAGGA 0",
        f"#PROGRAM {text_field(export.program)} {text_field(export.version)}",
        "#FORMAT PC8",
        f"#GEN {sie_date(export.generated)}",
        "#SIETYP 4",
        f"#ORGNR {export.org_number}",
        f"#FNAMN {text_field(export.company_name)}",
    ]
    used = sorted({row.account for voucher in export.vouchers for row in voucher.rows})
    for account in used:
        lines.append(f"#KONTO {account} {text_field(export.accounts.get(account) or f'Konto {account}')}")
    lines.append(f"#DIM 1 {text_field('Kostnadsställe')}")
    for code in sorted(export.cost_centres):
        lines.append(f"#OBJEKT 1 {text_field(code)} {text_field(export.cost_centres[code] or code)}")
    for voucher in export.vouchers:
        total = sum((row.debit - row.credit for row in voucher.rows), Decimal("0.00"))
        if total:
            raise SieError(f"voucher {voucher.description!r} does not sum to 0: {total}")
        lines.append(
            f"#VER {text_field(voucher.series)} \"\" {sie_date(voucher.transaction_date)} "
            f"{text_field(voucher.description)} {sie_date(export.generated)}"
        )
        lines.append("{")
        for row in voucher.rows:
            objects = f"{{1 {text_field(row.cost_center)}}}" if row.cost_center else "{}"
            lines.append(f"#TRANS {row.account} {objects} {amount_field(row.debit - row.credit)}")
        lines.append("}")
    return ("\n".join(lines) + "\n").encode("cp437")
