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
# The C library the data directory's text indexes were built with (musl on Alpine images, glibc on Debian ones).
libc_file=$PGDATA/memory-stack-libc

# "<pid> <start time>" of the running postmaster: lines 1 and 3 of its postmaster.pid.
postmaster() {
    sed -n '1p;3p' "$PGDATA/postmaster.pid" 2>/dev/null | tr '\n' ' '
}

if [ "${1:-}" = healthcheck ]; then
    pg_isready -q -h 127.0.0.1 -p "$port" -U "$user" -d "${POSTGRES_DB:-$user}" || exit 1
    [ -s "$marker" ] && [ "$(cat "$marker")" = "$(postmaster)" ]
    exit
fi

# musl sorts text byte by byte whatever the locale; glibc by the locale's rules. glibc's getconf prints "glibc 2.36";
# musl's may print nothing and succeed, and the Alpine images may have no getconf at all.
libc() {
    case $(getconf GNU_LIBC_VERSION 2> /dev/null || true) in
        glibc*) echo glibc ;;
        *) echo musl ;;
    esac
}

# A btree index on text is in the order of the C library that built it: read with the other, lookups miss rows and
# unique indexes let duplicates in, without an error (PostgreSQL records no collation version under musl to compare).
refuse_libc() {
    echo "memory-stack: this data directory's text indexes were built by an image on $1 and this image runs on $(libc):" \
        "the two C libraries sort text differently, so its text indexes (the memory tables' agent_name, status and" \
        "memory_key, the application's own, unique ones included) would miss rows and let duplicates in." \
        "The server is not started. Set memory-stack:image back to one on $1 (musl: the Alpine images such as" \
        "postgres:15-alpine; glibc: the Debian ones such as postgres:15 and pgvector/pgvector:pg15, which" \
        "memory-stack:vector true picks when no image is set), or move the data to the new image" \
        "with pg_dump and pg_restore into a new volume (docs/lifecycle.md)." >&2
}

# Which C library built the data directory: the record, or for one without (first start, or from before the record)
# what PostgreSQL 15 stored: glibc's collation version, none under musl; C, C.UTF-8 and POSIX sort the same under both.
check_libc() {
    if [ ! -s "$libc_file" ]; then
        built=$(psql -X -A -t -q -p "$port" -U "$user" -d postgres -c "select case when datcollate in ('C', 'POSIX') or datcollate like 'C.%' then 'any'
            when datcollversion is null then 'musl' else 'glibc' end from pg_catalog.pg_database where datname = current_database()") || return 1
        echo "${built:-$(libc)}" > "$libc_file.tmp"
        chown "$(stat -c %u:%g "$PGDATA")" "$libc_file.tmp"
        mv "$libc_file.tmp" "$libc_file"
    fi
    built=$(cat "$libc_file")
    if [ "$built" != any ] && [ "$built" != "$(libc)" ]; then
        refuse_libc "$built"
        kill -INT "$main"
        exit 1
    fi
}

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
    check_libc || { echo "memory-stack: could not read which C library built the data directory" >&2; exit 1; }
    postmaster > "$marker.tmp"
    mv "$marker.tmp" "$marker"
    echo "memory-stack: role \"$user\" has the stack's password"
}

built=$(cat "$libc_file" 2> /dev/null || true)
if [ -n "$built" ] && [ "$built" != any ] && [ "$built" != "$(libc)" ]; then
    refuse_libc "$built"
    exit 1
fi
main=$$
mkdir -p "$(dirname "$marker")"
rm -f "$marker"
# From a subshell that exits at once: the helper's parent becomes PID 1 (docker's init), which reaps
# it, rather than the postmaster this process is about to become.
(set_password &)
exec docker-entrypoint.sh "$@"
