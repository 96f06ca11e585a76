"""Exit with the code argv[1] after printing a line (and writing a report if argv[2] is given)."""
import json
import os
import sys

print(f"exiting {sys.argv[1]}", flush=True)
if len(sys.argv) > 2:
    with open(os.environ["SHOCKWAVE_REPORT_FILE"], "w") as out:
        json.dump({"reason": sys.argv[2], "exit_code": int(sys.argv[1])}, out)
sys.exit(int(sys.argv[1]))
