"""The industry applications: each a contract on the SDK, with its CLI and queries."""
