package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// streamLog records what the pacer writes to either stream, in one order.
type streamLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *streamLog) writer(stream string) writerFunc {
	var partial string
	return func(b []byte) (int, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		s := partial + string(b)
		for {
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				break
			}
			l.lines = append(l.lines, stream+": "+s[:i])
			s = s[i+1:]
		}
		partial = s
		return len(b), nil
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// checkInterleaving fails unless every "err N" comes within slack lines
// after "count N", and every line is there.
func checkInterleaving(t *testing.T, lines []string, counts, every, slack int) {
	t.Helper()
	at := map[string]int{}
	for i, l := range lines {
		_, text, _ := strings.Cut(l, ": ")
		at[text] = i
	}
	if want := counts + counts/every; len(lines) != want {
		t.Errorf("%d lines, want %d", len(lines), want)
	}
	late := 0
	for n := every; n <= counts; n += every {
		c, okc := at[fmt.Sprintf("count %d", n)]
		e, oke := at[fmt.Sprintf("err %d", n)]
		if !okc || !oke {
			t.Errorf("count %d or err %d missing", n, n)
			continue
		}
		if e < c || e > c+slack {
			late++
			t.Logf("err %d is at line %d, count %d at %d", n, e, n, c)
		}
	}
	if late > 0 {
		t.Errorf("%d of %d stderr lines out of place by more than %d lines", late, counts/every, slack)
	}
}

func TestOutputPacerKeepsOrderAcrossStreams(t *testing.T) {
	lim := newLineLimiter(1000, &strings.Builder{})
	var slept time.Duration
	lim.sleep = func(d time.Duration) { slept += d; time.Sleep(d / 10) } // paced, ten times faster
	p := newOutputPacer(lim)
	var got streamLog
	outW, errW, err := p.start(got.writer("stdout"), got.writer("stderr"))
	if err != nil {
		t.Fatal(err)
	}
	// The app: one write per line, as an unbuffered app makes, and a pause
	// after each stderr line. Lines printed closer together than the time
	// the shim takes to read a write may swap; the pause keeps the test from
	// depending on how busy the machine is.
	for i := 1; i <= 3000; i++ {
		fmt.Fprintf(outW, "count %d\n", i)
		if i%100 == 0 {
			fmt.Fprintf(errW, "err %d\n", i)
			time.Sleep(50 * time.Millisecond)
		}
	}
	p.closeChildEnds()
	p.finish(time.Second)
	if slept < time.Second {
		t.Errorf("slept %s in all, want 3030 lines at 1000/s with a burst of 1000 paced", slept)
	}
	for _, l := range got.lines {
		if strings.HasPrefix(l, "stdout: err") || strings.HasPrefix(l, "stderr: count") {
			t.Fatalf("%q went to the wrong stream", l)
		}
	}
	checkInterleaving(t, got.lines, 3000, 100, 5)
}

func TestOutputPacerFinishEndsWithAHeldPipe(t *testing.T) {
	p := newOutputPacer(newLineLimiter(1000, &strings.Builder{}))
	var got streamLog
	outW, errW, err := p.start(got.writer("stdout"), got.writer("stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer outW.Close() // held open, like a process the app left behind
	defer errW.Close()
	fmt.Fprintf(outW, "last words\n")
	start := time.Now()
	p.finish(200 * time.Millisecond)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("finish took %s with a pipe held open, want about its grace", took)
	}
	if len(got.lines) != 1 || got.lines[0] != "stdout: last words" {
		t.Errorf("written %q, want the line printed before the end", got.lines)
	}
}

func TestCutLines(t *testing.T) {
	for _, tc := range []struct {
		in        string
		n         int
		want      string
		wantLines int
	}{
		{"a\nb\nc\n", 2, "a\nb\n", 2},
		{"a\nb\nc", 5, "a\nb\nc", 2},
		{"abc", 1, "abc", 0},
		{"a\n", 1, "a\n", 1},
	} {
		got, lines := cutLines([]byte(tc.in), tc.n)
		if string(got) != tc.want || lines != tc.wantLines {
			t.Errorf("cutLines(%q, %d) = %q, %d; want %q, %d", tc.in, tc.n, got, lines, tc.want, tc.wantLines)
		}
	}
}

// The whole shim, with its stdout and stderr on one pipe as the engine's
// log orders them: a stderr line printed among many stdout lines comes out
// where it was printed, not after lines printed later (see the pause in
// TestOutputPacerKeepsOrderAcrossStreams).
func TestShimPacedOutputKeepsOrderAcrossStreams(t *testing.T) {
	var both strings.Builder
	p := startShimOut(t, &both, &both, "PREVIEW_OUTPUT_LINES=1000")
	app := `i=1; while [ $i -le 3000 ]; do echo "count $i"; if [ $((i % 100)) -eq 0 ]; then echo "err $i" >&2; sleep 0.05; fi; i=$((i+1)); done`
	body, _ := json.Marshal(map[string]any{"argv": []string{"sh", "-c", app}})
	if code, msg := p.do(t, http.MethodPost, "/start", bytes.NewReader(body)); code != http.StatusNoContent {
		t.Fatalf("POST /start = %d %q", code, msg)
	}
	if code := p.exitCode(t); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	var lines []string
	for _, l := range strings.Split(both.String(), "\n") {
		if strings.HasPrefix(l, "count ") || strings.HasPrefix(l, "err ") {
			lines = append(lines, "any: "+l)
		}
	}
	checkInterleaving(t, lines, 3000, 100, 5)
}

// A line for stderr waits until the engine (here: a slow reader) has read
// what went to stdout before it, so that the engine, which stamps each
// stream's lines as it reads them, cannot stamp the stderr line first.
func TestOutputPacerHandsOffBetweenStreams(t *testing.T) {
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	defer outW.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer errR.Close()
	defer errW.Close()

	p := newOutputPacer(newLineLimiter(1000, &strings.Builder{}))
	appOut, appErr, err := p.start(outW, errW)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(appOut, "count 1")
	time.Sleep(20 * time.Millisecond) // queued and written to outW, where nobody reads yet
	fmt.Fprintln(appErr, "err 1")

	got := make(chan time.Time, 1)
	go func() {
		buf := make([]byte, 64)
		errR.Read(buf)
		got <- time.Now()
	}()
	time.Sleep(50 * time.Millisecond)
	readOut := time.Now()
	buf := make([]byte, 64)
	if n, _ := outR.Read(buf); string(buf[:n]) != "count 1\n" {
		t.Errorf("stdout got %q", buf[:n])
	}
	select {
	case at := <-got:
		if at.Before(readOut) {
			t.Errorf("the stderr line was written %s before stdout was read", readOut.Sub(at))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stderr line was never written")
	}
	p.closeChildEnds()
	p.finish(time.Second)
}
