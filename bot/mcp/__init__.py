"""``alex mcp``: alex's PagerDuty tools over the Model Context Protocol (Claude Desktop, Cursor, VS Code).

A front door like :mod:`bot.terminal`: the same registry (:mod:`bot.tools.registry`), the same runner, the
same typed results and presenters; MCP is only the wire. The modules:

* :mod:`bot.mcp.catalog`: what ``tools/list`` shows (schemas, output schemas, annotations);
* :mod:`bot.mcp.replies`: a tool's result as a ``CallToolResult`` (structured content and text);
* :mod:`bot.mcp.confirm`: proposals kept in the state store and confirmed (elicitation or ``confirm_proposal``);
* :mod:`bot.mcp.server`: the MCP server (tools/list, tools/call);
* :mod:`bot.mcp.http`: streamable HTTP behind a bearer token;
* :mod:`bot.mcp.command`: the ``alex mcp`` subcommand.

Nothing here is imported by ``import bot.cli`` except :mod:`bot.mcp.command`, which imports the SDK only
when ``alex mcp`` runs.
"""
