"""A small MCP server over streamable HTTP (the SDK's own MCPServer), for tests.

    python tests/mcp_http_server.py PORT    serves http://127.0.0.1:PORT/mcp

Tools: `echo(text)` answers the text; `stall(seconds)` answers after sleeping.
"""

from __future__ import annotations

import sys
import time

from mcp.server.mcpserver import MCPServer

server = MCPServer("echo")


@server.tool()
def echo(text: str) -> str:
    """Answer `text` back."""
    return f"echo: {text}"


@server.tool()
def stall(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return "woke"


if __name__ == "__main__":
    server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
