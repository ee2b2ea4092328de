"""What the registers send and what the manager sees of it: ``POST /api/v1/z-reports`` (``api``)
stores a Z-report once and queues its export job in the same transaction (``operations``,
``statements``); the Z-report list and page (``views``) and ``flask zreport`` (``cli``).

The Z-report document itself (its schema, model, booking core and PDF) is ``zreport``, below the
export; the intake sits above it, because a stored report's first step is the export queue.
"""
