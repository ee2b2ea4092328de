"""A strict SIE 4I reader for the tests, written from the specification (docs/sie4.md: SIE filformat
utgåva 4B, sections 5–8 and table 6), not from the exporter: it shares no code with
``backoffice.reconcile.sie`` and refuses anything the specification does not allow a 4I file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

#: Table 6: mandatory in 4I, in the order section 5.12 puts the identification records.
MANDATORY = ("#FLAGGA", "#PROGRAM", "#FORMAT", "#GEN", "#SIETYP", "#FNAMN")
#: Table 6: not allowed in a 4I file.
FORBIDDEN = ("#IB", "#UB", "#RES", "#PSALDO", "#PBUDGET", "#OMFATTN", "#BKOD")
#: Section 5.12: flag, identification, chart of accounts, vouchers (rank of each known tag).
ORDER = {"#FLAGGA": 0, "#PROGRAM": 1, "#FORMAT": 1, "#GEN": 1, "#SIETYP": 1, "#ORGNR": 1, "#FNAMN": 1,
         "#RAR": 1, "#KONTO": 2, "#DIM": 2, "#OBJEKT": 2, "#VER": 3, "#KSUMMA": 4}
_AMOUNT = re.compile(r"^-?\d+(\.\d{1,2})?$")
_DATE = re.compile(r"^\d{8}$")


class SieSyntaxError(AssertionError):
    """The file breaks a rule of the specification."""


@dataclass
class Transaction:
    account: int
    objects: list[tuple[int, str]]
    amount: Decimal


@dataclass
class Verification:
    series: str
    number: str
    day: date
    text: str
    transactions: list[Transaction] = field(default_factory=list)


@dataclass
class SieFile:
    records: dict[str, list[list[str]]]
    accounts: dict[int, str]
    dimensions: dict[int, str]
    objects: dict[tuple[int, str], str]
    verifications: list[Verification]


def split_fields(line: str) -> list[str]:
    """Section 5.3–5.7: fields separated by spaces or tabs; ``"`` quotes a field, ``\\"`` is a quote in
    it; ``{…}`` is an object list, kept as one field with its braces."""
    fields, i = [], 0
    while i < len(line):
        ch = line[i]
        if ch in " \t":
            i += 1
            continue
        if ch == '"':
            i += 1
            text = []
            while True:
                if i >= len(line):
                    raise SieSyntaxError(f"unterminated quote: {line!r}")
                if line[i] == "\\" and i + 1 < len(line) and line[i + 1] == '"':
                    text.append('"')
                    i += 2
                elif line[i] == '"':
                    i += 1
                    break
                else:
                    text.append(line[i])
                    i += 1
            fields.append("".join(text))
        elif ch == "{":
            end = line.index("}", i)
            fields.append(line[i:end + 1])
            i = end + 1
        else:
            start = i
            while i < len(line) and line[i] not in " \t":
                i += 1
            fields.append(line[start:i])
    return fields


def parse_date(text: str) -> date:
    if not _DATE.match(text):
        raise SieSyntaxError(f"date is not YYYYMMDD: {text!r}")
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


def parse_amount(text: str) -> Decimal:
    """Section 5.9: ``.`` as decimal separator, at most two decimals, a minus in front, never a plus."""
    if not _AMOUNT.match(text):
        raise SieSyntaxError(f"amount breaks 5.9: {text!r}")
    return Decimal(text)


def parse_objects(text: str) -> list[tuple[int, str]]:
    if not (text.startswith("{") and text.endswith("}")):
        raise SieSyntaxError(f"object list must be in braces: {text!r}")
    inner = split_fields(text[1:-1])
    if len(inner) % 2:
        raise SieSyntaxError(f"object list must hold pairs: {text!r}")
    return [(int(inner[i]), inner[i + 1]) for i in range(0, len(inner), 2)]


def read_sie4i(data: bytes) -> SieFile:
    """Read and check a SIE 4I file; raises ``SieSyntaxError`` at the first rule it breaks."""
    text = data.decode("cp437")  # 5.8: code page 437; every byte decodes, so check the round trip
    if text.encode("cp437") != data:
        raise SieSyntaxError("bytes do not round-trip through cp437")
    if "\r" in text.replace("\r\n", ""):
        raise SieSyntaxError("a CR not followed by LF")
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    records: dict[str, list[list[str]]] = {}
    accounts: dict[int, str] = {}
    dimensions: dict[int, str] = {}
    objects: dict[tuple[int, str], str] = {}
    verifications: list[Verification] = []
    rank = -1
    current: Verification | None = None
    in_block = False
    for number, line in enumerate(lines, 1):
        if any(ord(ch) < 32 and ch != "\t" or ord(ch) == 127 for ch in line):
            raise SieSyntaxError(f"line {number}: control character")
        stripped = line.strip()
        if stripped == "{":
            if current is None or in_block:
                raise SieSyntaxError(f"line {number}: a brace that opens no #VER")
            in_block = True
            continue
        if stripped == "}":
            if not in_block:
                raise SieSyntaxError(f"line {number}: a closing brace without an opening one")
            in_block = False
            current = None
            continue
        if not stripped.startswith("#"):
            raise SieSyntaxError(f"line {number}: not a record: {line!r}")
        fields = split_fields(stripped)
        tag, args = fields[0], fields[1:]
        if tag in FORBIDDEN:
            raise SieSyntaxError(f"line {number}: {tag} is not allowed in 4I")
        if in_block:
            if tag != "#TRANS":
                raise SieSyntaxError(f"line {number}: only #TRANS inside a #VER, got {tag}")
            account = int(args[0])
            if accounts and account not in accounts:
                raise SieSyntaxError(f"line {number}: account {account} has no #KONTO")
            pairs = parse_objects(args[1])
            for pair in pairs:
                if pair[0] == 1 and pair not in objects:
                    raise SieSyntaxError(f"line {number}: object {pair} has no #OBJEKT")
            current.transactions.append(Transaction(account, pairs, parse_amount(args[2])))
            continue
        if tag == "#TRANS":
            raise SieSyntaxError(f"line {number}: #TRANS outside a #VER")
        if tag in ORDER:
            if ORDER[tag] < rank:
                raise SieSyntaxError(f"line {number}: {tag} after a later part (5.12)")
            rank = ORDER[tag]
        records.setdefault(tag, []).append(args)
        if tag == "#FORMAT" and args != ["PC8"]:
            raise SieSyntaxError("#FORMAT must be PC8")
        elif tag == "#SIETYP" and args != ["4"]:
            raise SieSyntaxError("#SIETYP must be 4")
        elif tag == "#FLAGGA" and args != ["0"]:
            raise SieSyntaxError("#FLAGGA of an exported file must be 0")
        elif tag == "#GEN":
            parse_date(args[0])
        elif tag == "#KONTO":
            accounts[int(args[0])] = args[1]
        elif tag == "#DIM":
            dimensions[int(args[0])] = args[1]
        elif tag == "#OBJEKT":
            if int(args[0]) not in dimensions and int(args[0]) > 19:
                raise SieSyntaxError(f"line {number}: #OBJEKT of an undeclared free dimension")
            objects[(int(args[0]), args[1])] = args[2]
        elif tag == "#VER":
            series, vernr, day, vertext = args[0], args[1], parse_date(args[2]), args[3]
            if len(args) > 4:
                parse_date(args[4])
            current = Verification(series, vernr, day, vertext)
            verifications.append(current)
    if in_block:
        raise SieSyntaxError("a #VER block is not closed")
    for tag in MANDATORY:
        if len(records.get(tag, [])) != 1:
            raise SieSyntaxError(f"{tag} must appear exactly once (table 6)")
    order = [tag for tag in records if tag in MANDATORY]
    if order[0] != "#FLAGGA":
        raise SieSyntaxError("#FLAGGA must come first")
    for verification in verifications:
        if not verification.transactions:
            raise SieSyntaxError(f"#VER {verification.text!r} has no #TRANS")
        total = sum((t.amount for t in verification.transactions), Decimal(0))
        if total != 0:
            raise SieSyntaxError(f"#VER {verification.text!r} sums to {total}, not 0")
    numbered: dict[str, list[int]] = {}
    for verification in verifications:
        if verification.number:
            numbered.setdefault(verification.series, []).append(int(verification.number))
    for series, numbers in numbered.items():
        if numbers != sorted(numbers):
            raise SieSyntaxError(f"numbers of series {series} are not rising")
    return SieFile(records, accounts, dimensions, objects, verifications)
