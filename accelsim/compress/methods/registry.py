"""The compression methods by pipeline name: what the pipeline parser looks up.

`@register` on a method class (see `accelsim.compress.methods.base`) makes `name(args)` in a
pipeline text build it; its `shorthands` (e.g. `int8`) stand for the step with no arguments.
The built-in methods register when `accelsim.compress.methods` is imported.
"""

from __future__ import annotations

from typing import TypeVar

from accelsim.compress.methods.base import Transform

M = TypeVar("M", bound=type[Transform])

_METHODS: dict[str, type[Transform]] = {}
_ALIASES: dict[str, type[Transform]] = {}
_SHORTHANDS: dict[str, type[Transform]] = {}


def register(cls: M) -> M:
    """Add a method class under its `method` name (a class decorator)."""
    if not cls.method:
        raise ValueError(f"{cls.__name__}: a registered method needs a `method` name")
    for name in (cls.method, *cls.aliases, *cls.shorthands):
        owner = _METHODS.get(name) or _ALIASES.get(name) or _SHORTHANDS.get(name)
        if owner is not None and owner.__qualname__ != cls.__qualname__:
            raise ValueError(f"compression method {name!r} is already registered by {owner.__name__}")
    _METHODS[cls.method] = cls
    _ALIASES.update(dict.fromkeys(cls.aliases, cls))
    _SHORTHANDS.update(dict.fromkeys(cls.shorthands, cls))
    return cls


def unregister(name: str) -> None:
    """Remove the method registered as `name` and its shorthands (for tests and plug-ins)."""
    cls = _METHODS.pop(name)
    for alias in cls.aliases:
        _ALIASES.pop(alias, None)
    for short in cls.shorthands:
        _SHORTHANDS.pop(short, None)


def lookup(name: str) -> type[Transform] | None:
    return _METHODS.get(name) or _ALIASES.get(name)


def shorthand(name: str) -> Transform | None:
    """The step a bare shorthand name stands for, or None."""
    cls = _SHORTHANDS.get(name)
    return cls.from_shorthand(name) if cls is not None else None


def names() -> tuple[str, ...]:
    """Every accepted step name: methods in registration order, then aliases, then shorthands."""
    return (*_METHODS, *_ALIASES, *_SHORTHANDS)
