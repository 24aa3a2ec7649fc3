"""The dashboard's and the metrics endpoint's data: pandas frames read with delta-rs, no Spark."""
