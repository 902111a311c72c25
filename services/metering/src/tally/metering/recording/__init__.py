"""Recording delivered usage: each event stored once per (producer, event id), rollups kept equal to raw events.

- ``payload``: an event's canonical properties, its fingerprint and its review payload (pure);
- ``rows``: the rows written, as named types (pure);
- ``prepared``: stage one, batches made ready with no database (pure);
- ``usage_recording``: the use case, stage two, one transaction through a ``UsageWriter``;
- ``writer``: that store's interface, with ``sqlite`` and ``postgresql`` its one class per database.
"""
