"""The DSN of another database on the server CONCORD_DSN points at.

    python tests/harness/dsn_for.py DBNAME [--dsn DSN]            print its DSN
    python tests/harness/dsn_for.py DBNAME [--dsn DSN] -- CMD...  run CMD with PGHOST,
                                                                  PGPORT, ... set for it

Every other connection setting (host, port, user, password, sslmode, ...) is kept. The
second form is for tools that take no connection string, such as pg_prove.
"""

from __future__ import annotations

import argparse
import os
import sys

from psycopg.conninfo import conninfo_to_dict, make_conninfo

# libpq connection keywords and the environment variables libpq reads for them.
PG_ENV = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "client_encoding": "PGCLIENTENCODING",
    "channel_binding": "PGCHANNELBINDING",
    "sslmode": "PGSSLMODE",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcrl": "PGSSLCRL",
    "sslcompression": "PGSSLCOMPRESSION",
    "requirepeer": "PGREQUIREPEER",
    "gssencmode": "PGGSSENCMODE",
    "krbsrvname": "PGKRBSRVNAME",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "load_balance_hosts": "PGLOADBALANCEHOSTS",
}


def dsn_for(dbname: str, dsn: str) -> str:
    params = conninfo_to_dict(dsn)
    params["dbname"] = dbname
    return make_conninfo("", **params)


def pg_env(dsn: str) -> dict[str, str]:
    """os.environ with every PG* variable replaced by the settings of ``dsn``."""
    env = {k: v for k, v in os.environ.items() if k not in PG_ENV.values()}
    for key, value in conninfo_to_dict(dsn).items():
        if key not in PG_ENV:
            raise ValueError(f"connection setting {key!r} has no libpq environment variable")
        env[PG_ENV[key]] = str(value)
    return env


def main() -> int:
    argv = sys.argv[1:]
    command: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, command = argv[:at], argv[at + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dbname")
    parser.add_argument("--dsn", default=os.environ.get("CONCORD_DSN"))
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("CONCORD_DSN is not set (and no --dsn given)")
    dsn = dsn_for(args.dbname, args.dsn)
    if not command:
        print(dsn)
        return 0
    os.execvpe(command[0], command, pg_env(dsn))


if __name__ == "__main__":
    sys.exit(main())
