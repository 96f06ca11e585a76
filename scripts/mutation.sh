#!/usr/bin/env bash
# Mutation run over the scheduling core (docs/testing.md): metrics.py, mechanism.py, planner.py,
# sim/ and policies/, configured in pyproject.toml ([tool.mutmut]).
#
#   scripts/mutation.sh              # full run from scratch (removes mutants/), then the summary
#   scripts/mutation.sh --resume     # continue an interrupted run, keeping finished verdicts
#   scripts/mutation.sh NAME...      # re-run only these mutants (globs allowed), e.g. after a fix
#
# Needs the dev extra (pip install -e '.[dev]'). Writes mutants/ (git-ignored) and
# mutants/summary.txt; mutmut results / mutmut show NAME inspect it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
children="${MUTMUT_CHILDREN:-$(nproc)}"
if [ "${1:-}" = "--resume" ]; then
  shift
elif [ "$#" -eq 0 ]; then
  rm -rf mutants
fi
start=$(date +%s)
mutmut run --max-children "$children" "$@" || true
echo "wall time: $(( $(date +%s) - start )) s" | tee mutants/wall-time.txt
python scripts/mutation_summary.py | tee mutants/summary.txt
