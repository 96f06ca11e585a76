"""A gang that agreed to stop: rank 0 writes its orderly exit report and exits 75; rank 1 then
aborts in its teardown (as torch's process-group shutdown sometimes does)."""
import json
import os
import sys
import time

if os.environ["RANK"] == "0":
    with open(os.environ["SHOCKWAVE_REPORT_FILE"], "w") as out:
        json.dump({"reason": "yielded", "exit_code": 75}, out)
    time.sleep(0.5)  # still exiting when the other rank crashes
    sys.exit(75)
time.sleep(0.2)
os.abort()
