"""Benchmarks (``make bench``, BENCHMARKS.md): the loader against bare COPY and dlt, the transform's
daily incremental run against a full refresh, DAG parse times and layer tasks against cosmos.
Development tooling with its own dependency group (bench): not part of the runtime package."""
