"""Customers at risk (reports/daily_at_risk/report.yml): render, archive, deliver."""

from airflow.sdk import DAG

from cx_warehouse.airflow.report import build_report_dag

report_daily_at_risk: DAG = build_report_dag("daily_at_risk")
