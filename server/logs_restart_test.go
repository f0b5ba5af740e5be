package server_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/previewd/previewd/db"
)

// TestLogOutputWhileDown: the app prints numbered lines while previewd is
// down for 2 s; after the restart, the stored log holds every number exactly
// once, in order, with consecutive seqs, and the lines printed while previewd
// was down come after the system line that says it took the preview over.
func TestLogOutputWhileDown(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	gen := e.upload("alice", "printer")
	r := e.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	previewID := r.body["preview_id"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// About 5 s of printing, 100 lines every 10 ms at most.
	const n = 50000
	post(t, r.body["base_url"].(string)+"/print?n="+strconv.Itoa(n)+"&pause_every=100")
	e.waitStored(ctx, previewID, "n=2000")
	e.stop()
	stopped := time.Now()
	time.Sleep(2 * time.Second)
	started := time.Now()
	e.start()
	e.waitStored(ctx, previewID, "n="+strconv.Itoa(n-1))

	lines := e.allLogs(ctx, previewID)
	next, takeover, whileDown := 0, -1, 0
	for i, l := range lines {
		if l.Seq != int64(i+1) {
			t.Fatalf("line %d has seq %d", i, l.Seq)
		}
		if l.Stream == "system" && strings.HasPrefix(l.Line, "previewd restarted") {
			if takeover >= 0 || l.Line != "previewd restarted and took the preview over" {
				t.Errorf("system line %q at %d (an earlier one at %d)", l.Line, i, takeover)
			}
			takeover = i
		}
		num, ok := strings.CutPrefix(l.Line, "n=")
		if l.Stream != "stdout" || !ok {
			continue
		}
		if num != strconv.Itoa(next) {
			t.Fatalf("line %d (seq %d): %q, want n=%d (%s)", i, l.Seq, l.Line, next, around(lines, i))
		}
		next++
		if takeover >= 0 && l.TS.Before(started) {
			whileDown++
		}
	}
	if next != n {
		t.Fatalf("stored n=0..%d, want up to n=%d", next-1, n-1)
	}
	if takeover < 0 {
		t.Fatal("no system line says previewd took the preview over")
	}
	// Printed while no previewd ran: at up to 10,000 lines a second, 2 s
	// leave thousands.
	if whileDown < 1000 {
		t.Errorf("only %d lines printed while previewd was down (%v) were stored after the takeover", whileDown, started.Sub(stopped))
	}
	t.Logf("%d numbers stored once each, in order; %d of them printed while previewd was down and read after the restart", next, whileDown)
}

// waitStored waits until a stdout line equal to want is stored.
func (e *env) waitStored(ctx context.Context, previewID, want string) {
	e.t.Helper()
	for {
		var n int
		err := e.sql.QueryRowContext(ctx, `SELECT count(*) FROM preview_logs WHERE preview_id = $1 AND stream = 'stdout' AND line = $2`,
			previewID, want).Scan(&n)
		if err != nil {
			var last db.LogLine
			e.sql.QueryRow(`SELECT seq, stream, line FROM preview_logs WHERE preview_id = $1 ORDER BY seq DESC LIMIT 1`, previewID).Scan(&last.Seq, &last.Stream, &last.Line)
			_, stacks := ourGoroutines()
			e.t.Fatalf("waiting for %q to be stored: %v (last stored: %+v)\n%s", want, err, last, stacks)
		}
		if n > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// allLogs reads the whole stored log of a preview.
func (e *env) allLogs(ctx context.Context, previewID string) []db.LogLine {
	e.t.Helper()
	var lines []db.LogLine
	for {
		page, err := e.store.Logs(ctx, previewID, int64(len(lines)), 10000)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(page) == 0 {
			return lines
		}
		lines = append(lines, page...)
	}
}

// around shows the lines near i.
func around(lines []db.LogLine, i int) string {
	var b strings.Builder
	for _, l := range lines[max(0, i-3):min(len(lines), i+3)] {
		b.WriteString(strconv.FormatInt(l.Seq, 10) + " " + l.Stream + " " + l.Line + "; ")
	}
	return b.String()
}
