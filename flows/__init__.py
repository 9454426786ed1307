"""Prefect flows (demo, analyze, train, evaluate, pipeline) and the ``aural`` CLI."""
