#!/bin/sh
# The PostgreSQL container's entrypoint (components/server.ts uploads it; docker's init is PID 1 and
# runs it). The postgres image initialises a data directory only when it is empty and then ignores
# POSTGRES_PASSWORD, so over a retained volume the server would keep the password of the stack that
# created it. On every start a helper waits for the real server, sets the owner's password from
# POSTGRES_PASSWORD over the local socket (which the image trusts), and records which postmaster it
# did that for; the healthcheck passes only for that postmaster, so Pulumi's wait and everything
# after it see a server that accepts the stack's current password. The password is never on a
# command line and never in the server's log.
#
#   memory-stack-postgres postgres [flags]   start the helper, then exec the image's docker-entrypoint.sh
#   memory-stack-postgres healthcheck        succeed when the server answers over TCP and has the password
set -eu

user=${POSTGRES_USER:-postgres}
port=${PGPORT:-5432}
marker=${MEMORY_STACK_RUN_DIR:-/run/memory-stack}/password-set

# "<pid> <start time>" of the running postmaster: lines 1 and 3 of its postmaster.pid.
postmaster() {
    sed -n '1p;3p' "$PGDATA/postmaster.pid" 2>/dev/null | tr '\n' ' '
}

if [ "${1:-}" = healthcheck ]; then
    pg_isready -q -h 127.0.0.1 -p "$port" -U "$user" -d "${POSTGRES_DB:-$user}" || exit 1
    [ -s "$marker" ] && [ "$(cat "$marker")" = "$(postmaster)" ]
    exit
fi

set_password() {
    # The image's init-time server listens on the socket only: TCP answers once the real server runs.
    until pg_isready -q -h 127.0.0.1 -p "$port"; do
        kill -0 "$main" 2>/dev/null || exit 0
        sleep 1
    done
    tries=0
    # The password reaches psql through its environment (\getenv), and for the statement that carries it
    # the server neither logs it (as a statement, a failed one's, a slow one or a sampled one: a sampled
    # transaction logs every statement it runs) nor keeps its text (pg_stat_activity, and pg_stat_statements,
    # which keeps a utility statement's text verbatim, when an image preloads it; setting it is harmless when
    # not); terse errors never echo the statement.
    until psql -X -q -v ON_ERROR_STOP=1 -v owner="$user" -p "$port" -U "$user" -d postgres <<'SQL'
\set VERBOSITY terse
\getenv password POSTGRES_PASSWORD
set log_statement = 'none';
set log_min_error_statement = 'panic';
set log_min_duration_statement = -1;
set log_min_duration_sample = -1;
set log_transaction_sample_rate = 0;
set track_activities = off;
set pg_stat_statements.track_utility = off;
set password_encryption = 'scram-sha-256';
alter role :"owner" with password :'password';
SQL
    do
        tries=$((tries + 1))
        if [ "$tries" -ge 30 ] || ! kill -0 "$main" 2>/dev/null; then
            echo "memory-stack: could not set the password of role \"$user\"; the healthcheck stays unhealthy" >&2
            exit 1
        fi
        sleep 2
    done
    postmaster > "$marker.tmp"
    mv "$marker.tmp" "$marker"
    echo "memory-stack: role \"$user\" has the stack's password"
}

main=$$
mkdir -p "$(dirname "$marker")"
rm -f "$marker"
# From a subshell that exits at once: the helper's parent becomes PID 1 (docker's init), which reaps
# it, rather than the postmaster this process is about to become.
(set_password &)
exec docker-entrypoint.sh "$@"
