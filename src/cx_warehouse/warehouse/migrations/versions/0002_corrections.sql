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
