"""Scheduler: cron and one-shot fires claimed in PostgreSQL."""
