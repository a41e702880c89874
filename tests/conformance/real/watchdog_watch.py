# SPDX-License-Identifier: GPL-2.0
"""Python watchdog as an application uses it: an InotifyObserver with one
recursive schedule. Prints every changed path (source and destination of a
move) on its own line, and READY once the observer runs. Opened and
closed-without-write events are not changes and are left out, as the
suite compares changed paths."""
import sys
import time

from watchdog.events import FileSystemEventHandler
from watchdog.observers.inotify import InotifyObserver

IGNORED = {"opened", "closed_no_write"}


class Printer(FileSystemEventHandler):
    """Writes each change's paths, flushed, so the runner sees them live."""

    def on_any_event(self, event):
        if event.event_type in IGNORED:
            return
        out = [event.src_path]
        if getattr(event, "dest_path", ""):
            out.append(event.dest_path)
        sys.stdout.write("".join(f"{p}\n" for p in out))
        sys.stdout.flush()


observer = InotifyObserver()
observer.schedule(Printer(), sys.argv[1], recursive=True)
observer.start()
print("READY", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    observer.stop()
