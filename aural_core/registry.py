"""Backends by name, as ``name -> "module:attribute"`` tables imported only when asked for.

A heavy optional backend (CLAP, MusicGen: transformers and a checkpoint) then costs nothing
until it is used, and a backend module never has to import the table that names it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from .errors import ParameterError

__all__ = ["build", "resolve"]


def build(registry: Mapping[str, str], name: str, *, role: str, **options):
    """Call the factory that ``registry[name]`` points at with keyword ``options``.

    Parameters
    ----------
    registry : mapping of str to str
        Backend name -> ``"package.module:attribute"``; the attribute may be dotted
        (``"module:Class.from_pretrained"``) and is imported on first use.
    name : str
        The backend asked for.
    role : str
        What the backend is ("embedder", "renderer" ...), for the error message.
    **options
        Keyword arguments of the factory.

    Returns
    -------
    object
        What the factory returns: the backend.

    Raises
    ------
    ParameterError
        When ``name`` is not in ``registry``; the message lists the known names.
    """
    return resolve(registry, name, role=role)(**options)


def resolve(registry: Mapping[str, str], name: str, *, role: str):
    """The factory (class) that ``registry[name]`` points at, imported but not called.

    Its class attributes say what a backend needs before one is built.

    Parameters
    ----------
    registry : mapping of str to str
        As for :func:`build`.
    name : str
        The backend asked for.
    role : str
        What the backend is, for the error message.

    Returns
    -------
    callable
        The imported attribute (a class or a classmethod).

    Raises
    ------
    ParameterError
        When ``name`` is not in ``registry``; the message lists the known names.
    """
    try:
        target = registry[name]
    except (KeyError, TypeError):  # TypeError: an unhashable name
        raise ParameterError(f"{role}={name!r} is not known; expected one of {sorted(registry)}") from None
    module_name, attr = target.split(":")
    factory = importlib.import_module(module_name)
    for part in attr.split("."):
        factory = getattr(factory, part)
    return factory
