"""The admin HTTP API, the ingest webhook and the web dashboard."""
