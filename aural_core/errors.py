"""One small error tree, as in librosa: every error the core raises is an ``AuralError``."""


class AuralError(Exception):
    """Base class of every error raised on purpose by Aural Architect."""


class ParameterError(AuralError, ValueError):
    """A value given to a function is out of its domain; the message quotes it."""


class AudioError(AuralError):
    """An audio file cannot be used: unreadable, empty, too short or not finite."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # keeps the two-argument form through pickling (Prefect states)
        return (type(self), (self.path, self.reason))


class ModelNotFoundError(AuralError, FileNotFoundError):
    """A real model backend's checkpoint is not on this machine (we never download)."""


class UnsafeCheckpointError(AuralError):
    """A model file needs pickle to load, which we refuse."""
