"""The booth's widgets, one per module."""
