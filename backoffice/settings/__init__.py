"""A restaurant's settings for booking via Fortnox: the integration card (``views``), the setup
wizard's steps (``wizard``, ``forms``), connecting to Fortnox (``connect``), activating and
deactivating the integration (``operations``), the account mapping page (``accounts``) and
``flask mapping`` (``cli``).

Every one of them acts on what lies below: the mapping (``accounts``), the Fortnox client
(``integrations``), the export queue (``export``) and corrections (``correction``).
"""
