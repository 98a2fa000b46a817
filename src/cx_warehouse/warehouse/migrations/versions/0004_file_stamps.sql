-- Scale (issue 13): a daily run must not re-read a year of landed files to learn that they are
-- already loaded. The load audit keeps, beside the size it already had, each file's modification
-- time and, on object stores that give one, its version (ETag, VersionId, generation). A file
-- listed with the same size and time (or version) as its loaded version is skipped unopened; any
-- other is hashed, and only other bytes are loaded. Rows written before this version have no
-- time: their files are hashed once more, and the time is recorded then.

alter table audit.load_audit
    add column file_mtime_ns bigint,
    add column file_version text;
comment on column audit.load_audit.file_size is
    'Bytes of the landed file as listed before it was read (compressed bytes for .gz).';
comment on column audit.load_audit.file_mtime_ns is
    'Modification time of the landed file (ns since 1970) as listed before it was read, or as last seen with the same bytes; null when too recent to vouch for them. With file_size (and file_version) it tells a later run the file is unchanged without reading it.';
comment on column audit.load_audit.file_version is
    'The object store''s version of the file (ETag, VersionId or generation, prefixed by its name); null for local files.';

-- A load's work tables (the file as staged text, then typed): unlogged regular tables, so the
-- typing scan can use parallel workers (a temporary table is invisible to them). Each exists only
-- inside the transaction of the load that creates it, under a name of that load, and is dropped
-- before it commits: no other session sees one, and one of a load that died never existed.
create schema if not exists load_stage;
comment on schema load_stage is
    'Work tables of the load in progress (one transaction each); never data: nothing outside a load reads them.';
