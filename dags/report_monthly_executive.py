"""Monthly CX summary (reports/monthly_executive/report.yml): render, archive, deliver."""

from airflow.sdk import DAG

from cx_warehouse.airflow.report import build_report_dag

report_monthly_executive: DAG = build_report_dag("monthly_executive")
