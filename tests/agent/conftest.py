"""The demo sandbox and ToolContext fixtures of the tools tests, for the agent tests."""

from tests.tools.conftest import demo, make_ctx  # noqa: F401
