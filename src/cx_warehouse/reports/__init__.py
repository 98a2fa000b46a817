"""Stakeholder reports and close-the-loop alerts: definitions in ``reports/``, numbers from the marts.

``definitions`` (report files, periods) -> ``readiness`` (may the report go out?) ->
``data`` (each section's mart rows and charts) -> ``render`` (Jinja2 HTML with autoescape,
PDF, CSV; archived before sending) -> ``delivery`` (SMTP with verified TLS, outbox against
duplicates). ``service`` ties them together for the DAGs and the CLI.
"""
