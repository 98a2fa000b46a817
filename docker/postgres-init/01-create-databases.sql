-- Runs once, when the postgres container starts on an empty data volume (the image runs
-- /docker-entrypoint-initdb.d/* as POSTGRES_USER, who therefore owns both databases).
-- cx: the warehouse (CX_WAREHOUSE_URL); airflow: Airflow's metadata database
-- (AIRFLOW__DATABASE__SQL_ALCHEMY_CONN). Kept apart so `airflow db reset` or a warehouse
-- rebuild never touches the other.
select format('create database %I', wanted.name)
from (values ('cx'), ('airflow')) as wanted (name)
where not exists (select from pg_database where datname = wanted.name)
\gexec
