"""The `parity` command: argument parsing, sub-command registration and the campaigns' progress display."""
