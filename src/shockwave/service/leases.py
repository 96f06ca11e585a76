"""Leases (reference/RUNTIME.md 3.4): attempt tokens, heartbeats that renew a lease, the reply
that carries the lease and the action, and the sweep that ends silent attempts.

A lease is a time to live: each accepted heartbeat extends it to ``lease_s`` from now (a new
attempt first gets ``startup_s``). Keeping a job on its slots for the next round needs nothing
more (its lease simply keeps being renewed, no restart); revoking it sets ``DRAINING`` with a
soft deadline, which the next reply carries as ``checkpoint_and_stop``. Durations on the wire are
relative seconds. Stale and duplicate heartbeats (by ``seq``) change nothing; messages of an
attempt that is no longer current get ``stop_now`` and are not recorded."""

from __future__ import annotations

import hashlib
import secrets

from shockwave.protocol import Heartbeat, HeartbeatReply
from shockwave.service.config import Settings
from shockwave.service.states import CURRENT_ATTEMPT_STATES, AttemptState
from shockwave.service.store import AttemptRow, Store

REVOKED, CANCELLED, LEASE_EXPIRED = "revoked", "cancelled", "lease_expired"


def new_token() -> tuple[str, str]:
    """A fresh attempt token and the hash the store keeps (the token itself is never stored)."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def on_heartbeat(store: Store, settings: Settings, now_s: float, attempt: AttemptRow,
                 beat: Heartbeat) -> HeartbeatReply:
    """Record ``beat`` (if current and new), approve a batch-size proposal, and reply."""
    if attempt.state not in CURRENT_ATTEMPT_STATES:
        return HeartbeatReply(action="stop_now", lease_expires_in_s=0.0)
    renew = not (attempt.state == AttemptState.DRAINING and attempt.stop_reason == LEASE_EXPIRED)
    with store.atomic():
        recorded = store.record_heartbeat(
            attempt.id, beat.seq, now_s,
            lease_expires_s=now_s + settings.lease_ttl_s if renew else None,
            progress=beat.progress.model_dump(), samples_per_s=beat.samples_per_s,
            speed_batch_size=beat.speed_batch_size, noise_scale=beat.noise_scale)
        if recorded and beat.batch_size_proposal is not None \
                and attempt.state == AttemptState.RUNNING:
            _approve_batch_size(store, now_s, attempt, beat.batch_size_proposal)
        current = store.attempt(attempt.id)
    return reply_for(current or attempt, now_s)


def _approve_batch_size(store: Store, now_s: float, attempt: AttemptRow, proposal: int) -> None:
    """The job proposes, the service decides: a size within the job's bounds is approved (a
    proposal outside them is clamped to the nearest bound); static jobs keep theirs. The job's
    batch size, which the planner reads, changes at once (``Store.approve_batch_size``); the
    round loop reports it to the planner at its next tick, so the next plan re-solves."""
    job = store.job(attempt.job_id)
    if job is None or job.spec.adaptation == "static":
        return
    approved = min(max(proposal, job.spec.low_batch_size), job.spec.high_batch_size)
    if approved != attempt.batch_size:
        latest = store.latest_round()
        store.approve_batch_size(attempt, approved, now_s, proposal=proposal,
                                 round_index=latest.idx if latest is not None else None)


def reply_for(attempt: AttemptRow, now_s: float) -> HeartbeatReply:
    """What attempt ``attempt`` must do now, with its lease and deadline relative to ``now_s``."""
    if attempt.state not in CURRENT_ATTEMPT_STATES:
        return HeartbeatReply(action="stop_now", lease_expires_in_s=0.0)
    lease = max(0.0, (attempt.lease_expires_s or now_s) - now_s)
    common = {"batch_size": attempt.batch_size, "batch_size_version": attempt.bs_version}
    if attempt.state == AttemptState.DRAINING:
        if attempt.stop_reason == REVOKED:
            stop_by = max(0.0, (attempt.stop_by_s or now_s) - now_s)
            return HeartbeatReply(action="checkpoint_and_stop", lease_expires_in_s=lease,
                                  stop_by_s=stop_by, **common)
        return HeartbeatReply(action="stop_now", lease_expires_in_s=lease, stop_by_s=0.0,
                              **common)
    return HeartbeatReply(action="continue", lease_expires_in_s=lease, **common)


def expire_leases(store: Store, settings: Settings, now_s: float) -> list[int]:
    """Running attempts whose lease ran out go to DRAINING: SIGTERM now, killed at lease expiry
    plus grace (the job, on its own clock, should already be stopping). Returns their ids."""
    expired = []
    for attempt in store.lease_expired(now_s):
        deadline = attempt.lease_expires_s or now_s
        if attempt.report is not None:
            # It said its last word and is exiting (interpreter teardown can take a while):
            # silence is expected; it gets a grace period before SIGTERM, another before kill.
            note, sigterm_at = "exit report received; waiting for the process to end", \
                now_s + settings.grace_s
            deadline = sigterm_at
        else:
            silent = ("sent no heartbeat within the start-up lease"
                      if attempt.last_heartbeat_s is None
                      else f"no heartbeat for {now_s - attempt.last_heartbeat_s:.1f} s")
            note, sigterm_at = f"lease expired: {silent}", now_s
        if store.transition_attempt(
                attempt.id, AttemptState.RUNNING, AttemptState.DRAINING, now_s=now_s,
                note=note, stop_reason=LEASE_EXPIRED, stop_by_s=now_s,
                sigterm_at_s=sigterm_at, kill_at_s=deadline + settings.grace_s):
            expired.append(attempt.id)
    return expired
