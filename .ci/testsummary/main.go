// Command testsummary reads `go test -json` on standard input and prints what
// a plain `go test` prints (each package's result, the output of failing
// tests), then every skipped test with its reason and a closing count, so
// that no skip goes unnoticed. It exits 1 when a test or a package failed.
//
//	go test -json ./... | go run .ci/testsummary/main.go
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string
}

type testKey struct{ pkg, test string }

type skip struct {
	testKey
	reason string
}

func main() {
	failed, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// summarize copies the result of r to w as described above and reports
// whether anything failed.
func summarize(r io.Reader, w io.Writer) (failed bool, err error) {
	out := map[testKey][]string{}
	var skips []skip
	var passed, failedTests int
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if json.Unmarshal(line, &e) != nil {
			// Not an event (go vet's or the linker's own words): pass it on.
			fmt.Fprintf(w, "%s\n", line)
			continue
		}
		k := testKey{e.Package, e.Test}
		switch {
		case e.Action == "build-output":
			fmt.Fprint(w, e.Output)
		case e.Action == "build-fail":
			failed = true
		case e.Test == "":
			switch e.Action {
			case "output":
				if e.Output != "PASS\n" && !strings.HasPrefix(e.Output, "=== ") {
					fmt.Fprint(w, e.Output)
				}
			case "fail":
				failed = true
			}
		case e.Action == "output":
			out[k] = append(out[k], e.Output)
		case e.Action == "pass":
			passed++
			delete(out, k)
		case e.Action == "fail":
			failedTests++
			failed = true
			fmt.Fprint(w, strings.Join(out[k], ""))
			delete(out, k)
		case e.Action == "skip":
			skips = append(skips, skip{k, skipReason(out[k])})
			delete(out, k)
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	if len(skips) > 0 {
		fmt.Fprintf(w, "\n%d skipped:\n", len(skips))
		for _, s := range skips {
			fmt.Fprintf(w, "  %s %s: %s\n", s.pkg, s.test, s.reason)
		}
	}
	fmt.Fprintf(w, "\ntests: %d passed, %d failed, %d skipped\n", passed, failedTests, len(skips))
	return failed, nil
}

// skipReason is what a skipped test said before its "--- SKIP" line: the
// message of t.Skip, or "no reason given".
func skipReason(lines []string) string {
	var said []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		said = append(said, t)
	}
	if len(said) == 0 {
		return "no reason given"
	}
	return strings.Join(said, " / ")
}
