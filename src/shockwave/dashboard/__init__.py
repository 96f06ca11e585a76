"""The live dashboard: one page (``static/``) over two sources of the same picture, a running
service (``from_service``) and a saved simulation (``from_result``), both reduced to the wire
models of ``model``. docs/operations.md describes it."""
