package localpg_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/previewd/previewd/db/localpg"
)

// needPostgres skips the test when PostgreSQL is not installed, except in CI,
// where the integration tests must run and a missing install is a failure.
func needPostgres(t *testing.T) {
	t.Helper()
	if _, err := localpg.BinDir(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and PostgreSQL is missing: %v", err)
		}
		t.Skipf("PostgreSQL is not installed: %v", err)
	}
}

// testLog sends what localpg writes to the test log, seen with -v or on failure.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func queryOne(t *testing.T, dsn, query string) string {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(t.Context(), query).Scan(&v); err != nil {
		t.Fatalf("%s on %s: %v", query, dsn, err)
	}
	return v
}

func TestThrowawayCluster(t *testing.T) {
	needPostgres(t)
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "pg")

	begin := time.Now()
	c, err := localpg.Start(t.Context(), localpg.Options{Dir: dir, Throwaway: true, Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("throwaway cluster accepting connections after %v", time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() { _ = c.Stop() })

	url, err := c.CreateDatabase(t.Context(), "app_test")
	if err != nil {
		t.Fatal(err)
	}
	if got := queryOne(t, url, "SELECT current_database()"); got != "app_test" {
		t.Errorf("current_database() = %q, want app_test", got)
	}
	if got := queryOne(t, url, "SHOW fsync"); got != "off" {
		t.Errorf("fsync = %q on a throwaway cluster, want off", got)
	}
	if got := queryOne(t, url, "SHOW max_connections"); got != "200" {
		t.Errorf("max_connections = %q, want 200", got)
	}
	if _, err := c.CreateDatabase(t.Context(), "app_test"); !errors.Is(err, localpg.ErrDatabaseExists) {
		t.Errorf("second CreateDatabase: got %v, want ErrDatabaseExists", err)
	}
	if _, err := c.CreateDatabase(t.Context(), "Bad-Name; DROP"); err == nil {
		t.Error("CreateDatabase accepted an invalid name")
	}

	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster dir after Stop: %v, want it gone", err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestPersistentClusterIsReused(t *testing.T) {
	needPostgres(t)
	t.Parallel()
	// Two levels below the test's temp dir, which is 0700 and owned by
	// whoever runs the test: as root this exercises making parents reachable.
	dir := filepath.Join(t.TempDir(), "data", "pg")
	ctx := t.Context()

	first, err := localpg.Start(ctx, localpg.Options{Dir: dir, Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = first.Stop() })
	if _, err := first.CreateDatabase(ctx, "kept"); err != nil {
		t.Fatal(err)
	}

	second, err := localpg.Start(ctx, localpg.Options{Dir: dir, Log: testLog{t}})
	if err != nil {
		t.Fatalf("second Start on a running cluster: %v", err)
	}
	if first.URL("kept") != second.URL("kept") {
		t.Errorf("second Start gave %s, want the running server %s", second.URL("kept"), first.URL("kept"))
	}
	started := queryOne(t, first.URL("kept"), "SELECT pg_postmaster_start_time()::text")
	if got := queryOne(t, second.URL("kept"), "SELECT pg_postmaster_start_time()::text"); got != started {
		t.Errorf("second Start started another server (start time %s, first %s)", got, started)
	}

	if err := second.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := first.Stop(); err != nil {
		t.Errorf("Stop of an already stopped server: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err != nil {
		t.Fatalf("persistent cluster dir after Stop: %v", err)
	}

	// Started again from the stopped data dir: no initdb, the data is still there.
	third, err := localpg.Start(ctx, localpg.Options{Dir: dir, Log: testLog{t}})
	if err != nil {
		t.Fatalf("Start on a stopped cluster: %v", err)
	}
	t.Cleanup(func() { _ = third.Stop() })
	if got := queryOne(t, third.URL("kept"), "SELECT current_database()"); got != "kept" {
		t.Errorf("after restart current_database() = %q, want kept", got)
	}
	if err := third.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

// BenchmarkStartThrowaway measures initdb plus start plus stop of a throwaway
// cluster, the price a test package pays for its own server.
func BenchmarkStartThrowaway(b *testing.B) {
	if _, err := localpg.BinDir(); err != nil {
		b.Skip(err)
	}
	for b.Loop() {
		c, err := localpg.Start(context.Background(), localpg.Options{Throwaway: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Stop(); err != nil {
			b.Fatal(err)
		}
	}
}
