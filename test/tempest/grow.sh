#!/usr/bin/env bash
# test/tempest/grow.sh — append the tests that passed in a run to test/tempest/pass.txt.
#
# usage: test/tempest/grow.sh WORKSPACE [PASS_LIST]
#   WORKSPACE  a run-tempest workspace (the directory holding results.tsv), as printed by
#              test/tempest/run.sh SELECTION...
#   PASS_LIST  default: test/tempest/pass.txt
# Only IDs not yet listed are appended, sorted and de-duplicated; existing lines and comments
# are left alone. Review the diff before committing: a test that passed once may be flaky.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 WORKSPACE [PASS_LIST]" >&2; exit 2; }
WS=$1
PASS_LIST=${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pass.txt}
RESULTS=$WS/results.tsv
[ -f "$RESULTS" ] || { echo "grow.sh: no $RESULTS" >&2; exit 2; }
touch "$PASS_LIST"

ids() { sed -e 's/#.*//' -e 's/[[:space:]]//g' -e 's/\[.*$//' "$1" | grep -v '^$' | sort -u; }
new=$(comm -23 \
  <(awk -F'\t' '$1 == "success" || $1 == "xfail" { id = $2; sub(/\[.*$/, "", id); print id }' "$RESULTS" | sort -u) \
  <(ids "$PASS_LIST"))
if [ -z "$new" ]; then
  echo "grow.sh: nothing new; $(ids "$PASS_LIST" | wc -l) tests listed in $PASS_LIST"
  exit 0
fi
# keep the file newline-terminated before appending
[ ! -s "$PASS_LIST" ] || [ -z "$(tail -c1 "$PASS_LIST")" ] || echo >>"$PASS_LIST"
printf '%s\n' "$new" >>"$PASS_LIST"
echo "grow.sh: added $(printf '%s\n' "$new" | wc -l) tests; $(ids "$PASS_LIST" | wc -l) listed in $PASS_LIST"
