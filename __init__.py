"""Leadwire: an open-source lead marketplace and lead-management platform."""

__version__ = "0.1.0"
