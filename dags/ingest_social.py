"""Ingest the social exports from the landing zone into raw.social_* (see config/sources/social.yml)."""

from airflow.sdk import DAG

from cx_warehouse.airflow.ingest import build_ingest_dag

ingest_social: DAG = build_ingest_dag("social")
