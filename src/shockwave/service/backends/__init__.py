"""Executor backends: where attempts run. Four verbs (start, poll, stop, kill) plus ``alive`` for
recovery and ``unavailable_slots`` for the inventory; ``local`` runs process groups on this
machine, ``ray`` runs each rank as an actor on a Ray cluster's nodes (the ``[ray]`` extra; only
``ray.py`` imports ray), ``fake`` runs nothing (tests). ``gang`` holds the exit rules they share."""
