package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// runHooked runs argv with the runtimes' stdio hooks loaded (as the images
// load them: previewd-lazy.pth for Python, NODE_OPTIONS for Node) and the
// pacer's pipes as its output, and returns what the pacer wrote, in order.
func runHooked(t *testing.T, argv ...string) []string {
	t.Helper()
	return runHookedAll(t, 1_000_000, argv)
}

// runHookedAll runs the commands at once, all writing to one pacer's pipes
// as processes of one app do, paced at linesPerSec.
func runHookedAll(t *testing.T, linesPerSec int, cmds ...[]string) []string {
	t.Helper()
	for _, argv := range cmds {
		if _, err := exec.LookPath(argv[0]); err != nil {
			t.Skipf("%s is not installed on this host: %v", argv[0], err)
		}
	}
	p := newOutputPacer(newLineLimiter(linesPerSec, &strings.Builder{}))
	var got streamLog
	outW, errW, err := p.start(got.writer("stdout"), got.writer("stderr"))
	if err != nil {
		t.Fatal(err)
	}
	images, err := filepath.Abs("../../images")
	if err != nil {
		t.Fatal(err)
	}
	f, v := p.orderedEnd(3)
	var started []*exec.Cmd
	for _, argv := range cmds {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.ExtraFiles = []*os.File{f}
		cmd.Env = append(os.Environ(), v, "PYTHONPATH="+filepath.Join(images, "python"),
			"NODE_OPTIONS=--require "+filepath.Join(images, "node", "stdio.js"))
		cmd.Stdout, cmd.Stderr = outW, errW
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		started = append(started, cmd)
	}
	p.closeChildEnds()
	for _, cmd := range started {
		_ = cmd.Wait()
	}
	p.finish(time.Second)
	return got.lines
}

// An app that prints thousands of lines as fast as it can, with a stderr
// line after every hundredth: through the hooks every stderr line comes
// right after the stdout line printed before it. With two pipes alone they
// landed hundreds of lines later.
func TestHookedOutputKeepsExactOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		argv []string
	}{
		{"python", []string{"python3", "-c", `import previewd_stdio, sys
for i in range(1, 3001):
    print(f"count {i}")
    if i % 100 == 0:
        print(f"err {i}", file=sys.stderr)
`}},
		{"node", []string{"node", "-e", `for (let i = 1; i <= 3000; i++) {
  console.log("count " + i);
  if (i % 100 === 0) console.error("err " + i);
}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := runHooked(t, tc.argv...)
			for _, l := range lines {
				if strings.HasPrefix(l, "stdout: err") || strings.HasPrefix(l, "stderr: count") {
					t.Fatalf("%q went to the wrong stream", l)
				}
			}
			checkInterleaving(t, lines, 3000, 100, 1)
		})
	}
}

// What the hooks do not see still arrives: a write to fd 2 behind the hook's
// back, a traceback, a line longer than a frame, and Node's own report of an
// uncaught exception.
func TestHookedOutputLosesNothing(t *testing.T) {
	long := strings.Repeat("x", 10000)
	lines := runHooked(t, "python3", "-c", `import previewd_stdio, os, sys
print("first")
os.write(2, b"raw stderr\n")
print("`+long+`")
sys.stdout.buffer.write(b"bytes\n")
raise ValueError("boom")
`)
	joined := strings.Join(lines, "\n")
	for _, want := range []string{"stdout: first", "stderr: raw stderr", "stdout: " + long, "stdout: bytes", "stderr: ValueError: boom"} {
		if !strings.Contains(joined, want) {
			t.Errorf("python: no %.60q in %.300q", want, joined)
		}
	}
	lines = runHooked(t, "node", "-e", `console.log("first"); require("fs").writeSync(2, "raw stderr\n");
process.stdout.write("`+long+`\n"); process.stdout.write(Buffer.from("bytes\n"));
throw new TypeError("boom");`)
	joined = strings.Join(lines, "\n")
	for _, want := range []string{"stdout: first", "stderr: raw stderr", "stdout: " + long, "stdout: bytes", "stderr: TypeError: boom"} {
		if !strings.Contains(joined, want) {
			t.Errorf("node: no %.60q in %.300q", want, joined)
		}
	}
}

// A Node app that starts a worker thread keeps running when the worker
// ends, and what the worker prints arrives through the main thread's hooked
// streams. A hook that replaced the worker's own process.stdout made Node's
// worker code crash the process as the worker's event loop first ran.
func TestNodeHookKeepsWorkerThreads(t *testing.T) {
	lines := runHooked(t, "node", "-e", `const { Worker } = require("worker_threads");
console.log("main before");
const w = new Worker('console.log("worker out"); console.error("worker err"); setTimeout(() => {}, 50);', { eval: true });
w.on("exit", (code) => console.log("main after the worker, code " + code));`)
	joined := strings.Join(lines, "\n")
	for _, want := range []string{"stdout: main before", "stdout: worker out", "stderr: worker err", "stdout: main after the worker, code 0"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %q in %q", want, joined)
		}
	}
}

// The pacer keeps the ordered pipe full while an app prints faster than
// its rate. A Node app printing far more than the pipe holds, with nobody
// reading it, must go on (its event loop serves requests meanwhile): the
// hook queues the writes, as Node's own stdout does on a pipe, instead of
// waiting for room. Everything queued still arrives, in order, once read.
func TestNodeHookDoesNotBlock(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skipf("node is not installed on this host: %v", err)
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil { // blocking, as the shim's
		t.Fatal(err)
	}
	ordR, ordW := os.NewFile(uintptr(fds[0]), "ordered-r"), os.NewFile(uintptr(fds[1]), "ordered-w")
	defer ordR.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fds[1], &st); err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	images, _ := filepath.Abs("../../images/node")
	const lines = 10_000 // 1.1 MB; a pipe holds 64 KiB
	cmd := exec.Command("node", "-e", `for (let i = 0; i < `+fmt.Sprint(lines)+`; i++) console.log("line " + i + " " + "x".repeat(100));
require("fs").writeSync(1, "went on\n");`)
	cmd.ExtraFiles = []*os.File{ordW}
	cmd.Env = append(os.Environ(), fmt.Sprintf("PREVIEWD_STDIO=3:%d", st.Ino), "NODE_OPTIONS=--require "+filepath.Join(images, "stdio.js"))
	cmd.Stdout, cmd.Stderr = outW, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ordW.Close()
	outW.Close()
	// Only a hook that blocks gets here: the app would wait forever.
	kill := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
	defer kill.Stop()
	got, _ := bufio.NewReader(outR).ReadString('\n')
	if got != "went on\n" {
		t.Fatalf("stdout %q: the app did not go on while the ordered pipe was full", got)
	}

	all, err := io.ReadAll(ordR)
	if err != nil {
		t.Fatal(err)
	}
	var text []byte
	for len(all) >= frameHeader {
		stream, size := all[0], int(all[1])<<8|int(all[2])
		if stream != 1 || frameHeader+size > min(len(all), maxFrameSize) {
			t.Fatalf("not a whole stdout frame at %d bytes from the end: %q", len(all), all[:min(len(all), 16)])
		}
		text = append(text, all[frameHeader:frameHeader+size]...)
		all = all[frameHeader+size:]
	}
	if len(all) > 0 {
		t.Errorf("%d bytes after the last frame", len(all))
	}
	printed := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	if len(printed) != lines {
		t.Fatalf("%d lines arrived, want %d", len(printed), lines)
	}
	for i, l := range printed {
		if want := fmt.Sprintf("line %d %s", i, strings.Repeat("x", 100)); l != want {
			t.Fatalf("line %d is %.40q, want %.40q", i, l, want)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("the app: %v", err)
	}
}

// Processes sharing the ordered pipe (child processes given it) never split
// each other's frames, even when the pipe is full and a write takes only
// part of what is queued: every line of each that fits a frame arrives
// whole, in its order. (A longer line is several frames, between which
// another process's may come, as with writes to a plain pipe.)
func TestNodeHookFramesAreAtomic(t *testing.T) {
	const app = `const who = process.argv[1];
for (let i = 0; i < 3000; i++) {
  const n = (i * 7919) % 4000; // up to 4000 bytes: one frame
  process.stdout.write(who + " " + i + " " + String.fromCharCode(97 + i % 26).repeat(n) + "\n");
}`
	lines := runHookedAll(t, 5_000, []string{"node", "-e", app, "a"}, []string{"node", "-e", app, "b"})
	next := map[string]int{"a": 0, "b": 0}
	for _, l := range lines {
		var who string
		var i int
		var rest string
		if _, err := fmt.Sscanf(l, "stdout: %s %d %s", &who, &i, &rest); err != nil && !strings.HasSuffix(l, " ") {
			t.Fatalf("a broken line: %.80q", l)
		}
		n, ok := next[who]
		want := fmt.Sprintf("stdout: %s %d %s", who, n, strings.Repeat(string(rune('a'+n%26)), n*7919%4000))
		if !ok || l != want {
			t.Fatalf("got %.80q (%d bytes), want %.80q (%d bytes)", l, len(l), want, len(want))
		}
		next[who]++
	}
	if next["a"] != 3000 || next["b"] != 3000 {
		t.Errorf("%d and %d lines arrived, want 3000 of each", next["a"], next["b"])
	}
}

// A process that did not inherit the ordered pipe (the fd is something else,
// or closed) keeps its own stdout and stderr.
func TestHookIgnoresAForeignFD(t *testing.T) {
	images, _ := filepath.Abs("../../images")
	for _, tc := range []struct {
		name string
		argv []string
	}{
		{"python", []string{"python3", "-c", `import previewd_stdio; print("plain")`}},
		{"node", []string{"node", "-e", `console.log("plain")`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := exec.LookPath(tc.argv[0]); err != nil {
				t.Skipf("%s is not installed on this host: %v", tc.argv[0], err)
			}
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			defer w.Close()
			var stdout bytes.Buffer
			cmd := exec.Command(tc.argv[0], tc.argv[1:]...)
			cmd.ExtraFiles = []*os.File{w}
			cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(images, "python"),
				"NODE_OPTIONS=--require "+filepath.Join(images, "node", "stdio.js"),
				"PREVIEWD_STDIO=3:1") // a pipe, but not that inode
			cmd.Stdout = &stdout
			if err := cmd.Run(); err != nil {
				t.Fatal(err)
			}
			if stdout.String() != "plain\n" {
				t.Errorf("stdout %q, want the line written as it is", stdout.String())
			}
		})
	}
}

func TestPushFrames(t *testing.T) {
	frame := func(stream byte, s string) []byte {
		return append([]byte{stream, byte(len(s) >> 8), byte(len(s))}, s...)
	}
	p := newOutputPacer(newLineLimiter(1000, &strings.Builder{}))
	go p.write()
	var got streamLog
	dsts := []io.Writer{got.writer("stdout"), got.writer("stderr")}
	all := bytes.Join([][]byte{frame(1, "a\n"), frame(2, "b\n"), frame(1, "c\n")}, nil)
	var rest []byte
	for _, cut := range [][]byte{all[:4], all[4:9], all[9:]} { // reads that cut frames
		rest = p.pushFrames(append(rest, cut...), dsts)
	}
	if len(rest) != 0 {
		t.Errorf("left %q", rest)
	}
	if rest = p.pushFrames([]byte{9, 0, 1, 'z', '\n'}, dsts); rest != nil { // not a frame
		t.Errorf("left %q of a malformed frame", rest)
	}
	p.mu.Lock()
	p.read = true
	p.cond.Broadcast()
	p.mu.Unlock()
	<-p.done
	want := []string{"stdout: a", "stderr: b", "stdout: c", "stderr: \t\x00\x01z"}
	if fmt.Sprint(got.lines) != fmt.Sprint(want) {
		t.Errorf("wrote %q, want %q", got.lines, want)
	}
}
