"""Close-the-loop alerts (reports/close_the_loop/report.yml): render, archive, deliver."""

from airflow.sdk import DAG

from cx_warehouse.airflow.report import build_report_dag

report_close_the_loop: DAG = build_report_dag("close_the_loop")
