"""The books every new emulated company starts with: a Swedish restaurant on BAS.

Two financial years (the previous and the current calendar year, ids 1 and 2), the same chart of
accounts in both, voucher series A and F (manual) and B (not manual, as Fortnox's invoice series
are), no cost centres, nothing locked. docs/EMULATOR.md lists the same.
"""

from __future__ import annotations

from datetime import date

from fortnox_emulator.state import Account, EmulatorState, FinancialYear, Tenant, VoucherSeries

#: (number, description, active). 1920 and 3050 are inactive on purpose: 3050 is BAS's group
#: heading for 3051–3053, and a restaurant seldom has a PlusGiro account, so tests and the demo
#: meet an inactive account without setting one up.
ACCOUNTS: tuple[tuple[int, str, bool], ...] = (
    (1510, "Kundfordringar", True),
    (1580, "Fordringar för kontokort och kuponger", True),
    (1630, "Avräkning för skatter och avgifter (skattekonto)", True),
    (1680, "Andra kortfristiga fordringar", True),
    (1910, "Kassa", True),
    (1920, "PlusGiro", False),
    (1930, "Företagskonto/checkkonto/affärskonto", True),
    (1940, "Övriga bankkonton", True),
    (2081, "Aktiekapital", True),
    (2091, "Balanserad vinst eller förlust", True),
    (2099, "Årets resultat", True),
    (2421, "Ej inlösta presentkort", True),
    (2440, "Leverantörsskulder", True),
    (2611, "Utgående moms på försäljning inom Sverige, 25 %", True),
    (2621, "Utgående moms på försäljning inom Sverige, 12 %", True),
    (2631, "Utgående moms på försäljning inom Sverige, 6 %", True),
    (2640, "Ingående moms", True),
    (2650, "Redovisningskonto för moms", True),
    (2710, "Personalskatt", True),
    (2731, "Avräkning lagstadgade sociala avgifter", True),
    (2890, "Övriga kortfristiga skulder", True),
    (2893, "Skuld dricks till personal", True),
    (3001, "Försäljning inom Sverige, 25 % moms", True),
    (3002, "Försäljning inom Sverige, 12 % moms", True),
    (3003, "Försäljning inom Sverige, 6 % moms", True),
    (3004, "Försäljning inom Sverige, momsfri", True),
    (3050, "Försäljning av varor inom Sverige", False),
    (3051, "Försäljning av varor inom Sverige, 25 % moms", True),
    (3052, "Försäljning av varor inom Sverige, 12 % moms", True),
    (3053, "Försäljning av varor inom Sverige, 6 % moms", True),
    (3730, "Lämnade rabatter", True),
    (3740, "Öres- och kronutjämning", True),
    (3990, "Övriga ersättningar och intäkter", True),
    (4010, "Inköp av varor och material", True),
    (5010, "Lokalhyra", True),
    (6040, "Kontokortsavgifter", True),
    (6570, "Bankkostnader", True),
    (6990, "Övriga externa kostnader", True),
    (6991, "Övriga externa kostnader, avdragsgilla", True),
    (6992, "Övriga externa kostnader, ej avdragsgilla", True),
    (7010, "Löner till kollektivanställda", True),
    (7510, "Arbetsgivaravgifter", True),
)

#: (code, description, manual)
SERIES: tuple[tuple[str, str, bool], ...] = (
    ("A", "Redovisning", True),
    ("B", "Kundfakturor", False),
    ("F", "Kassa", True),
)

DEMO_COMPANY_NAME = "Restaurang Smakfullt AB"
DEMO_ORG_NUMBER = "556677-8899"


def seeded_financial_years(today: date) -> dict[int, FinancialYear]:
    """Fresh books: last calendar year (id 1) and this one (id 2), each with chart and series."""
    years = {}
    for year_id, calendar_year in ((1, today.year - 1), (2, today.year)):
        years[year_id] = FinancialYear(
            id=year_id,
            from_date=date(calendar_year, 1, 1),
            to_date=date(calendar_year, 12, 31),
            accounts={n: Account(number=n, description=d, active=a) for n, d, a in ACCOUNTS},
            series={c: VoucherSeries(code=c, description=d, manual=m) for c, d, m in SERIES},
        )
    return years


def create_tenant(state: EmulatorState, *, name: str, org_number: str, today: date) -> Tenant:
    """Add a company with seeded books and the next free tenant id."""
    tenant = Tenant(id=state.next_tenant_id, name=name, org_number=org_number,
                    financial_years=seeded_financial_years(today))
    state.tenants[tenant.id] = tenant
    state.next_tenant_id += 1
    return tenant


def reset_tenant(tenant: Tenant, *, today: date) -> None:
    """Put a company's books back to the seed: vouchers, cost centres and the lock go; tokens stay."""
    tenant.financial_years = seeded_financial_years(today)
    tenant.cost_centers = {}
    tenant.vouchers = {}
    tenant.locked_until = None
    tenant.files = {}
    tenant.file_connections = {}
