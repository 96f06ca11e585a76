"""Write this process's pid, group and environment to argv[1], then wait (default SIGTERM)."""
import json
import os
import sys
import time

# Every rank of a gang may write the same file: each through its own temporary file.
tmp = f"{sys.argv[1]}.{os.getpid()}.tmp"
with open(tmp, "w") as out:
    json.dump({"pid": os.getpid(), "pgid": os.getpgid(0), "env": dict(os.environ)}, out)
os.replace(tmp, sys.argv[1])
print("waiting", flush=True)
time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 60)
