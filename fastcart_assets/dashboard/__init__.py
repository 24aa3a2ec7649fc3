"""The dashboard (`fastcart dashboard`) and the metrics endpoint (`fastcart metrics`), SPEC.md §9.

`data/` reads the lake, Kafka and the Dagster instance into plain pandas frames (delta-rs and
Arrow, no Spark), testable without Streamlit; `app.py`, `ui.py` and `pages/` are the Streamlit
code; `metrics.py` is the Prometheus exporter.
"""
