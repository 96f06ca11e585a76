"""One router per resource: jobs (users), attempts (jobs), cluster (users, health), metrics
(Prometheus)."""
