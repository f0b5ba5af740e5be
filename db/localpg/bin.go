package localpg

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNotInstalled reports that no PostgreSQL server binaries were found.
var ErrNotInstalled = errors.New("postgresql server binaries not found")

// BinDir returns the directory holding initdb, pg_ctl and postgres: $PG_BIN when
// set, else `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin.
// The error wraps ErrNotInstalled when none of them has the server binaries.
func BinDir() (string, error) {
	if d := os.Getenv("PG_BIN"); d != "" {
		if !hasServer(d) {
			return "", fmt.Errorf("PG_BIN=%s has no initdb, pg_ctl and postgres: %w", d, ErrNotInstalled)
		}
		return d, nil
	}
	// pg_config can come from libpq-dev alone and then name a bin dir that holds
	// client programs only, so its answer is checked like the others.
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); hasServer(d) {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return majorVersion(dirs[i]) > majorVersion(dirs[j]) })
	for _, d := range dirs {
		if hasServer(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("looked in $PG_BIN, pg_config --bindir and /usr/lib/postgresql/*/bin (install postgresql-15): %w", ErrNotInstalled)
}

func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// majorVersion reads NN from /usr/lib/postgresql/NN/bin; a plain string sort
// would put 9.6 after 15.
func majorVersion(binDir string) float64 {
	v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	if err != nil {
		return -1
	}
	return v
}
