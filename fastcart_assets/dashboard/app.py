"""The FastCart dashboard (`fastcart dashboard`): Sales, Customers and Data quality pages."""

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).with_name("pages")

st.set_page_config(page_title="FastCart dashboard", page_icon="🛒", layout="wide")
navigation = st.navigation(
    [
        st.Page(PAGES / "sales.py", title="Sales", icon=":material/payments:", default=True),
        st.Page(PAGES / "customers.py", title="Customers", icon=":material/group:"),
        st.Page(PAGES / "quality.py", title="Data quality", icon=":material/fact_check:"),
    ]
)
navigation.run()
