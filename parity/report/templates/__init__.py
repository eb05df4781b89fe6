"""The HTML report template (jinja2), package data of parity.report."""
