-- Corrections land (issue 12): a re-delivered file supersedes its earlier version, a file in a
-- day's corrections/ folder replaces the rows it names, and rows a re-delivery no longer holds
-- are removed. The load audit says which kind each load was and what it removed, and points an
-- earlier version of a file at the load that replaced it (its quarantined rows are then resolved).

alter table audit.load_audit
    add column delivery_kind text not null default 'delivery'
        constraint load_audit_delivery_kind check (delivery_kind in ('delivery', 'redelivery', 'correction')),
    add column rows_removed bigint not null default 0,
    add column superseded_by uuid;
comment on column audit.load_audit.delivery_kind is
    'delivery: a new file; redelivery: new bytes under a path loaded before (supersedes it); correction: a file in a corrections/ folder.';
comment on column audit.load_audit.rows_removed is
    'Rows of the raw table this load deleted: keys the superseded version of the file held and this version does not.';
comment on column audit.load_audit.superseded_by is
    'The load of a later version of the same file; this version''s quarantined rows no longer stand.';
-- One current version per file: a re-delivery supersedes the earlier one (before its own row
-- goes in), so a file may also go back to bytes it had before.
drop index audit.load_audit_loaded_file;
create unique index load_audit_current_file on audit.load_audit (source, entity, file_path)
    where status = 'loaded' and superseded_by is null;

-- Keys a file holds unchanged while another file's row is stored (a counted duplicate across
-- files). A re-delivery that drops such a key does not remove the row: the other file still
-- holds it and becomes the row's source. Identifiers only: erasure must reach this table too.
create table audit.shared_keys (
    source text not null,
    entity text not null,
    key_values text[] not null,
    file_path text not null,
    load_id uuid not null,
    constraint shared_keys_pkey primary key (load_id, key_values)
);
create index shared_keys_key on audit.shared_keys (source, entity, key_values);
comment on table audit.shared_keys is
    'Keys a loaded file holds as a duplicate of another file''s stored row: which files still hold a row when one is re-delivered without it.';
