"""The HTTP side: the admin API, the ingest webhook, the Atom feeds and the web dashboard.

`app.py` builds the FastAPI application from the daemon's engine and services; one
`routes_*.py` module per surface (admin JSON, dashboard pages, feeds, health,
webhooks), `schemas.py` for the JSON shapes, `security.py` for the admin token, the
dashboard session and CSRF. Templates and static files sit beside them.

May import: storage, sources, notify, service, jobs, explain, feeds, domain and the
base modules. Imported by: the daemon (which serves it) and the CLI (`serve`).
"""
