# Optional services for the integration tests, `source`d by .ci/run (as root) before the tests.
#
# Starts a throwaway PostgreSQL cluster that listens on 127.0.0.1 only, creates a database for the ledger's
# PostgreSQL tests and exports GUARD_TEST_PG_URL. Without it those tests skip and say why.
#
# This file is sourced, so it never calls `exit`, sets no shell options and leaves only GUARD_TEST_PG_URL (and
# nothing at all on failure) behind. Every step returns early on failure instead of relying on `set -e`, and no
# variable is read unset, so the caller's `set -euo pipefail` cannot abort the CI run from in here.
#
# Knobs (optional): GUARD_CI_PG_PORT (default 54329).

_guard_ci_postgres() {
    local port="${GUARD_CI_PG_PORT:-54329}"
    local cluster="guard_ci" db="guard_test" role="guard" password="guard_ci_pw"
    local log="${TMPDIR:-/tmp}/guard-ci-services.log"
    local ver="" confdir="" i=0

    if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v pg_createcluster >/dev/null 2>&1; then
        echo "services: installing PostgreSQL from Debian's packages (log: $log)"
        if ! apt-get update >"$log" 2>&1; then
            echo "services: apt-get update failed"; tail -n 20 "$log"; return 1
        fi
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >>"$log" 2>&1; then
            echo "services: apt-get install postgresql failed"; tail -n 20 "$log"; return 1
        fi
    fi

    ver="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)"
    if [ -z "$ver" ] || [ ! -x "/usr/lib/postgresql/$ver/bin/postgres" ]; then
        echo "services: no PostgreSQL server binary found under /usr/lib/postgresql"; return 1
    fi

    # A cluster of our own, so whatever else the machine runs (a default 'main' cluster on 5432) is left alone.
    confdir="/etc/postgresql/$ver/$cluster"
    if [ ! -d "$confdir" ]; then
        if ! pg_createcluster --locale C.UTF-8 -p "$port" "$ver" "$cluster" -- --auth-local=peer --auth-host=scram-sha-256 >>"$log" 2>&1; then
            echo "services: pg_createcluster $ver $cluster failed"; tail -n 20 "$log"; return 1
        fi
    fi
    mkdir -p "$confdir/conf.d" || return 1
    printf "listen_addresses = '127.0.0.1'\nport = %s\nssl = off\nfsync = on\n" "$port" >"$confdir/conf.d/guard-ci.conf" || return 1
    chown -R postgres:postgres "$confdir/conf.d" 2>/dev/null || true

    if ! pg_ctlcluster "$ver" "$cluster" status >/dev/null 2>&1; then
        if ! pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" start >>"$log" 2>&1; then
            echo "services: pg_ctlcluster $ver $cluster start failed"; tail -n 20 "$log"
            tail -n 20 "/var/log/postgresql/postgresql-$ver-$cluster.log" 2>/dev/null
            return 1
        fi
    fi
    i=0
    until pg_isready -q -h 127.0.0.1 -p "$port"; do
        i=$((i + 1))
        if [ "$i" -ge 60 ]; then echo "services: PostgreSQL did not accept connections on 127.0.0.1:$port"; return 1; fi
        sleep 0.5
    done

    # Role and database, idempotent so a re-run on the same machine is fine.
    if ! runuser -u postgres -- psql -X -q -p "$port" -d postgres -v ON_ERROR_STOP=1 >>"$log" 2>&1 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role') THEN
    CREATE ROLE $role LOGIN PASSWORD '$password';
  ELSE
    ALTER ROLE $role LOGIN PASSWORD '$password';
  END IF;
END \$\$;
SQL
    then
        echo "services: could not create role $role"; tail -n 20 "$log"; return 1
    fi
    if [ "$(runuser -u postgres -- psql -X -qAt -p "$port" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'" 2>>"$log")" != "1" ]; then
        if ! runuser -u postgres -- createdb -p "$port" -O "$role" "$db" >>"$log" 2>&1; then
            echo "services: createdb $db failed"; tail -n 20 "$log"; return 1
        fi
    fi

    export GUARD_TEST_PG_URL="postgresql://$role:$password@127.0.0.1:$port/$db"
    echo "services: PostgreSQL $ver cluster $cluster up on 127.0.0.1:$port; GUARD_TEST_PG_URL exported"
    return 0
}

_guard_ci_postgres || echo "services: PostgreSQL unavailable; the ledger's PostgreSQL tests will be skipped"
unset -f _guard_ci_postgres
