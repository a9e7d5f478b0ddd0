"""CRPM: customer relationship and product management for small businesses."""

__version__ = "0.1.0"
