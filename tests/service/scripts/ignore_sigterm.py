"""Trap SIGTERM and ignore it; write the pid to argv[1]; wait for a kill."""
import os
import signal
import sys
import time

signal.signal(signal.SIGTERM, lambda *_: print("ignoring SIGTERM", flush=True))
with open(sys.argv[1], "w") as out:
    out.write(str(os.getpid()))
while True:
    time.sleep(0.05)
