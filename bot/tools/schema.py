"""OpenAI function schemas from the argument models, in strict mode and as small as possible.

Strict function calling needs every property listed in ``required`` and ``additionalProperties:
false``; optional arguments are nullable. Titles are dropped and ``anyOf [X, null]`` is folded into
``type: [X, "null"]`` because every character of schema is sent with every request.

Building them (pydantic's JSON schema, then this pass) is costly next to everything else alex does for a
message, so :func:`openai_tools` builds a tool set's list once per process and hands out copies.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from bot.tools.base import Tool

TOOL_SETS_CACHED = 16
"""Distinct tool sets whose schemas are kept (the registry has two: read-only and all)."""


def strict_parameters(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    if "$defs" in schema:
        raise ValueError(f"{model.__name__}: keep tool arguments flat (no nested models)")
    strict: dict[str, Any] = _strict(schema)
    return strict


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {k: ({name: _strict(prop) for name, prop in v.items()} if k == "properties" else _strict(v))
            for k, v in node.items() if k not in ("title", "default")}
    if "anyOf" in node:
        node = _fold_nullable(node)
    if node.get("type") == "object" and "properties" in node:
        node["required"] = list(node["properties"])
        node["additionalProperties"] = False
        node.pop("description", None)  # the model's docstring is the function description already
    return node


def _fold_nullable(node: dict[str, Any]) -> dict[str, Any]:
    options = node["anyOf"]
    non_null = [o for o in options if o != {"type": "null"}]
    if len(non_null) != 1 or len(options) != 2 or "type" not in non_null[0]:
        return node
    merged = {k: v for k, v in node.items() if k != "anyOf"}
    inner = dict(non_null[0])
    inner_type = inner.pop("type")
    merged.update(inner)
    merged["type"] = [inner_type, "null"] if isinstance(inner_type, str) else [*inner_type, "null"]
    if "enum" in merged:
        merged["enum"] = [*merged["enum"], None]
    return merged


def openai_tool(name: str, description: str, model: type[BaseModel]) -> dict[str, Any]:
    """One entry of the OpenAI ``tools`` list (Chat Completions function calling, strict mode)."""
    return {"type": "function", "function": {"name": name, "description": description,
                                             "parameters": strict_parameters(model), "strict": True}}


def openai_tools(tools: Sequence[Tool[Any]]) -> list[dict[str, Any]]:
    """The OpenAI ``tools`` list for ``tools``, in their order: built once per tool set, and a fresh copy
    on every call, so a caller that changes it (a model adapter dropping ``strict``) changes only its own."""
    copy: list[dict[str, Any]] = json.loads(_tools_json(tuple(tools)))
    return copy


@functools.lru_cache(maxsize=TOOL_SETS_CACHED)
def _tools_json(tools: tuple[Tool[Any], ...]) -> str:
    # Kept as text, not as dicts: the cached value cannot be changed by anyone holding a copy.
    return json.dumps([openai_tool(tool.name, tool.description, tool.args) for tool in tools])
