"""Översikt: the names of a register's day."""

DAY_MISSING = "Saknas"
DAY_NOT_CLOSED = "Inte avslutad"
DAY_WITHOUT_REPORT = "Ingen Z-rapport"

#: Alla restauranger's bulk "Manuell export" with no row chosen.
CHOOSE_RESTAURANT = "Välj minst en restaurang att exportera."
