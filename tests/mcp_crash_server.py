"""A small MCP server over stdio (the SDK's own MCPServer) whose `crash` tool kills it.

    python tests/mcp_crash_server.py        serves on stdin/stdout

Tools: `echo(text)` answers the text; `crash()` exits the process mid-call (code 3),
after a line on stderr, without answering.
"""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("crashy")


@server.tool()
def echo(text: str) -> str:
    """Answer `text` back."""
    return f"echo: {text}"


@server.tool()
def crash() -> str:
    """Exit the server process in the middle of the call."""
    print("crashy: exiting mid-call", file=sys.stderr, flush=True)
    os._exit(3)


if __name__ == "__main__":
    server.run("stdio")
