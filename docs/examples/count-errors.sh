#!/bin/sh
# count-errors.sh LOG OUT [TOP]
#
# Copy the ERROR lines of the log file LOG into OUT, then print the TOP
# (default 3) commonest error messages, most frequent first, each with its
# count, and finally the number of error lines. A log without errors is not
# a failure; a LOG that grep cannot read is (the script exits with grep's
# status).
#
# Log lines look like "2024-05-01T10:00:00 ERROR disk full": a timestamp,
# a level, then the message. Written for Cuprum's users' guide ("Porting
# shell scripts"); docs/examples/count_errors.py is its port.
set -eu

log=$1
out=$2
top=${3:-3}

# grep exits 1 when nothing matches: accept it, fail on anything else.
status=0
grep -e ' ERROR ' -- "$log" > "$out" || status=$?
if [ "$status" -gt 1 ]; then
    exit "$status"
fi

# The message is everything after the timestamp and the level. head stops
# reading after TOP lines; sort may still be writing, and gets SIGPIPE.
cut -d ' ' -f 3- < "$out" | sort | uniq -c | sort -rn | head -n "$top"
wc -l < "$out"
