"""Ingest: validation and normalisation of messages, channels, the event store, file import."""
