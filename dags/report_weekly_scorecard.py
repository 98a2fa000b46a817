"""Weekly CX scorecard (reports/weekly_scorecard/report.yml): render, archive, deliver."""

from airflow.sdk import DAG

from cx_warehouse.airflow.report import build_report_dag

report_weekly_scorecard: DAG = build_report_dag("weekly_scorecard")
