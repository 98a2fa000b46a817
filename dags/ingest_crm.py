"""Ingest the crm exports from the landing zone into raw.crm_* (see config/sources/crm.yml)."""

from airflow.sdk import DAG

from cx_warehouse.airflow.ingest import build_ingest_dag

ingest_crm: DAG = build_ingest_dag("crm")
