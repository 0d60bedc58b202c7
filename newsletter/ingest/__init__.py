"""Ingest: turn seed files and feed documents into cleaned ``Article`` values."""
