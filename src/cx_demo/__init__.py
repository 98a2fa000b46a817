"""The demo: a synthetic year of CRM, survey and social exports with planted faults (generator/),
the pipeline end to end on it through Airflow (``cxw demo``), and the checks against the
generator's ground truth. Development tooling: not part of the runtime package or its image."""
