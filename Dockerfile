# The portal's image: web (gunicorn), Celery worker and beat, and the PTP simulator for demos.
# Build: docker build -t cpo-portal .   Run: see compose.yaml and the README's Operations section.

# Stage 1: the pinned requirements in a virtualenv (build tools stay out of the final image).
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install -r /tmp/requirements.txt

# Stage 2: the code and its collected static files, run as an unprivileged user.
FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=cpo_portal.settings \
    STATIC_ROOT=/app/staticfiles \
    SERVE_STATIC_FILES=true \
    PROMETHEUS_MULTIPROC_DIR=/tmp/metrics
RUN groupadd --system --gid 10001 portal \
    && useradd --system --uid 10001 --gid portal --home-dir /app --no-create-home portal
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY . /app
# collectstatic reads the settings, which need a key; this one exists only during the build.
RUN SECRET_KEY=collectstatic-only-not-a-runtime-key python manage.py collectstatic --no-input \
    && mkdir -p /tmp/metrics /app/var/exports && chown portal:portal /tmp/metrics /app/var/exports
USER portal
EXPOSE 8000
CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "cpo_portal.wsgi"]
