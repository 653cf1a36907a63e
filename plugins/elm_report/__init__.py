"""elm report: one self-contained HTML page that shows runs."""
