"""Build the warehouse (dbt layers, Python models, marts) after ingestion."""

from airflow.sdk import DAG

from cx_warehouse.airflow.transform import build_transform_dag

transform_warehouse: DAG = build_transform_dag()
