"""Data-quality gates: Great Expectations suites from ``expectations/`` run against the warehouse.

* :mod:`.specs` reads the hand-written suite and gate files (the reviewable source of truth);
* :mod:`.gates` turns each suite's batch into SQL that Postgres runs, validates it through GX
  Core, applies our severity gating, stores every result in ``audit.quality_*``;
* :mod:`.redact` keeps personal data out of stored results and Data Docs;
* :mod:`.docs` publishes GX Data Docs with every value escaped.

GX is imported inside functions only: DAG files import this package at parse time.
"""
