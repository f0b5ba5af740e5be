// Package sql holds previewd's schema migrations: numbered .sql files applied in
// order at start-up by db.Migrate.
package sql

import "embed"

// Migrations holds every NNNN_name.sql file of this directory.
//
//go:embed *.sql
var Migrations embed.FS
