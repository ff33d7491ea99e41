"""Fuzz targets (atheris); importable so tests can run their properties."""
