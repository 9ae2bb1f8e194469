"""Behavioral data in and out, and published data sets carried with the package."""
