-- A transform step whose inputs did not change since it last succeeded is skipped (issue 13:
-- a run when nothing new arrived costs next to nothing). Each run records the fingerprint of
-- what the step reads: the project's code and rules, and for steps that read data, the state
-- of the loads. A skipped step is recorded too, so the history shows why nothing was built.

alter table audit.transform_step_runs
    drop constraint transform_step_runs_status_check,
    add constraint transform_step_runs_status_check check (status in ('succeeded', 'failed', 'skipped')),
    add column inputs_fingerprint text;
comment on column audit.transform_step_runs.inputs_fingerprint is
    'sha256 of the step''s inputs (dbt project and analytics code, business rules, dbt vars, target; and for steps that read data, the loaded files). A step is skipped when its last success had the same fingerprint and everything it builds exists.';

alter table audit.transform_step_runs add column code_fingerprint text, add column relations text[];
comment on column audit.transform_step_runs.code_fingerprint is
    'sha256 of the step''s code alone; dbt''s unit tests run when it differs from the last success''s.';
comment on column audit.transform_step_runs.relations is
    'The relations a succeeded run built (schema.name); a later run skips only while they all exist.';
