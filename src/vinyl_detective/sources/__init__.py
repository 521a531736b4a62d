"""Clients for the outside services: eBay (listings), Discogs (catalog and prices)."""
