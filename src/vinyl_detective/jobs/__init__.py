"""The daemon's jobs: poll, refresh prices, clean up, backfill, imports."""
