"""The daemon's jobs: poll, firehose, backfill, the deal pipeline, price refresh, clean-up,
deal watch, imports (dump, wantlist, collection and listening history), the routes (saved
searches with their rules compiled), the scheduler that decides what runs when within the
eBay budget (its planning in schedule_planner, its leases on jobs in job_leases, its run
loop in scheduler, preparing new searches' catalogs in preparation), and how the daemon's
loops run and stop.

Each job is a plain async function or small class over an engine and the clients, so it
runs the same from the daemon, `run --once` and the tests.

May import: storage, sources, notify, events, service, domain and the base modules.
Imported by: explain/feeds/activity, the API, the daemon and the CLI.
"""
