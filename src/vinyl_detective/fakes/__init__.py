"""Local fake servers of eBay, Discogs and Telegram, and the demo marketplace's sample data."""
