"""What ``tools/list`` shows: the registry's tools as MCP tools, and ``confirm_proposal``.

One source of truth: the name, the description (the argument model's docstring) and the arguments are the
registry's; this module only writes them down the way MCP wants them.

* ``inputSchema``: :func:`~bot.tools.schema.strict_parameters` of the argument model, with only the
  arguments that cannot be null required (strict OpenAI schemas list every one; an MCP client may leave
  the optional ones out, which the runner reads as "not given").
* ``outputSchema``: the result model's serialization schema, which is what ``Result.wire()`` (the
  ``structuredContent``) produces: required fields always, optional ones only when set. A result model
  that is a family (``WhoIsOnCallResult``: one member per kind of answer) is the ``anyOf`` of its members.
  An optional field that is None is left out of ``wire()``, so its schema says only what it is when
  present (no ``null``). Titles and the models' docstrings are left out: they document code, not the
  data, and every character is sent to the client's model.
  A write tool's is :class:`~bot.mcp.replies.WriteAnswer` (the proposal, and what became of it).
* annotations: reads are ``readOnlyHint``; writes are ``destructiveHint`` (they propose, and a person's
  confirmation then runs the change), as is ``confirm_proposal``.
"""

from __future__ import annotations

import functools
import typing
from typing import Any

import mcp.types as types
from pydantic import Field, TypeAdapter

from bot.mcp.replies import WriteAnswer
from bot.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from bot.tools.results.base import Result
from bot.tools.schema import strict_parameters

CONFIRM_PROPOSAL = "confirm_proposal"


class ConfirmProposal(ToolArgs):
    """Make a change that an alex write tool proposed. Write tools never change PagerDuty: they answer with a
    proposal (what would change) and its proposal_id. Call this only when the person asked for that change and
    has seen the proposal; their MCP client asks them to approve this call. It runs the change exactly as
    proposed, as them, after checking PagerDuty again: it refuses when PagerDuty changed since, and after the
    proposal expired (10 minutes)."""

    proposal_id: str = Field(min_length=1, max_length=64, description="The proposal_id a write tool returned.")


async def _answered_by_the_server(args: ConfirmProposal, ctx: ToolContext) -> ToolResult[Any]:
    return ToolResult.fail("confirm_proposal is answered by alex's MCP server, not by a tool handler.",
                           kind="internal")


CONFIRM = Tool(CONFIRM_PROPOSAL, ConfirmProposal, _answered_by_the_server, "write")
"""``confirm_proposal``'s record: its arguments are parsed like every tool's; :mod:`bot.mcp.server` runs it."""


READ = types.ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
WRITE = types.ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False,
                              open_world_hint=False)
_DOC_KEYWORDS = frozenset({"title", "description"})
_NAMES = frozenset({"properties", "$defs", "patternProperties"})
"""Keywords whose value maps names (a property called ``title``) to schemas."""
_DATA = frozenset({"default", "enum", "const", "examples"})
"""Keywords whose value is data, not a schema."""


def input_schema(args: type[ToolArgs]) -> dict[str, Any]:
    """The argument model's strict schema, requiring only the arguments that cannot be null."""
    schema = strict_parameters(args)
    schema["required"] = [name for name, prop in schema["properties"].items() if not _nullable(prop)]
    return schema


def _nullable(prop: dict[str, Any]) -> bool:
    kind = prop.get("type")
    return (isinstance(kind, list) and "null" in kind) or {"type": "null"} in prop.get("anyOf", [])


def output_schema(result: type[Result]) -> dict[str, Any]:
    """The JSON Schema of ``result.wire()`` (of any member's, for a family)."""
    members = _members(result)
    if not members:
        schema: dict[str, Any] = _compact(result.model_json_schema(mode="serialization", by_alias=True))
        return schema
    union: Any = typing.Union[tuple(members)]  # noqa: UP007 (built at run time from the family)
    return {"type": "object", **_compact(TypeAdapter(union).json_schema(mode="serialization", by_alias=True))}


def _members(result: type[Result]) -> list[type[Result]]:
    """A field-less result model's descendants that have fields (empty: ``result`` is the answer itself)."""
    if result.model_fields:
        return []
    found: list[type[Result]] = []
    pending = list(result.__subclasses__())
    while pending:
        model = pending.pop(0)
        pending += model.__subclasses__()
        if model.model_fields and model not in found:
            found.append(model)
    return found


def _compact(node: Any) -> Any:
    if isinstance(node, list):
        return [_compact(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DOC_KEYWORDS:
            continue
        if key in _NAMES and isinstance(value, dict):
            out[key] = {name: _compact(schema) for name, schema in value.items()}
        else:
            out[key] = value if key in _DATA else _compact(value)
    properties = out.get("properties")
    if isinstance(properties, dict):
        required = set(out.get("required") or ())
        out["properties"] = {name: prop if name in required else _never_null(prop) for name, prop in properties.items()}
    return out


def _never_null(prop: Any) -> Any:
    """An optional property whose default is None: ``wire()`` leaves it out when None, so it is never null."""
    if not isinstance(prop, dict) or "default" not in prop or prop["default"] is not None:
        return prop
    kept = {key: value for key, value in prop.items() if key not in ("default", "anyOf")}
    options = [option for option in prop.get("anyOf", []) if option != {"type": "null"}]
    if len(options) == 1 and isinstance(options[0], dict):
        return kept | options[0]
    return kept | ({"anyOf": options} if options else {})


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def mcp_tool(tool: Tool[Any]) -> types.Tool:
    """One registry tool as MCP lists it."""
    return types.Tool(
        name=tool.name, title=_title(tool.name), description=tool.description, input_schema=input_schema(tool.args),
        output_schema=output_schema(tool.result or WriteAnswer), annotations=READ if tool.kind == "read" else WRITE)


@functools.lru_cache(maxsize=8)
def listed(tools: tuple[Tool[Any], ...], *, confirm_tool: bool) -> tuple[types.Tool, ...]:
    """``tools`` as MCP tools, in order, then ``confirm_proposal`` when asked: built once per tool set."""
    return tuple(mcp_tool(tool) for tool in (*tools, *((CONFIRM,) if confirm_tool else ())))
