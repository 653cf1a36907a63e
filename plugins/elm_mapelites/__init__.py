"""elm plugin."""
