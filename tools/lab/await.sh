#!/usr/bin/env bash
# Wait for a command that `make test` started in the background (the lab images, built while the
# virtualenv is made and lint and unit run) and end as it ended: its log, then its exit code.
#   tools/lab/await.sh LOG RCFILE
set -uo pipefail
log=$1 rcfile=$2
while [ ! -s "$rcfile" ]; do
  sleep 1
done
cat "$log"
exit "$(cat "$rcfile")"
