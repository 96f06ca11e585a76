"""``ServiceClient``: the service's HTTP API for the CLI (and scripts), over httpx.

Failures become ``ShockwaveError``s with one-line messages: ``Unreachable`` (no service at that
address), ``Rejected`` (422: the field at fault and why), ``NotFound``, and ``ServiceError`` for
the rest (401 without the right token, 409 conflicts)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from shockwave.errors import ShockwaveError

DEFAULT_SERVER = "http://127.0.0.1:8470"


class ServiceError(ShockwaveError):
    """The service answered with an error, or could not be asked."""


class Unreachable(ServiceError):
    pass


class NotFound(ServiceError):
    pass


class Rejected(ServiceError):
    """A 422: ``errors`` lists (field, message) pairs, the first one in ``str()``."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors or [("", "rejected")]
        field, message = self.errors[0]
        more = f" (and {len(self.errors) - 1} more problem(s))" if len(self.errors) > 1 else ""
        super().__init__(f"{field}: {message}{more}" if field else message + more)

    @property
    def field(self) -> str:
        return self.errors[0][0]

    @property
    def reason(self) -> str:
        field, message = self.errors[0]
        more = f" (and {len(self.errors) - 1} more problem(s))" if len(self.errors) > 1 else ""
        return message + more


class ServiceClient:
    """One service at ``server`` (``SHOCKWAVE_SERVER``), with the user token if it needs one."""

    def __init__(self, server: str = DEFAULT_SERVER, token: str | None = None,
                 timeout_s: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        self.server = server.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.server, headers=headers, timeout=timeout_s,
                                  transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- requests --------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._call("GET", "/v1/healthz")

    def submit(self, spec: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/v1/jobs", json=spec)

    def jobs(self, states: list[str] | None = None, name: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {}
        if states:
            params["state"] = states
        if name is not None:
            params["name"] = name
        return self._call("GET", "/v1/jobs", params=params)

    def job(self, job_id: int) -> dict[str, Any]:
        return self._call("GET", f"/v1/jobs/{job_id}")

    def cancel(self, job_id: int) -> dict[str, Any]:
        return self._call("DELETE", f"/v1/jobs/{job_id}")

    def logs(self, job_id: int, tail: int = 100, rank: int = 0) -> str:
        return self._call("GET", f"/v1/jobs/{job_id}/logs",
                          params={"tail": tail, "rank": rank}, text=True)

    def follow_logs(self, job_id: int, tail: int = 100, rank: int = 0) -> Iterator[str]:
        """The job's output as it comes, until the job ends."""
        params = {"tail": tail, "rank": rank, "follow": "true"}
        try:
            with self._http.stream("GET", f"/v1/jobs/{job_id}/logs", params=params,
                                   timeout=httpx.Timeout(10.0, read=None)) as response:
                if response.status_code >= 400:
                    response.read()
                    _raise_for(response, self.server)
                yield from response.iter_text()
        except httpx.TransportError as exc:
            raise _unreachable(self.server, exc) from None

    def cluster(self) -> dict[str, Any]:
        return self._call("GET", "/v1/cluster")

    def rounds(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._call("GET", "/v1/rounds", params={"limit": limit})

    def events(self, job_id: int, limit: int = 1000) -> list[dict[str, Any]]:
        return self._call("GET", f"/v1/jobs/{job_id}/events", params={"limit": limit})

    def resolve(self, ref: str) -> int:
        """A job id from ``ref``: its id, or a name only one job has."""
        text = ref.strip()
        if text.isdigit():
            return int(text)
        found = self.jobs(name=text)
        if not found:
            raise NotFound(f"no job with id or name {ref!r}")
        if len(found) > 1:
            ids = ", ".join(str(j["id"]) for j in found)
            raise ServiceError(f"{len(found)} jobs are named {ref!r} (ids {ids}); give an id")
        return int(found[0]["id"])

    def _call(self, method: str, path: str, *, text: bool = False, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise _unreachable(self.server, exc) from None
        if response.status_code >= 400:
            _raise_for(response, self.server)
        return response.text if text else response.json()


def _unreachable(server: str, exc: Exception) -> Unreachable:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return Unreachable(f"cannot reach the shockwave service at {server} ({reason}); start it "
                       "with `shockwave serve`, or point --server / SHOCKWAVE_SERVER at it")


def _raise_for(response: httpx.Response, server: str) -> None:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = response.text.strip()[:200] or response.reason_phrase
    status = response.status_code
    if status == 422 and isinstance(detail, list):
        raise Rejected([(_field(item.get("loc", ())), _message(item.get("msg", "invalid")))
                        for item in detail if isinstance(item, dict)])
    if status == 404:
        raise NotFound(str(detail))
    if status == 401:
        raise ServiceError(f"{server} refused the request: {detail}")
    raise ServiceError(f"{server} answered {status}: {detail}")


def _field(loc: Any) -> str:
    parts = [p for p in (loc or ()) if p not in ("body", "query", "path")]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _message(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix):]
    return msg
