"""Build the dbt project (staging and, later, intermediate and marts) after ingestion."""

from airflow.sdk import DAG

from cx_warehouse.orchestration import build_transform_dag

transform_warehouse: DAG = build_transform_dag()
