"""booking.py: a Z-report becomes one balanced voucher, exactly as zreport-v1.md "How a report is booked" says."""

import dataclasses
import hashlib
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backoffice.accounts.mapping import Mapping, MappingIncompleteError, MissingAccount, SalesRule
from backoffice.messages import mapping_incomplete_message
from backoffice.money import ZERO
from backoffice.zreport.booking import build_voucher, voucher_description
from backoffice.zreport.report import Payment, SalesLine, Tip, balance_sides
from backoffice.zreport.voucher import NothingToBookError, UnbalancedVoucherError
from tests.zreport.factories import contract_example, line, make_report

D = Decimal


def contract_mapping(**overrides) -> Mapping:
    """The example mapping of mapping-v1.md (register K1 on cost centre REST1), with overrides."""
    values = dict(
        voucher_series="F",
        payment_methods={"cash": 1910, "card": 1580, "swish": 1930, "gift_card": 2421},
        vat_rates={D("25"): 2611, D("12"): 2621, D("6"): 2631},
        sales=(
            SalesRule(3052, product_group="Mat"),
            SalesRule(3051, product_group="Dryck"),
            SalesRule(3052, product_group="Dryck", vat_rate=D("12")),
            SalesRule(3053, vat_rate=D("6")),
        ),
        tips=2890,
        rounding=3740,
        cash_difference=3740,
        gift_cards_sold=2421,
        cost_centres={"K1": "REST1"},
    )
    values.update(overrides)
    return Mapping(**values)


def row_tuples(voucher) -> list[tuple[int, str, str, str | None]]:
    return [(row.account, str(row.debit), str(row.credit), row.cost_center) for row in voucher.rows]


# (report, mapping, expected rows as (account, debit, credit, cost centre)), each checked by hand.
WORKED_EXAMPLES = [
    pytest.param(
        contract_example(),
        contract_mapping(),
        [
            (1580, "22390.00", "0.00", None),
            (1910, "2779.79", "0.00", None),
            (2611, "0.00", "1216.00", None),  # 1240.00 − 24.00 returned
            (2621, "0.00", "1976.79", None),
            (2890, "0.00", "640.00", None),
            (3051, "0.00", "4864.00", "REST1"),  # (6200 − 1240) − (120 − 24)
            (3052, "0.00", "16473.21", "REST1"),  # 18450.00 − 1976.79
            (3740, "0.21", "0.00", "REST1"),  # rounding −0.21 is credited, so a debit
        ],
        id="contract-example",
    ),
    pytest.param(
        make_report(
            sales=(line("Dryck", "25", "100.00", "20.00"), line("Mat", "12", "560.00", "60.00")),
            returns=(line("Dryck", "25", "250.00", "50.00"),),
            payments={"card": "410.00"},
        ),
        contract_mapping(),
        [
            (1580, "410.00", "0.00", None),
            (2611, "30.00", "0.00", None),  # −20 + 50: more VAT returned than sold
            (2621, "0.00", "60.00", None),
            (3051, "120.00", "0.00", "REST1"),  # −80 + 200
            (3052, "0.00", "500.00", "REST1"),
        ],
        id="returns-exceed-sales",
    ),
    pytest.param(
        make_report(
            sales=(line("Mat", "12", "1120.00", "120.00"), line("Mat", "6", "530.00", "30.00")),
            payments={"card": "1650.00"},
        ),
        contract_mapping(),
        [
            (1580, "1650.00", "0.00", None),
            (2621, "0.00", "120.00", None),
            (2631, "0.00", "30.00", None),
            (3052, "0.00", "1500.00", "REST1"),  # the group rule "Mat" beats the rate rule "6"
        ],
        id="one-group-two-rates-group-rule-beats-rate-rule",
    ),
    pytest.param(
        make_report(
            sales=(line("Dryck", "12", "224.00", "24.00"), line("Dryck", "25", "125.00", "25.00")),
            payments={"card": "349.00"},
        ),
        contract_mapping(),
        [
            (1580, "349.00", "0.00", None),
            (2611, "0.00", "25.00", None),
            (2621, "0.00", "24.00", None),
            (3051, "0.00", "100.00", "REST1"),  # Dryck alone
            (3052, "0.00", "200.00", "REST1"),  # (Dryck, 12) beats Dryck alone
        ],
        id="one-group-two-rates-group-and-rate-rule-beats-group-rule",
    ),
    pytest.param(
        make_report(sales=(line("Glass", "6", "106.00", "6.00"),), payments={"swish": "106.00"}),
        contract_mapping(),
        [
            (1930, "106.00", "0.00", None),
            (2631, "0.00", "6.00", None),
            (3053, "0.00", "100.00", "REST1"),  # only the rule for rate 6 matches
        ],
        id="vat-rate-only-rule",
    ),
    pytest.param(
        make_report(
            sales=(line("Mat", "12", "300.00", "32.14"),),
            payments={"card": "500.00", "gift_card": "300.00"},
            gift_cards_sold="500.00",
        ),
        contract_mapping(),
        [
            (1580, "500.00", "0.00", None),
            (2421, "0.00", "200.00", None),  # 300 redeemed (debit) − 500 sold (credit)
            (2621, "0.00", "32.14", None),
            (3052, "0.00", "267.86", "REST1"),
        ],
        id="gift-cards-sold-and-redeemed-same-day",
    ),
    pytest.param(
        make_report(sales=(line("Mat", "12", "100.40", "10.76"),), payments={"cash": "100.00"}, rounding="-0.40"),
        contract_mapping(),
        [
            (1910, "100.00", "0.00", None),
            (2621, "0.00", "10.76", None),
            (3052, "0.00", "89.64", "REST1"),
            (3740, "0.40", "0.00", "REST1"),
        ],
        id="rounding-down-is-a-debit",
    ),
    pytest.param(
        make_report(sales=(line("Mat", "12", "99.60", "10.67"),), payments={"cash": "100.00"}, rounding="0.40"),
        contract_mapping(),
        [
            (1910, "100.00", "0.00", None),
            (2621, "0.00", "10.67", None),
            (3052, "0.00", "88.93", "REST1"),
            (3740, "0.00", "0.40", "REST1"),
        ],
        id="rounding-up-is-a-credit",
    ),
    pytest.param(
        make_report(
            sales=(line("Mat", "12", "1000.70", "107.22"),),
            payments={"cash": "501.00", "card": "500.00"},
            rounding="0.30",
            cash_difference="-50.00",
        ),
        contract_mapping(),
        [
            (1580, "500.00", "0.00", None),
            (1910, "451.00", "0.00", None),  # 501.00 expected cash − 50.00 missing
            (2621, "0.00", "107.22", None),
            (3052, "0.00", "893.48", "REST1"),
            (3740, "49.70", "0.00", "REST1"),  # +50.00 shortage − 0.30 rounding, one row
        ],
        id="cash-difference-merged-with-rounding-on-3740",
    ),
    pytest.param(
        make_report(
            sales=(line("Mat", "12", "112.00", "12.00"),), payments={"cash": "112.00"}, cash_difference="20.00"
        ),
        contract_mapping(cash_difference=3990),
        [
            (1910, "132.00", "0.00", None),
            (2621, "0.00", "12.00", None),
            (3052, "0.00", "100.00", "REST1"),
            (3990, "0.00", "20.00", "REST1"),
        ],
        id="cash-surplus-on-its-own-account",
    ),
    pytest.param(
        make_report(
            register_id="K2",
            sales=(line("Mat", "12", "99.60", "10.67"),),
            payments={"cash": "100.00"},
            rounding="0.40",
        ),
        contract_mapping(),
        [
            (1910, "100.00", "0.00", None),
            (2621, "0.00", "10.67", None),
            (3052, "0.00", "88.93", None),
            (3740, "0.00", "0.40", None),
        ],
        id="register-without-cost-centre",
    ),
    pytest.param(
        make_report(
            sales=(line("Tidning", "0", "50.00", "0.00"), line("Mat", "12", "112.00", "12.00")),
            payments={"swish": "162.00"},
        ),
        contract_mapping(sales=(SalesRule(3052, product_group="Mat"), SalesRule(3004, vat_rate=D("0")))),
        [
            (1930, "162.00", "0.00", None),
            (2621, "0.00", "12.00", None),
            (3004, "0.00", "50.00", "REST1"),  # 0 % needs no VAT account
            (3052, "0.00", "100.00", "REST1"),
        ],
        id="zero-percent-vat-line",
    ),
    pytest.param(
        make_report(
            sales=(line("Mat", "12", "112.00", "12.00"),),
            payments={"card": "112.00", "invoice": "0.00"},
        ),
        contract_mapping(),
        [
            (1580, "112.00", "0.00", None),
            (2621, "0.00", "12.00", None),
            (3052, "0.00", "100.00", "REST1"),
        ],
        id="zero-payment-needs-no-account",
    ),
    pytest.param(
        make_report(
            sales=(line("Mat", "12", "12345678.90", "1322751.31"), line("Dryck", "25", "9876543.21", "1975308.64")),
            payments={"card": "20000000.00", "cash": "2222222.11"},
        ),
        contract_mapping(),
        [
            (1580, "20000000.00", "0.00", None),
            (1910, "2222222.11", "0.00", None),
            (2611, "0.00", "1975308.64", None),
            (2621, "0.00", "1322751.31", None),
            (3051, "0.00", "7901234.57", "REST1"),
            (3052, "0.00", "11022927.59", "REST1"),
        ],
        id="amounts-in-the-millions",
    ),
    pytest.param(
        make_report(
            sales=(
                line("Dryck", "25", "250.00", "50.00"),
                line("Mat", "12", "560.00", "60.00"),
                line("Bröd", "6", "106.00", "6.00"),
            ),
            payments={"card": "700.00", "swish": "216.00"},
        ),
        contract_mapping(),
        [
            (1580, "700.00", "0.00", None),
            (1930, "216.00", "0.00", None),
            (2611, "0.00", "50.00", None),
            (2621, "0.00", "60.00", None),
            (2631, "0.00", "6.00", None),
            (3051, "0.00", "200.00", "REST1"),
            (3052, "0.00", "500.00", "REST1"),
            (3053, "0.00", "100.00", "REST1"),
        ],
        id="25-12-and-6-percent-in-one-report",
    ),
    pytest.param(
        make_report(
            sales=(line("Mat", "12", "1120.00", "120.00"),),
            payments={"card": "1170.00"},
            tips={"card": "40.00", "cash": "10.00"},
        ),
        contract_mapping(),
        [
            (1580, "1170.00", "0.00", None),
            (2621, "0.00", "120.00", None),
            (2890, "0.00", "50.00", None),  # tips of every method on one liability
            (3052, "0.00", "1000.00", "REST1"),
        ],
        id="tips-of-two-methods-summed",
    ),
    pytest.param(
        # A mostly-card day with a cash refund: cash nets negative, a credit row on the cash account.
        make_report(
            sales=(line("Mat", "12", "1120.00", "120.00"),),
            returns=(line("Mat", "12", "224.00", "24.00"),),
            payments={"card": "1120.00", "cash": "-224.00"},
        ),
        contract_mapping(),
        [
            (1580, "1120.00", "0.00", None),
            (1910, "0.00", "224.00", None),  # −224 cash: a credit
            (2621, "0.00", "96.00", None),  # 120 − 24
            (3052, "0.00", "800.00", "REST1"),  # 1000 − 200
        ],
        id="negative-cash-is-a-credit-row",
    ),
    pytest.param(
        # A catering order refunded to card on a slow day: card nets negative.
        make_report(
            sales=(line("Mat", "12", "336.00", "36.00"),),
            returns=(line("Mat", "12", "2240.00", "240.00"),),
            payments={"card": "-2000.00", "cash": "96.00"},
        ),
        contract_mapping(),
        [
            (1580, "0.00", "2000.00", None),
            (1910, "96.00", "0.00", None),
            (2621, "204.00", "0.00", None),  # −36 + 240
            (3052, "1700.00", "0.00", "REST1"),  # −300 + 2000
        ],
        id="negative-card-is-a-credit-row",
    ),
    pytest.param(
        # Card tips of 800 taken out of the till: the tips liability is settled and cash goes down,
        # outside the balance rule; nothing lands on 3740.
        make_report(
            sales=(line("Mat", "12", "11200.00", "1200.00"),),
            payments={"card": "9800.00", "cash": "2200.00"},
            tips={"card": "800.00"},
            tips_paid_out_cash="800.00",
        ),
        contract_mapping(),
        [
            (1580, "9800.00", "0.00", None),
            (1910, "1400.00", "0.00", None),  # 2200 − 800 paid out
            (2621, "0.00", "1200.00", None),
            (3052, "0.00", "10000.00", "REST1"),  # 2890: −800 tips + 800 paid out = no row
        ],
        id="card-tips-paid-out-in-cash",
    ),
    pytest.param(
        # Paid out more than the day's card tips (yesterday's too): the liability is debited.
        make_report(
            sales=(line("Mat", "12", "1120.00", "120.00"),),
            payments={"card": "1220.00"},
            tips={"card": "100.00"},
            tips_paid_out_cash="300.00",
        ),
        contract_mapping(),
        [
            (1580, "1220.00", "0.00", None),
            (1910, "0.00", "300.00", None),
            (2621, "0.00", "120.00", None),
            (2890, "200.00", "0.00", None),  # −100 + 300
            (3052, "0.00", "1000.00", "REST1"),
        ],
        id="tips-paid-out-beyond-the-days-tips",
    ),
]


@pytest.mark.parametrize(("report", "mapping", "expected"), WORKED_EXAMPLES)
def test_worked_example_books_exactly_the_hand_checked_rows(report, mapping, expected):
    assert balance_sides(report)[0] == balance_sides(report)[1], "the example itself must be contract-valid"
    voucher = build_voucher(report, mapping, company_name="Krogen AB")
    assert row_tuples(voucher) == expected
    assert voucher.debit_total == voucher.credit_total


def test_voucher_is_dated_business_date_in_the_mapping_series():
    voucher = build_voucher(contract_example(), contract_mapping(voucher_series="Z"), company_name="Krogen AB")
    assert (voucher.transaction_date, voucher.series) == (date(2026, 11, 20), "Z")


def test_every_row_names_its_sources_in_its_transaction_information():
    voucher = build_voucher(contract_example(), contract_mapping(), company_name="Krogen AB")
    assert [(row.account, row.transaction_information) for row in voucher.rows] == [
        (1580, "Kort"),
        (1910, "Kontant"),
        (2611, "Moms 25 %"),
        (2621, "Moms 12 %"),
        (2890, "Dricks"),
        (3051, "Dryck 25 %"),
        (3052, "Mat 12 %"),
        (3740, "Öresavrundning"),
    ]


def test_a_row_netting_several_sources_names_each_once_in_posting_order():
    report = make_report(
        sales=(line("Mat", "12", "112.00", "12.00"), line("Dryck", "12", "56.00", "6.00")),
        returns=(line("Mat", "12", "11.20", "1.20"),),
        payments={"cash": "157.00", "swish": "0.00", "Lunchkort": "0.00"},
        rounding="0.20",
        cash_difference="-3.00",
        tips_paid_out_cash="0.00",
    )
    voucher = build_voucher(report, contract_mapping(cash_difference=3740), company_name="Krogen AB")
    texts = {row.account: row.transaction_information for row in voucher.rows}
    assert texts[1910] == "Kontant, Kassadifferens"
    assert texts[2621] == "Moms 12 %"
    assert texts[3052] == "Mat 12 %, Dryck 12 %"  # Dryck at 12 % goes to 3052 too; the return is Mat again
    assert texts[3740] == "Kassadifferens, Öresavrundning"


def test_row_texts_of_an_odd_payment_method_and_many_groups_fit_100_characters():
    groups = [f"Varugrupp nummer {n}" for n in range(12)]
    report = make_report(
        sales=tuple(line(group, "25", "125.00", "25.00") for group in groups),
        payments={"Rikskortet 🎫": str(125 * len(groups)) + ".00"},
    )
    mapping = contract_mapping(payment_methods={"Rikskortet 🎫": 1581}, sales=(SalesRule(3001, vat_rate=D("25")),))
    voucher = build_voucher(report, mapping, company_name="Krogen AB")
    texts = {row.account: row.transaction_information for row in voucher.rows}
    assert texts[1581] == "Rikskortet 🎫"
    assert len(texts[3001]) == 100 and texts[3001].startswith("Varugrupp nummer 0 25 %, Varugrupp nummer 1 25 %, ")
    assert texts[3001].endswith("…")


def test_contract_example_sentence_names_every_missing_part():
    mapping = contract_mapping(
        payment_methods={"cash": 1910, "card": 1580},
        vat_rates={D("25"): 2611, D("12"): 2621},
        sales=(SalesRule(3052, product_group="Mat"),),
    )
    report = make_report(
        sales=(line("Glass", "6", "106.00", "6.00"), line("Mat", "12", "112.00", "12.00")),
        payments={"swish": "106.00", "card": "112.00"},
    )
    with pytest.raises(MappingIncompleteError) as caught:
        build_voucher(report, mapping, company_name="Krogen AB")
    assert caught.value.missing == (
        MissingAccount("payment_method", "swish"),
        MissingAccount("vat_rate", vat_rate=D("6")),
        MissingAccount("sales", "Glass", D("6")),
    )
    assert mapping_incomplete_message(caught.value) == (
        'Bokföringen kunde inte exporteras: konto saknas för betalningsmetod "swish", momssats 6 %, '
        'varugrupp "Glass" (6 %).'
    )


def test_an_empty_mapping_lists_every_missing_part_once_in_a_stable_order():
    report = make_report(
        sales=(line("Mat", "12", "112.00", "12.00"), line("Dryck", "25", "125.00", "25.00")),
        returns=(line("Dryck", "25", "25.00", "5.00"),),
        payments={"swish": "300.00", "card": "200.00", "cash": "-0.30"},
        tips={"card": "88.00"},
        gift_cards_sold="200.00",
        rounding="0.70",
        cash_difference="-5.00",
    )
    empty = Mapping(voucher_series="F", payment_methods={}, vat_rates={}, sales=())
    with pytest.raises(MappingIncompleteError) as caught:
        build_voucher(report, empty, company_name="Krogen AB")
    assert caught.value.missing == (
        MissingAccount("payment_method", "card"),
        MissingAccount("payment_method", "cash"),
        MissingAccount("payment_method", "swish"),
        MissingAccount("vat_rate", vat_rate=D("12")),
        MissingAccount("vat_rate", vat_rate=D("25")),
        MissingAccount("sales", "Dryck", D("25")),
        MissingAccount("sales", "Mat", D("12")),
        MissingAccount("tips"),
        MissingAccount("rounding"),
        MissingAccount("cash_difference"),
        MissingAccount("gift_cards_sold"),
    )
    assert mapping_incomplete_message(caught.value) == (
        'Bokföringen kunde inte exporteras: konto saknas för betalningsmetod "card", betalningsmetod "cash", '
        'betalningsmetod "swish", momssats 12 %, momssats 25 %, varugrupp "Dryck" (25 %), varugrupp "Mat" (12 %), '
        "dricks, öresavrundning, kassadifferens, sålda presentkort."
    )


def test_a_cash_difference_without_cash_payments_still_needs_the_cash_account():
    mapping = contract_mapping(payment_methods={"card": 1580}, cash_difference=None)
    report = make_report(
        sales=(line("Mat", "12", "112.00", "12.00"),), payments={"card": "112.00"}, cash_difference="1.00"
    )
    with pytest.raises(MappingIncompleteError) as caught:
        build_voucher(report, mapping, company_name="Krogen AB")
    assert caught.value.missing == (MissingAccount("payment_method", "cash"), MissingAccount("cash_difference"))


def test_parts_with_zero_amounts_need_no_account():
    mapping = Mapping(
        voucher_series="F",
        payment_methods={"card": 1580},
        vat_rates={D("12"): 2621},
        sales=(SalesRule(3052, product_group="Mat"),),
    )
    report = make_report(
        sales=(line("Mat", "12", "112.00", "12.00"), line("Glass", "6", "0.00", "0.00")),
        returns=(line("Dryck", "25", "0.00", "0.00"),),
        payments={"card": "112.00", "swish": "0.00"},
        tips={"card": "0.00"},
    )
    voucher = build_voucher(report, mapping, company_name="Krogen AB")
    assert [row.account for row in voucher.rows] == [1580, 2621, 3052]


def test_a_report_that_breaks_the_balance_rule_raises_unbalanced_voucher_error():
    report = make_report(sales=(line("Mat", "12", "112.00", "12.00"),), payments={"card": "150.00"})
    with pytest.raises(UnbalancedVoucherError) as caught:
        build_voucher(report, contract_mapping(), company_name="Krogen AB")
    assert (caught.value.debit_total, caught.value.credit_total) == (D("150.00"), D("112.00"))


@pytest.mark.parametrize(
    "report",
    [
        pytest.param(make_report(sales=(line("Mat", "12", "0.00", "0.00"),)), id="day-without-sales"),
        pytest.param(
            make_report(sales=(line("Mat", "12", "112.00", "12.00"),), returns=(line("Mat", "12", "112.00", "12.00"),)),
            id="returns-cancel-sales",
        ),
    ],
)
def test_a_report_whose_accounts_all_net_to_zero_has_nothing_to_book(report):
    with pytest.raises(NothingToBookError) as caught:
        build_voucher(report, contract_mapping(), company_name="Krogen AB")
    assert caught.value.description == "Z-rapport 1042 Kassa 1 (K1) 2026-11-20 · Krogen AB"


# --- The voucher description -------------------------------------------------------------------


def test_description_names_z_number_register_date_and_company():
    voucher = build_voucher(contract_example(), contract_mapping(), company_name="Krogen AB")
    assert voucher.description == "Z-rapport 1042 Kassa 1 (K1) 2026-11-20 · Krogen AB"
    assert voucher_description(contract_example(), "Krogen AB") == voucher.description


def test_description_carries_the_registers_serial_number_when_the_report_has_one():
    report = make_report(serial_number="CR-00017")
    assert voucher_description(report, "Krogen AB") == "Z-rapport 1042 Kassa 1 (K1, CR-00017) 2026-11-20 · Krogen AB"


def test_a_long_description_never_shortens_the_serial_number():
    report = make_report(register_id="R" * 40, register_name="N" * 80, serial_number="S" * 80, z_number=10**9)
    description = voucher_description(report, "Restaurang " * 20)
    assert len(description) == 200
    assert f"({'R' * 40}, {'S' * 80}) 2026-11-20 · " in description


def test_without_a_company_name_the_description_ends_after_the_date():
    assert voucher_description(contract_example(), "") == "Z-rapport 1042 Kassa 1 (K1) 2026-11-20"


def test_a_description_of_exactly_200_characters_is_not_shortened():
    base = len(voucher_description(contract_example(), "K"))
    company = "K" * (201 - base)
    assert voucher_description(contract_example(), company).endswith(" · " + company)


def test_a_long_description_shortens_names_and_keeps_z_number_register_id_and_date():
    report = make_report(register_id="R" * 40, register_name="Kassan vid entrén " * 5, z_number=987654321)
    company = "Restaurang Krogen i Gamla stan Aktiebolag " * 6
    description = voucher_description(report, company)
    full = f"Z-rapport 987654321 {report.register.name} ({'R' * 40}) 2026-11-20 · {company}"
    assert len(description) == 200
    assert description.startswith("Z-rapport 987654321 Kassan vid entrén")
    assert f"… ({'R' * 40}) 2026-11-20 · Restaurang Krogen" in description
    assert description.endswith("… #" + hashlib.sha256(full.encode()).hexdigest()[:8])


def test_shortened_descriptions_of_companies_with_the_same_long_prefix_differ():
    report = make_report(register_name="Bar")
    prefix = "Restaurangbolaget " * 12
    first = voucher_description(report, prefix + "Norr AB")
    second = voucher_description(report, prefix + "Söder AB")
    assert len(first) <= 200 and len(second) <= 200
    assert first != second


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=300)


@given(
    register_id=st.text(min_size=1, max_size=40),
    register_name=st.text(min_size=1, max_size=80),
    company=texts,
    z_number=st.integers(min_value=1, max_value=10**9),
)
def test_description_always_fits_200_and_keeps_z_number_register_id_and_date(
    register_id, register_name, company, z_number
):
    report = make_report(register_id=register_id, register_name=register_name, z_number=z_number)
    description = voucher_description(report, company)
    assert 1 <= len(description) <= 200
    assert description.startswith(f"Z-rapport {z_number} ")
    assert f" ({register_id}) 2026-11-20 · " in description
    assert description == voucher_description(report, company), "the engine finds vouchers by this text"


@given(company=texts, other=texts, z_number=st.integers(min_value=1, max_value=10**6))
def test_different_companies_get_different_descriptions(company, other, z_number):
    assume(company != other)
    report = make_report(z_number=z_number)
    assert voucher_description(report, company) != voucher_description(report, other)


# --- Properties over contract-valid reports and complete mappings -------------------------------

GROUPS = ("Mat", "Dryck", "Glass", "Bröd", "Övrigt")
RATES = (D("25"), D("12"), D("6"), D("0"), D("12.5"))
METHODS = ("cash", "card", "swish", "gift_card", "invoice")
# A small pool, so that parts often share an account and rows must merge.
ACCOUNTS = (1580, 1910, 1930, 2421, 2611, 2621, 2890, 3001, 3002, 3051, 3740, 6991)

ore = st.integers(min_value=0, max_value=5_000_000_00).map(lambda cents: D(cents) / 100)
signed_ore = st.integers(min_value=-2_000_00, max_value=2_000_00).map(lambda cents: D(cents) / 100)


@st.composite
def sales_lines(draw):
    rate = draw(st.sampled_from(RATES))
    gross = draw(ore)
    vat = ZERO if rate == 0 else draw(st.integers(0, int(gross * 100)).map(lambda cents: D(cents) / 100))
    return SalesLine(draw(st.sampled_from(GROUPS)), rate, gross, vat, draw(st.integers(0, 500)))


@st.composite
def reports(draw):
    """Contract-valid reports: amounts in öre, vat ≤ gross, one payment per method, balanced."""
    sales = tuple(draw(st.lists(sales_lines(), max_size=8)))
    returns = tuple(draw(st.lists(sales_lines(), max_size=3)))
    tips = tuple(Tip(method, draw(ore)) for method in draw(st.lists(st.sampled_from(METHODS), max_size=2)))
    gift_cards_sold = draw(st.one_of(st.just(ZERO), ore))
    rounding = draw(st.integers(-99, 99).map(lambda cents: D(cents) / 100))
    methods = draw(st.lists(st.sampled_from(METHODS), min_size=1, max_size=len(METHODS), unique=True))
    amounts = [draw(st.one_of(st.just(ZERO), ore)) for _ in methods[1:]]
    report = make_report(register_id=draw(st.sampled_from(("K1", "K2"))), cash_difference="0.00")
    report = dataclasses.replace(
        report,
        sales=sales,
        returns=returns,
        tips=tips,
        gift_cards_sold=gift_cards_sold,
        rounding=rounding,
        cash_difference=draw(st.one_of(st.just(ZERO), signed_ore)),
        payments=(),
    )
    _, due = balance_sides(report)
    # The first method takes what is left, which is negative when refunds exceed the day's takings.
    first = due - sum(amounts, ZERO)
    payments = tuple(Payment(method, amount) for method, amount in zip(methods, [first, *amounts], strict=True))
    return dataclasses.replace(report, payments=payments)


@st.composite
def complete_mappings(draw):
    """Mappings with an account for every part the generated reports can have."""
    account = st.sampled_from(ACCOUNTS)
    rules = [SalesRule(draw(account), vat_rate=rate) for rate in RATES]  # every line has a match
    rules += [SalesRule(draw(account), product_group=group) for group in draw(st.sets(st.sampled_from(GROUPS)))]
    pairs = draw(st.sets(st.tuples(st.sampled_from(GROUPS), st.sampled_from(RATES)), max_size=6))
    rules += [SalesRule(draw(account), product_group=group, vat_rate=rate) for group, rate in pairs]
    return Mapping(
        voucher_series="F",
        payment_methods={method: draw(account) for method in METHODS},
        vat_rates={rate: draw(account) for rate in RATES},
        sales=tuple(draw(st.permutations(rules))),
        tips=draw(account),
        rounding=draw(account),
        cash_difference=draw(account),
        gift_cards_sold=draw(account),
        cost_centres=draw(st.sampled_from(({}, {"K1": "REST1"}, {"K1": "REST1", "K2": "BAR"}))),
    )


def expected_nets(report, mapping) -> dict[int, Decimal]:
    """The contract's table, recomputed simply: the signed net per account, zeros left out."""

    def sales_account(group, rate):
        for wanted in ((group, rate), (group, None), (None, rate)):
            for rule in mapping.sales:
                if (rule.product_group, rule.vat_rate) == wanted:
                    return rule.account
        raise AssertionError("the generated mapping is complete")

    nets: dict[int, Decimal] = defaultdict(Decimal)
    for payment in report.payments:
        nets[mapping.payment_methods[payment.method]] += payment.amount
    nets[mapping.payment_methods["cash"]] += report.cash_difference
    nets[mapping.cash_difference] -= report.cash_difference
    for sign, lines in ((-1, report.sales), (1, report.returns)):
        for sales_line in lines:
            nets[sales_account(sales_line.product_group, sales_line.vat_rate)] += sign * (
                sales_line.gross - sales_line.vat
            )
            nets[mapping.vat_rates[sales_line.vat_rate]] += sign * sales_line.vat
    for tip in report.tips:
        nets[mapping.tips] -= tip.amount
    nets[mapping.gift_cards_sold] -= report.gift_cards_sold
    nets[mapping.rounding] -= report.rounding
    return {account: net for account, net in nets.items() if net != 0}


def book_or_nothing(report, mapping):
    try:
        return build_voucher(report, mapping, company_name="Krogen AB")
    except NothingToBookError:
        assert expected_nets(report, mapping) == {}
        return None


@settings(max_examples=150)
@given(reports(), complete_mappings())
def test_every_voucher_balances_exactly(report, mapping):
    voucher = book_or_nothing(report, mapping)
    if voucher is not None:
        assert voucher.debit_total == voucher.credit_total


@settings(max_examples=150)
@given(reports(), complete_mappings())
def test_every_amount_lands_on_the_account_the_mapping_names(report, mapping):
    voucher = book_or_nothing(report, mapping)
    booked: dict[int, Decimal] = defaultdict(Decimal)
    for row in voucher.rows if voucher else ():
        booked[row.account] += row.debit - row.credit
    assert dict(booked) == expected_nets(report, mapping)


@settings(max_examples=150)
@given(reports(), complete_mappings())
def test_rows_are_one_sided_non_negative_unique_and_sorted(report, mapping):
    voucher = book_or_nothing(report, mapping)
    assume(voucher is not None)
    for row in voucher.rows:
        assert row.debit >= 0 and row.credit >= 0
        assert (row.debit == 0) != (row.credit == 0)
        assert row.debit.as_tuple().exponent == -2 and row.credit.as_tuple().exponent == -2
    keys = [(row.account, row.cost_center) for row in voucher.rows]
    assert len(keys) == len(set(keys))
    assert [row.account for row in voucher.rows] == sorted(row.account for row in voucher.rows)


@settings(max_examples=150)
@given(reports(), complete_mappings())
def test_the_register_cost_centre_is_on_result_accounts_only(report, mapping):
    voucher = book_or_nothing(report, mapping)
    assume(voucher is not None)
    cost_centre = mapping.cost_centres.get(report.register.id)
    for row in voucher.rows:
        assert row.cost_center == (cost_centre if 3000 <= row.account <= 8999 else None)


@settings(max_examples=150)
@given(reports(), complete_mappings(), st.sampled_from(METHODS))
def test_an_unmapped_payment_method_is_missing_exactly_when_its_amount_is_not_zero(report, mapping, method):
    incomplete = dataclasses.replace(
        mapping, payment_methods={m: a for m, a in mapping.payment_methods.items() if m != method}
    )
    needed = any(p.method == method and p.amount != 0 for p in report.payments) or (
        method == "cash" and report.cash_difference != 0
    )
    try:
        build_voucher(report, incomplete, company_name="Krogen AB")
    except MappingIncompleteError as error:
        assert needed
        assert error.missing == (MissingAccount("payment_method", method),)
    except NothingToBookError:
        assert not needed
    else:
        assert not needed
