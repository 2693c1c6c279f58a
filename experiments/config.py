"""One strict loader for the runners' TOML configs.

A config is read into a dataclass: every key must be a field (a typo is an error naming the key, the
fields and the file), every value must have the field's type (``int``, ``float``, ``str``, ``bool``,
``list[...]``, ``tuple``, a nested dataclass, or ``X | None``), and the defaults are the dataclass's own,
written once.

    cfg = load(path, StudyConfig)        # or from_dict(data, StudyConfig, where="...")
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing


def add_receiver_arguments(ap, default: str) -> None:
    """``--receiver`` (a model in process or a served one) and ``--extra-body`` (for a served one) on a
    probe's command line; :func:`check_receiver_arguments` checks them after parsing."""
    import json
    ap.add_argument("--receiver", default=default,
                    help="qwen05, qwen15, smollm2, tiny, a folder or .gguf (llm_bridge.models.load_by_name), or a "
                         "served model: openai:BASE_URL#MODEL")
    ap.add_argument("--extra-body", type=json.loads, default=None,
                    help="JSON sent with every request to a served --receiver; for llama.cpp's server "
                         "'{\"repeat_penalty\": 1.0, \"top_k\": 0, \"min_p\": 0.0}' gives the tokens of the "
                         "model's own distribution, as in process")


def check_receiver_arguments(ap, args) -> None:
    """Refuse (before anything loads) a request body for a model in process."""
    if args.extra_body is not None and not args.receiver.startswith("openai:"):
        ap.error(f"--extra-body is sent to a served --receiver (openai:BASE_URL#MODEL); got --receiver {args.receiver}")
    if args.extra_body is not None and not isinstance(args.extra_body, dict):
        ap.error(f"--extra-body must be a JSON object ({{...}}); got {args.extra_body!r}")


def output_folder(ap, folder, flag: str = "--out") -> None:
    """Make ``folder`` (the study writes there) or stop with one line naming ``flag``: a path that names a
    file, or one that cannot be created, is refused before a model loads rather than after it has run."""
    from pathlib import Path
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        ap.error(f"{flag} {str(folder)!r} cannot be used as a folder: {e.strerror}")


def positive_int(text: str) -> int:
    """An ``argparse`` type: an integer of at least 1 (``--n 0`` is refused as the command line is read,
    not in a traceback after a model has loaded)."""
    import argparse
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {text!r}")
    return value


class ConfigError(ValueError):
    """A config breaks a rule (the message names the file, the key and the rule)."""


def read_toml(path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as e:
        raise ConfigError(f"cannot read config {os.fspath(path)!r}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config {os.fspath(path)!r} is not valid TOML: {e}") from None


def load(path, schema):
    """Read ``path`` (TOML) into an instance of the dataclass ``schema``."""
    return from_dict(read_toml(path), schema, where=f"config {os.fspath(path)!r}")


def load_split(path, runner_schema, schema, out=None):
    """``(runner, cfg)`` from one TOML file whose keys belong to two dataclasses: the keys of
    ``runner_schema`` (which model, which device, a ``name``) and the rest into ``schema``, whose ``out`` is
    ``out`` or ``results/<name>``.  Both are read strictly."""
    where = f"config {os.fspath(path)!r}"
    data = read_toml(path)
    runner_keys = {f.name for f in dataclasses.fields(runner_schema)}
    runner = from_dict({k: v for k, v in data.items() if k in runner_keys}, runner_schema, where=where)
    out = out or os.path.join("results", runner.name)
    cfg = from_dict({**{k: v for k, v in data.items() if k not in runner_keys}, "out": out}, schema, where=where)
    return runner, cfg


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value, tp, key: str, where: str):
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(value, a, key, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{where}: {key} must not be empty")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {key} must be a table; got {value!r}")
        return from_dict(value, tp, where=where, prefix=f"{key}.")  # nested keys read as "parallel.n_jobs"
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: {key} must be a list; got {value!r}")
        inner = args[0] if args else None
        items = [value[i] if inner is None else _convert(value[i], inner, f"{key}[{i}]", where)
                 for i in range(len(value))]
        return tuple(items) if (origin is tuple or tp is tuple) else items
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be true or false; got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: {key} must be an integer; got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: {key} must be a number; got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be a string; got {value!r}")
        return value
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {key} must be a table; got {value!r}")
        return value
    return value


def from_dict(data: dict, schema, where: str = "config", prefix: str = ""):
    """An instance of ``schema`` from ``data``, strictly (see the module doc)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a table; got {data!r}")
    hints = typing.get_type_hints(schema)
    fields = {f.name: f for f in dataclasses.fields(schema) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key {prefix + unknown[0]!r}; known keys: {sorted(fields)}")
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _convert(data[name], hints[name], prefix + name, where)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}: missing required key {prefix + name!r}")
    try:
        return schema(**kwargs)
    except (TypeError, ValueError) as e:
        if isinstance(e, ConfigError):
            text = str(e)          # a schema's own rule, written "config: KEY ...": name the file and table
            if text.startswith("config: "):
                raise ConfigError(f"{where}: {prefix}{text[len('config: '):]}") from None
            raise
        raise ConfigError(f"{where}: {e}") from None
