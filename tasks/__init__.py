"""Prefect tasks: thin wrappers adding cache policy, retries, logging and artifacts."""
