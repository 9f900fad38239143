"""An X client that copies and pastes on a test display: Tk (python3's tkinter), an
independent implementation of the X selection protocol (INCR included)."""

from __future__ import annotations

import subprocess
import sys

from porthole import xdisplay

_OWN = """import sys, tkinter
r = tkinter.Tk(); r.withdraw()
r.clipboard_clear(); r.clipboard_append(sys.stdin.read()); r.update()
print("owned", flush=True)
r.mainloop()
"""
_READ = """import sys, tkinter
r = tkinter.Tk(); r.withdraw()
sys.stdout.write(r.selection_get(selection=sys.argv[1], type="UTF8_STRING"))
"""
TIMEOUT_S = 15


class Copy:
    """Copies text to CLIPBOARD; the X client keeps it until release() (or another copy)."""

    def __init__(self, x: xdisplay.Xvfb, text: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _OWN], env=x.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(text.encode())
        self.proc.stdin.close()
        assert self.proc.stdout.readline() == b"owned\n", "Tk did not take the clipboard"

    def release(self) -> None:
        self.proc.kill()
        self.proc.wait()
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def paste(x: xdisplay.Xvfb, selection: str = "CLIPBOARD") -> str:
    out = subprocess.run(
        [sys.executable, "-c", _READ, selection], env=x.env(), capture_output=True, timeout=TIMEOUT_S, check=True
    )
    return out.stdout.decode()
