"""Command-line flags generated from frozen config dataclasses, so each default and help text exists
once: in the dataclass (the field's type, its default and the docstring written under it).

Pure Python (argparse, ast): no Django, no Keras. Any app's command can use it:

    add_config_arguments(parser, {"dqn": DQNConfig, "qlearning": QLearningConfig})
    config = config_from_options(DQNConfig, options)          # options: parsed flags as a dict

A field several configs share becomes one flag; its help gives each config's default. Every flag
defaults to None ("not given"), and `config_from_options` leaves those to the dataclass.
"""

import argparse
import ast
import dataclasses
import inspect
import textwrap
import types
import typing
from functools import lru_cache


@lru_cache(maxsize=None)
def field_docs(cls):
    """{field name: the docstring under it} of a dataclass, read from its source."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
    docs = {}
    for node, following in zip(body, body[1:]):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def flag_name(field_name):
    return "--" + field_name.replace("_", "-")


def _shown(value):
    return f"{value:_}".replace("_", ",") if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _argument(kind):
    """argparse keywords for a field's type: int, float, str, bool, a Literal of strings, or one of
    these or None (`int | None`: the flag is optional and None means "not given", as for all)."""
    arguments = [a for a in typing.get_args(kind) if a is not type(None)]
    if typing.get_origin(kind) in (typing.Union, types.UnionType) and len(arguments) == 1:
        kind = arguments[0]
    if typing.get_origin(kind) is typing.Literal:
        return {"type": str, "choices": typing.get_args(kind)}
    if kind is bool:
        return {"action": argparse.BooleanOptionalAction}
    if kind in (int, float, str):
        return {"type": kind}
    raise TypeError(f"no flag for a field of type {kind!r}")


def add_config_arguments(parser, configs, skip=()):
    """One flag per field of the config classes `configs` ({label: dataclass}), except `skip`."""
    owners = {}
    for label, cls in configs.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name not in skip:
                owners.setdefault(f.name, []).append((label, cls, hints[f.name], f.default))
    for name, found in owners.items():
        label, cls, kind, default = found[0]
        doc = field_docs(cls).get(name, "").replace("%", "%%")
        defaults = {repr(d) for *_, d in found}
        if len(found) == len(configs) and len(defaults) == 1:
            where = f"default {_shown(default)}"
        elif len(found) == 1:
            where = f"{label} only; default {_shown(default)}"
        else:
            labels = "" if len(found) == len(configs) else "/".join(label for label, *_ in found) + " only; "
            where = labels + "default " + ", ".join(f"{_shown(d)} ({label})" for label, _, _, d in found)
        doc = doc.rstrip(".")
        if defaults == {"None"}:
            help_text = f"{doc}."  # the docstring says what "not given" means
        else:
            help_text = f"{doc} ({where})."
        parser.add_argument(flag_name(name), dest=name, default=None, help=help_text, **_argument(kind))


def config_from_options(cls, options):
    """`cls` with the fields given in `options` (a dict of parsed flags; None = not given)."""
    return cls(**{f.name: options[f.name] for f in dataclasses.fields(cls) if options.get(f.name) is not None})


def foreign_flags(cls, configs, options):
    """The flags given in `options` that belong to other configs of `configs` but not to `cls`."""
    own = {f.name for f in dataclasses.fields(cls)}
    others = {f.name for other in configs.values() for f in dataclasses.fields(other)} - own
    return sorted(flag_name(name) for name in others if options.get(name) is not None)
