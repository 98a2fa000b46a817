"""Synthetic CX data: daily CRM, survey and social files with planted faults and ground truth.

The generator is how the warehouse is demonstrated and tested end to end without real
customers. It simulates customers whose behaviour the marts must be able to find
(loyal, declining, churning, won back; complaints that make detractors; seasonality),
delivers what the source systems would export day by day into a landing zone laid out
as ``config/sources/*.yml`` declares, plants the faults real exports have, and writes a
ground-truth file saying exactly what the loader must load, quarantine or count as
duplicate. Same arguments, same bytes. A large world is simulated in shards of customers, so
memory depends on the shard size, not on the number of customers (1M customers fit in a few GiB).

Public API: :func:`generate`, :func:`write_bulk_orders`, :class:`FaultRates`,
:class:`GenerationSummary`. Nothing is read or written at import time.
"""

from cx_demo.generator.bulk import write_bulk_orders
from cx_demo.generator.faults import FaultRates
from cx_demo.generator.pipeline import GenerationSummary, GeneratorError, generate

__all__ = ["FaultRates", "GenerationSummary", "GeneratorError", "generate", "write_bulk_orders"]
