"""Ekonomi → Redovisning: cost centres and the settings file."""

BAD_COST_CENTER = "En kod har 1–6 tecken: bokstäver, siffror, - och _."
COST_CENTERS_SAVED = "Kostnadsställena är sparade."
NOTHING_TO_EXPORT = "Det finns inga inställningar att exportera ännu. Aktivera integrationen med Fortnox först."
CHOOSE_FILE = "Välj en fil att importera."
NOT_MAPPING_V1 = "Filen är inte en giltig mapping/v1-fil:"
IMPORTED = "Inställningarna är importerade."


def not_json(error: object) -> str:
    return f"Filen är inte en giltig JSON-fil: {error}"


def unknown_registers(register_ids) -> str:
    return "Filen anger kostnadsställen för kassor som företaget inte har: " + ", ".join(register_ids) + "."


LONE_SURROGATE = "Filen innehåller tecken som inte är giltig Unicode (ett ensamt surrogattecken)."


def nothing_to_copy(restaurant: str) -> str:
    """"Kopiera från en annan restaurang" from one whose settings are not made yet."""
    return f"{restaurant} har inga inställningar att kopiera ännu."


def from_file(file_name: str) -> str:
    """Where an import's settings come from, in the preview's sentence: ``filen krogen.json``."""
    return f"filen {file_name}"


def from_restaurant(restaurant: str) -> str:
    """``restaurangen Krogen``."""
    return f"restaurangen {restaurant}"
