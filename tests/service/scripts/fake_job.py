"""A training job that speaks the service's protocol without torch (standard library only).

It "trains" at ``--samples-per-s`` in steps of the approved batch size, heartbeats every
``$SHOCKWAVE_HEARTBEAT_S`` with its attempt token, checkpoints (atomically: write, fsync,
rename; each reported with its save time) every ``--checkpoint-every`` seconds and whenever
it stops, obeys ``checkpoint_and_stop`` and ``stop_now`` and SIGTERM by exiting 75 after a
checkpoint, stops by itself when its lease
runs out on its own clock, resumes from its last checkpoint, and exits 0 once it has trained
``$SHOCKWAVE_TOTAL_EPOCHS`` epochs. ``--stubborn`` ignores SIGTERM and stop requests alike.
``--fail-at`` makes it exit with ``--fail-code`` once past
that many samples (only on the attempt numbers ``--fail-attempts`` lists, or every attempt).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request

ENV = os.environ
stop_signal = False


def on_sigterm(signum: int, frame: object) -> None:
    global stop_signal
    stop_signal = True


def post(path: str, body: dict) -> dict | None:
    url = f"{ENV['SHOCKWAVE_SERVER']}/v1/attempts/{ENV['SHOCKWAVE_ATTEMPT_ID']}/{path}"
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json",
                 "Authorization": f"Bearer {ENV['SHOCKWAVE_ATTEMPT_TOKEN']}"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"post {path} failed: {exc}", flush=True)
        return None


def load_checkpoint(directory: str) -> dict:
    try:
        with open(os.path.join(directory, "LATEST")) as handle:
            name = handle.read().strip()
        with open(os.path.join(directory, name)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {"samples": 0, "step": 0}


def save_checkpoint(directory: str, state: dict) -> str:
    name = f"ckpt-{state['samples']:012d}-a{ENV['SHOCKWAVE_ATTEMPT_ID']}.json"
    for target, text in ((name, json.dumps(state)), ("LATEST", name)):
        tmp = os.path.join(directory, f".tmp-{target}")
        with open(tmp, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, os.path.join(directory, target))
    return name


def progress(state: dict, per_epoch: int, batch: int) -> dict:
    return {"step": state["step"], "samples": state["samples"],
            "epoch": state["samples"] // per_epoch, "epoch_samples": state["samples"] % per_epoch,
            "samples_per_epoch": per_epoch, "batch_size": batch}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples-per-epoch", type=int, default=100)
    parser.add_argument("--samples-per-s", type=float, default=200.0)
    parser.add_argument("--checkpoint-every", type=float, default=1e9)
    parser.add_argument("--fail-at", type=int, default=-1)
    parser.add_argument("--fail-code", type=int, default=3)
    parser.add_argument("--fail-attempts", type=str, default="")
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--stubborn", action="store_true",
                        help="ignore SIGTERM and every stop request: only a kill ends it")
    parser.add_argument("--silent", action="store_true", help="never heartbeat")
    args = parser.parse_args()
    ignore = args.ignore_sigterm or args.stubborn
    signal.signal(signal.SIGTERM, signal.SIG_IGN if ignore else on_sigterm)
    directory = ENV["SHOCKWAVE_CHECKPOINT_DIR"]
    batch = int(ENV["SHOCKWAVE_BATCH_SIZE"])
    total = int(ENV["SHOCKWAVE_TOTAL_EPOCHS"]) * args.samples_per_epoch
    heartbeat_s = float(ENV["SHOCKWAVE_HEARTBEAT_S"])
    lease_end = time.monotonic() + float(ENV["SHOCKWAVE_LEASE_S"])
    state = load_checkpoint(directory)
    print(f"attempt {ENV['SHOCKWAVE_ATTEMPT_ID']} rank {ENV['RANK']}/{ENV['WORLD_SIZE']} "
          f"resumes at {state['samples']} of {total} samples", flush=True)
    if ENV["RANK"] != "0":  # other ranks follow rank 0: they end when it reports, or on SIGTERM
        while not stop_signal:
            try:
                with open(ENV["SHOCKWAVE_REPORT_FILE"]) as handle:
                    return int(json.load(handle)["exit_code"])
            except (OSError, ValueError, KeyError):
                time.sleep(0.05)
        return 75
    fail_here = not args.fail_attempts or ENV["SHOCKWAVE_ATTEMPT_ID"] in args.fail_attempts.split(",")
    seq, last_beat, last_ckpt = 0, 0.0, time.monotonic()
    action = "continue"
    while state["samples"] < total:
        now = time.monotonic()
        if not args.silent and now - last_beat >= heartbeat_s:
            reply = post("heartbeat", {"seq": seq, "progress": progress(state, args.samples_per_epoch, batch),
                                       "samples_per_s": args.samples_per_s})
            seq, last_beat = seq + 1, now
            if reply is not None and not args.stubborn:
                action = reply["action"]
                lease_end = now + (3600 if args.stubborn else reply["lease_expires_in_s"])
        if action != "continue" or stop_signal or now >= lease_end:
            why = "lease" if now >= lease_end else (action if action != "continue" else "sigterm")
            return stop(directory, state, args.samples_per_epoch, batch, why)
        if now - last_ckpt >= args.checkpoint_every:
            checkpoint(directory, state, args.samples_per_epoch, batch)
            last_ckpt = now
        time.sleep(batch / args.samples_per_s)
        state["samples"] = min(total, state["samples"] + batch)
        state["step"] += 1
        if fail_here and 0 <= args.fail_at <= state["samples"]:
            print(f"failing on purpose at {state['samples']} samples", flush=True)
            return args.fail_code
    name = checkpoint(directory, state, args.samples_per_epoch, batch)
    report(0, "finished", state, args.samples_per_epoch, batch, name)
    print(f"finished at {state['samples']} samples", flush=True)
    return 0


def checkpoint(directory: str, state: dict, per_epoch: int, batch: int) -> str:
    started = time.monotonic()
    name = save_checkpoint(directory, state)
    post("checkpoints", {"checkpoint_id": name, "progress": progress(state, per_epoch, batch),
                         "duration_s": time.monotonic() - started})
    return name


def report(code: int, reason: str, state: dict, per_epoch: int, batch: int, name: str) -> None:
    body = {"reason": reason, "exit_code": code, "progress": progress(state, per_epoch, batch),
            "checkpoint_id": name}
    with open(ENV["SHOCKWAVE_REPORT_FILE"], "w") as handle:
        json.dump(body, handle)
    post("exit", body)


def stop(directory: str, state: dict, per_epoch: int, batch: int, why: str) -> int:
    name = checkpoint(directory, state, per_epoch, batch)
    report(75, "lease_expired" if why == "lease" else "yielded", state, per_epoch, batch, name)
    print(f"stopping ({why}) at {state['samples']} samples", flush=True)
    return 75


if __name__ == "__main__":
    sys.exit(main())
