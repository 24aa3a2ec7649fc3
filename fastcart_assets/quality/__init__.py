"""Data quality as numbers: rule rates per partition, their severities and where they land."""
