"""The analytics engine: sales reports over the store, computed by DuckDB.

- `mirror`: DuckDB's copy of what the reports read, its columns declared once, and its sync.
- `reports`: `Analytics`, one method per report, running the files in sql/analytics/ on the
  synced mirror.
- `periods`: date ranges (`DateRange`, days and presets) and a trend's periods filled in.
- `rfm`: recency, frequency and monetary scores and segments.
- `output`: the reports as the CLI, the API and the dashboard give them out.
"""

from crpm.analytics.periods import DateRange
from crpm.analytics.reports import Analytics, SalesSummary

__all__ = ["Analytics", "DateRange", "SalesSummary"]
