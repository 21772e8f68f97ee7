"""Consortia: a consortium blockchain platform with the industry applications built in."""

__version__ = "0.1.0"
