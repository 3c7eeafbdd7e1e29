"""Durable pushes to partners: a transactional outbox delivered by Celery workers."""
