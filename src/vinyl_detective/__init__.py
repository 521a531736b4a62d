"""Vinyl Detective: finds underpriced records by pricing eBay listings against Discogs."""

__version__ = "0.1.0"
