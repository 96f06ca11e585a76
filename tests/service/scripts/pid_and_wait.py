"""Write this process's pid, group and environment to argv[1], then wait (default SIGTERM)."""
import json
import os
import sys
import time

with open(sys.argv[1] + ".tmp", "w") as out:
    json.dump({"pid": os.getpid(), "pgid": os.getpgid(0), "env": dict(os.environ)}, out)
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
print("waiting", flush=True)
time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 60)
