"""Ingest the survey exports from the landing zone into raw.survey_* (see config/sources/survey.yml)."""

from airflow.sdk import DAG

from cx_warehouse.airflow.ingest import build_ingest_dag

ingest_survey: DAG = build_ingest_dag("survey")
