"""Start a grandchild (sleep 60) and write both pids to argv[1]; exit at once if argv[2] says
so (leaving the grandchild behind), else wait."""
import os
import subprocess
import sys
import time

child = subprocess.Popen(["sleep", "60"])
with open(sys.argv[1] + ".tmp", "w") as out:
    out.write(f"{os.getpid()} {child.pid}")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
if len(sys.argv) > 2 and sys.argv[2] == "exit":
    sys.exit(0)
time.sleep(60)
