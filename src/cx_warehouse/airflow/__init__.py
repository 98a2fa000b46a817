"""Airflow glue: Assets, DAG factories (one module per DAG kind) and the local Airflow environment.

Imported by the files in ``dags/`` at parse time: only ``airflow.sdk`` and small YAML reads at module level."""
