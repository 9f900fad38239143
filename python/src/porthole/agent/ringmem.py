"""The memfd that keeps a resumable terminal's scrollback ring (docs/protocol.md,
"Descriptor handoff", ring_memfd).

The agent makes one per resumable terminal, sized for porthole-core's shared
ring (a one-page header, then the ring's bytes; core-go terminal.SharedRing),
hands it to porthole-core with the terminal's descriptor, and keeps it for the
shell's life. porthole-core keeps the ring in it; when porthole-core dies the
ring stays here, and the next one, handed the same memfd again with the
descriptor, continues it: a resumed terminal gets its scrollback from before
the crash. The agent never reads or writes the ring itself.
"""

from __future__ import annotations

import os

HEADER = 4096  # terminal.SharedRingHeader


def create(ring_bytes: int) -> int:
    """A new, zeroed memfd for a ring of ring_bytes (close-on-exec); the caller closes it."""
    fd = os.memfd_create("porthole-ring", os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, HEADER + ring_bytes)
    except OSError:
        os.close(fd)
        raise
    return fd
