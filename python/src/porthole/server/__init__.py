"""The reference signaling server and the browser page (docs/protocol.md).

The module table (what each module owns) is README.md in this directory.
"""
