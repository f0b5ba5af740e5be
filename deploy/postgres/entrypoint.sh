#!/bin/sh
# Creates the cluster, its superuser POSTGRES_USER (password
# POSTGRES_PASSWORD) and database POSTGRES_DB on first start, then runs
# PostgreSQL in the foreground.
set -eu
: "${POSTGRES_USER:=previewd}" "${POSTGRES_DB:=previewd}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
	pwfile="$(mktemp)"
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
	initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
		--auth-local=trust --auth-host=scram-sha-256 >/dev/null
	rm -f "$pwfile"
	echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
	printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
	# Local socket only while the database is created.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
	if [ "$POSTGRES_DB" != postgres ]; then
		createdb -U "$POSTGRES_USER" "$POSTGRES_DB"
	fi
	pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
	echo "postgres: cluster created in $PGDATA"
fi
exec postgres -D "$PGDATA"
