"""The transform: the declared step plan (dbt layers and Python models) and how dbt is run."""
