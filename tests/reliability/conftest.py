"""The reliability suite reuses the export tests' fixtures: a restaurant on its own emulator tenant."""

from tests.export.conftest import restaurant  # noqa: F401
