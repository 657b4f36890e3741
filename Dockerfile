# One image for every process of a node: web (gunicorn), Celery worker and Celery beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATA_DIR=/var/lib/ai-registry \
    STATIC_ROOT=/var/lib/ai-registry/static

WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY registry ./registry
COPY catalogue ./catalogue
COPY sync ./sync
COPY webhooks ./webhooks
COPY federation ./federation
COPY manage.py ./
RUN pip install . \
    && useradd --system --home /var/lib/ai-registry registry \
    && mkdir -p /var/lib/ai-registry \
    && chown registry /var/lib/ai-registry \
    && SECRET_KEY=collectstatic-only DEBUG=0 python manage.py collectstatic --noinput

USER registry
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-class", "gthread", "--threads", "4", "--timeout", "120", "--access-logfile", "-"]
