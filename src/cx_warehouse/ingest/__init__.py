"""Ingestion: source definitions, the landing zone, the loader and its row accounting."""
