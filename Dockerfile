# Vinyl Detective in a container: `docker build -t vinyl-detective .`, then
#   docker run -d -p 127.0.0.1:8600:8600 -v vinyl-data:/data --env-file .env vinyl-detective
# With no keys in the environment it runs the demo marketplace. compose.yaml runs it too.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Every dependency ships wheels for this platform: no compiler needed.
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install '.[postgres]' && rm -rf /app

# An unprivileged user that owns only the data directory.
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin vinyl \
    && mkdir -p /data && chown vinyl:vinyl /data
USER vinyl
WORKDIR /data
VOLUME ["/data"]

# The database (SQLite, unless DATABASE_URL says otherwise) lives in the volume, and the
# admin API and dashboard listen on every interface of the container, port 8600.
ENV DATABASE_URL=sqlite:////data/vinyl_detective.db \
    API_HOST=0.0.0.0 \
    API_PORT=8600
EXPOSE 8600

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('API_PORT', '8600') + '/health', timeout=4)"]

# SIGTERM (docker stop) lets the running job finish, then the daemon exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["vinyl-detective"]
CMD ["run"]
