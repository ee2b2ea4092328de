"""Saving a company's mapping: the only writer of the mapping rows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.accounts.mapping import Mapping
from backoffice.accounts.models import AccountMapping, PaymentMethodAccount, SalesRuleAccount, VatRateAccount
from backoffice.companies.models import Company


class UnknownRegisterError(ValueError):
    """A cost centre names a register the company does not have."""

    def __init__(self, register_ids: list[str]):
        super().__init__(f"no such register(s): {', '.join(register_ids)}")
        self.register_ids = register_ids


def company_mapping(session: Session, company: Company) -> AccountMapping | None:
    return session.scalar(select(AccountMapping).where(AccountMapping.company_id == company.id))


def load_mapping(session: Session, company: Company) -> Mapping | None:
    """The company's mapping as the booking core's value, or None when none is saved."""
    row = company_mapping(session, company)
    return None if row is None else row.to_mapping()


def save_mapping(session: Session, company: Company, mapping: Mapping, *, actor: str) -> AccountMapping:
    """Replace the company's mapping with ``mapping`` (cost centres go to its registers). Flushes.

    Raises ``UnknownRegisterError`` (and changes nothing) when a cost centre names a register the
    company does not have.
    """
    registers = {register.pos_id: register for register in company.registers}
    unknown = sorted(set(mapping.cost_centres) - set(registers))
    if unknown:
        raise UnknownRegisterError(unknown)
    row = company_mapping(session, company)
    if row is None:
        row = AccountMapping(company=company)
        session.add(row)
    row.voucher_series = mapping.voucher_series
    row.start_date = mapping.start_date
    row.tips = mapping.tips
    row.rounding = mapping.rounding
    row.cash_difference = mapping.cash_difference
    row.gift_cards_sold = mapping.gift_cards_sold
    row.updated_by = actor
    # Clear first and flush, so replaced rows never meet their successors in a unique constraint.
    row.payment_methods.clear()
    row.vat_rates.clear()
    row.sales_rules.clear()
    session.flush()
    row.payment_methods.extend(PaymentMethodAccount(method=m, account=a) for m, a in mapping.payment_methods.items())
    row.vat_rates.extend(VatRateAccount(vat_rate=rate, account=a) for rate, a in mapping.vat_rates.items())
    row.sales_rules.extend(
        SalesRuleAccount(product_group=rule.product_group, vat_rate=rule.vat_rate, account=rule.account)
        for rule in mapping.sales
    )
    for pos_id, register in registers.items():
        register.cost_center = mapping.cost_centres.get(pos_id)
    session.flush()
    return row
