"""Local fake servers of eBay, Discogs and Telegram, and the demo marketplace's sample data.

One package a fake (`ebay/`, `discogs/`, `telegram/`: each `__init__` says what lives
where), the sample market (`sample_data/`), the failures the fakes can be told to make
(`faults.py`), a synthetic Discogs dump (`dump_generator.py`) and the loopback server
that serves any of them on a port (`server.py`). They answer as the real services do
(paths, fields, error bodies, rate-limit headers), so the tests, the demo and the
benchmarks never reach the internet.

May import: the layers below (domain for normalising, sources for shared facts such as
eBay's sites), never the daemon. Imported by: tests, benchmarks, the demo and the CLI
(`vinyl-detective fakes`).
"""
