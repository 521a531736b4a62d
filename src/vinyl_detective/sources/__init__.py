"""Clients for the outside services: eBay (listings), Discogs (catalog and prices), the
Discogs data dump and Spotify exports, with their rate limiting.

Each client speaks one service's HTTP API through httpx and turns its answers into
domain objects; errors become the project's errors (errors.py) with a message a user can
act on.
The plain facts about eBay's sites and categories are in `domain/ebay_sites.py`.

May import: domain and the base modules (never storage). Imported by: fakes (for shared
facts), notify, service, jobs, the daemon and the CLI.
"""
