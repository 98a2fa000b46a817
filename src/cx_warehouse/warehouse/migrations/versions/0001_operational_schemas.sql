-- The operational schemas as the release before migrations created them at run time
-- (loading.ensure_schema, quality.gates, transform, reports.selections, reports.delivery and
-- analytics.store). Every statement is an "if not exists" form so that a database built by
-- that release is adopted unchanged; versions after this one are plain DDL.
--
-- Not here: the raw.<source>_<entity> tables (generated from config/sources/*.yml by
-- loading.ensure_schema), the analytics.<model output> tables (their columns belong to the
-- Python models, which replace them whole), dbt's schemas and the BI role (bi_access).

create schema if not exists raw;
comment on schema raw is 'Source data as delivered, typed and de-duplicated; one table per source entity.';
create schema if not exists audit;
comment on schema audit is 'Load audit and quarantine: what every landed file became.';
create schema if not exists reports;
create schema if not exists analytics;

-- loading: one row per file, one row per rejected record
create table if not exists audit.load_audit (
    load_id uuid primary key,
    source text not null,
    entity text not null,
    target_table text not null,
    file_path text not null,
    file_size bigint,
    file_sha256 text,
    delivery_date date,
    status text not null check (status in ('loaded', 'failed')),
    rows_read bigint,
    rows_loaded bigint,
    rows_inserted bigint,
    rows_updated bigint,
    rows_quarantined bigint,
    rows_duplicate bigint,
    extra_columns text[],
    parse_mode text,
    duplicate_of text,
    run_id text,
    data_interval_start timestamptz,
    data_interval_end timestamptz,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    duration_ms integer,
    timings_ms jsonb,
    error text,
    constraint load_audit_rows_balance check (
        status <> 'loaded'
        or rows_loaded + rows_quarantined + rows_duplicate = rows_read
    )
);
create unique index if not exists load_audit_loaded_file
    on audit.load_audit (source, entity, file_path, file_sha256) where status = 'loaded';
create index if not exists load_audit_sha on audit.load_audit (file_sha256);
comment on table audit.load_audit is 'One row per attempt to load a landed file: checksum, row accounting, timings, status.';

create table if not exists audit.quarantine (
    quarantine_id bigserial primary key,
    load_id uuid not null,
    source text not null,
    entity text not null,
    file_path text not null,
    line_number bigint,
    reasons text[] not null,
    raw_payload text,
    quarantined_at timestamptz not null default now()
);
create index if not exists quarantine_load on audit.quarantine (load_id);
create index if not exists quarantine_entity on audit.quarantine (source, entity);
comment on table audit.quarantine is 'Rows that failed typing or required fields, with the reasons, file, line and raw payload. Contains personal data: restrict access.';

-- quality gates: validations, expectation outcomes, loads a passing validation has judged
create table if not exists audit.quality_validations (
    validation_id uuid primary key,
    gate text not null,
    gate_run_id uuid not null,
    suite text not null,
    suite_file text,
    run_id text not null,
    batch_scope text not null,
    batch_sql text not null,
    batch_rows bigint,
    covered_load_ids uuid[] not null default '{}',
    parameters jsonb not null,
    expectations integer not null,
    failed_critical integer not null,
    failed_warning integer not null,
    gx_success boolean not null,
    passed boolean not null,
    started_at timestamptz not null,
    duration_ms integer not null
);
create index if not exists quality_validations_suite on audit.quality_validations (suite, started_at desc);
comment on table audit.quality_validations is
    'One row per suite validated by a quality gate run: batch, parameters and the gate decision (passed = no critical failure).';

create table if not exists audit.quality_results (
    validation_id uuid not null references audit.quality_validations on delete cascade,
    expectation_index integer not null,
    gate text not null,
    suite text not null,
    run_id text not null,
    expectation_type text not null,
    column_name text,
    kwargs jsonb not null,
    severity text not null check (severity in ('critical', 'warning')),
    success boolean not null,
    observed_value text,
    element_count bigint,
    unexpected_count bigint,
    unexpected_percent numeric,
    failing_rows jsonb,
    failing_rows_query text,
    exception text,
    notes text,
    validated_at timestamptz not null,
    primary key (validation_id, expectation_index)
);
create index if not exists quality_results_failed on audit.quality_results (suite, validated_at desc) where not success;
comment on table audit.quality_results is
    'One row per expectation per validation: severity, success, observed value and the failing rows (keys, scrubbed values).';

create table if not exists audit.quality_covered_loads (
    suite text not null,
    load_id uuid not null,
    validation_id uuid not null references audit.quality_validations on delete cascade,
    primary key (suite, load_id)
);
comment on table audit.quality_covered_loads is
    'Loads whose rows a passing validation of the suite has judged; new_loads batches skip them.';

-- transform: every outcome of every step, so reports can tell "failed" from "not run yet"
create table if not exists audit.transform_step_runs (
    step text not null,
    status text not null check (status in ('succeeded', 'failed')),
    started_at timestamptz not null,
    seconds numeric(10, 3) not null,
    error text,
    primary key (step, started_at)
);

-- reports: each day's at-risk list (who is new on it), and the outbox against duplicate mail
create table if not exists reports.at_risk_lists (
    list_date date not null,
    customer_id text not null,
    risk_score numeric(6, 4) not null,
    primary key (list_date, customer_id)
);

create table if not exists reports.outbox (
    report_id text not null,
    period_key text not null,
    kind text not null check (kind in ('report', 'delayed', 'alert')),
    recipient text not null,
    status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
    message_id text not null,
    subject text not null,
    archive_path text not null,
    attempts integer not null default 0,
    last_error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    sent_at timestamptz,
    primary key (report_id, period_key, kind, recipient)
);
comment on table reports.outbox is 'One row per report, period, kind and recipient: whether the mail went out. Written before any SMTP traffic, marked sent right after the server accepted the mail.';
