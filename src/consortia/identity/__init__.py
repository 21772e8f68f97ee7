"""Organisations, their CAs, member certificates and roles."""
