"""Deployment definitions (schedules, new-input triggers) for the flows."""
