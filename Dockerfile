# syntax=docker/dockerfile:1
# Beach-Saver API image: `docker build --build-arg VERSION=0.1.0 --build-arg GIT_SHA=$(git rev-parse HEAD) -t beach-saver-api:v0.1.0 .`
# Two stages: the builder compiles and installs the package into a virtualenv; the runtime
# stage is python-slim with that virtualenv, the MariaDB client tools (backups), no compilers,
# and a non-root user. The same image runs `serve` (default), `worker` and `migrate`.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential libffi-dev \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build
# Dependencies first (cached while only the source changes), then the package itself.
COPY pyproject.toml README.md ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/requirements.txt
RUN pip install --upgrade pip setuptools wheel && pip install -r /tmp/requirements.txt
COPY src ./src
RUN pip install --no-deps . && beachsaver --help >/dev/null

FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=0.0.0
ARG GIT_SHA=unknown
LABEL org.opencontainers.image.title="beach-saver-api" \
      org.opencontainers.image.description="Beach-Saver: marine litter clean-up operations platform (API, admin console, worker app)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${GIT_SHA}" \
      org.opencontainers.image.vendor="Beach-Saver"
RUN apt-get update \
    && apt-get install -y --no-install-recommends mariadb-client \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 beachsaver \
    && useradd --system --uid 10001 --gid beachsaver --home-dir /var/lib/beachsaver --shell /usr/sbin/nologin beachsaver \
    && mkdir -p /var/lib/beachsaver /var/log/beachsaver \
    && chown -R beachsaver:beachsaver /var/lib/beachsaver /var/log/beachsaver
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BEACHSAVER_ENV=prod \
    BEACHSAVER_DATA_DIR=/var/lib/beachsaver \
    BEACHSAVER_GIT_SHA=${GIT_SHA} \
    WEB_CONCURRENCY=1
WORKDIR /var/lib/beachsaver
USER 10001:10001
EXPOSE 8000
# uvicorn drains in-flight requests on SIGTERM (readiness answers 503 meanwhile).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"]
# WEB_CONCURRENCY = worker processes per container. Keep 1 and scale with replicas/tasks:
# each process keeps its own Prometheus counters (see docs/deployment.md).
CMD ["sh", "-c", "exec beachsaver serve --host 0.0.0.0 --port 8000 --workers \"${WEB_CONCURRENCY}\""]
