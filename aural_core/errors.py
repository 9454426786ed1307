"""One small error tree, as in librosa: every error the core raises is an ``AuralError``."""


class AuralError(Exception):
    """Base class of every error raised on purpose by Aural Architect."""


class ParameterError(AuralError, ValueError):
    """A value given to a function is out of its domain; the message quotes it."""


class AudioError(AuralError):
    """An audio file cannot be used: unreadable, empty, too short or not finite.

    Parameters
    ----------
    path : str or Path
        The file; kept as ``self.path`` (a str).
    reason : str
        What is wrong with it; kept as ``self.reason``. The message is ``"<path>: <reason>"``.
    """

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


class InputsMissingError(AuralError):
    """An input folder is missing or holds no audio (and no demo corpus was asked for)."""


class FilesFailedError(AuralError):
    """Some input files failed while the others finished; ``result`` is the run's result.

    A flow returns it inside a ``Failed`` state, so the run is marked Failed (an operator can
    filter and alert on it) while the finished work and the summary stay readable.

    Parameters
    ----------
    message : str
        What failed, for people.
    result : dict, optional
        The run's result (summary and finished work); ``{}`` when omitted.
    """

    def __init__(self, message: str, result: dict | None = None):
        self.result = result or {}
        super().__init__(message)

    def __reduce__(self):  # keeps ``result`` through pickling (Prefect stores state data)
        return (type(self), (str(self), self.result))
