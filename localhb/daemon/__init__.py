"""The long-running daemon: its loop, its process files and its status."""
