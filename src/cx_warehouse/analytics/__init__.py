"""Model outputs computed in Python and written back to the warehouse (schema ``analytics``).

dbt prepares each model's inputs (``intermediate``) and joins its outputs into the marts;
these modules only fit, score and write. They import numpy/scipy, so DAG files import them
inside task bodies, never at parse time.
"""
