"""Executor backends: where attempts run. Four verbs (start, poll, stop, kill) plus ``alive`` for
recovery; ``local`` runs process groups on this machine, ``fake`` runs nothing (tests)."""
