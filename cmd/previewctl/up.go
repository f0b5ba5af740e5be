package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"
)

// uploadFlags are the flags of up and push.
type uploadFlags struct {
	name, framework string
}

func (u *uploadFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&u.name, "name", "", "name of the generation (default: the folder's name)")
	fs.StringVar(&u.framework, "framework", "auto", "auto, fastapi, flask, django or express")
}

// launchFlags are the flags of up and launch.
type launchFlags struct {
	memoryMB int
	cpus     float64
	ttl      time.Duration
	env      envFlag
}

func (l *launchFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&l.memoryMB, "memory", 0, "memory limit in MiB (default: the server's)")
	fs.Float64Var(&l.cpus, "cpus", 0, "CPU limit in cores, e.g. 0.5 (default: the server's)")
	fs.DurationVar(&l.ttl, "ttl", 0, "stop the preview after this long, e.g. 30m (default: the server's maximum)")
	fs.Var(&l.env, "env", "`K=V` environment variable for the app (repeatable)")
}

func (l *launchFlags) options(wait bool) (launchOptions, error) {
	if l.memoryMB < 0 || l.cpus < 0 || l.ttl < 0 {
		return launchOptions{}, usageErrorf("-memory, -cpus and -ttl must not be negative")
	}
	if l.ttl > 0 && l.ttl < time.Second {
		return launchOptions{}, usageErrorf("-ttl must be at least 1s")
	}
	return launchOptions{MemoryMB: l.memoryMB, CPUs: l.cpus, TTLSeconds: int(l.ttl / time.Second), Env: l.env.m, Wait: wait}, nil
}

// envFlag collects -env K=V flags.
type envFlag struct{ m map[string]string }

func (e *envFlag) String() string { return "" }

func (e *envFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not K=V", v)
	}
	if e.m == nil {
		e.m = map[string]string{}
	}
	e.m[k] = val
	return nil
}

// push uploads a folder and prints the new generation's id.
func (a *app) push(ctx context.Context, args []string) error {
	fs := a.flags("push")
	var uf uploadFlags
	uf.register(fs)
	pos, err := a.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	g, raw, err := a.upload(ctx, pos[0], uf, a.stderr)
	if err != nil {
		return err
	}
	if a.json {
		return printJSON(a.stdout, raw)
	}
	fmt.Fprintln(a.stdout, g.ID)
	return nil
}

// upload packs dir and stores it as a generation, telling info how it went.
func (a *app) upload(ctx context.Context, dir string, uf uploadFlags, info io.Writer) (generation, []byte, error) {
	var buf bytes.Buffer
	st, err := buildArchive(dir, &buf)
	if err != nil {
		return generation{}, nil, inStep("upload", err)
	}
	name := uf.name
	if name == "" {
		abs, _ := filepath.Abs(dir)
		name = filepath.Base(abs)
	}
	files := "files"
	if st.Files == 1 {
		files = "file"
	}
	fmt.Fprintf(info, "Uploading %s: %d %s, %s (%s compressed)\n", dir, st.Files, files, formatBytes(st.Bytes), formatBytes(int64(buf.Len())))
	if len(st.Skipped) > 0 {
		fmt.Fprintf(info, "  left out: %s\n", strings.Join(st.Skipped, ", "))
	}
	g, raw, err := a.client.createGeneration(ctx, name, uf.framework, buf.Bytes())
	if err != nil {
		return g, nil, inStep("upload", err)
	}
	fmt.Fprintf(info, "Generation %s (%q): %s, entry point %s\n", g.ID, g.Name, g.Framework, g.Entrypoint)
	return g, raw, nil
}

// up uploads a folder, launches it, shows its URLs and follows its log until
// Ctrl-C (ctx ends), then stops the preview.
func (a *app) up(ctx context.Context, args []string) error {
	fs := a.flags("up")
	var (
		uf uploadFlags
		lf launchFlags
	)
	uf.register(fs)
	lf.register(fs)
	keep := fs.Bool("keep", false, "leave the preview running when previewctl exits")
	timestamps := fs.Bool("t", false, "show each log line's time")
	watchDir := fs.Bool("watch", false, "send each change of DIR as the generation's next revision, which the running preview serves at once")
	pos, err := a.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if a.json {
		return usageErrorf("up is interactive and has no -json output; use push, launch -json and logs -f -json")
	}
	opts, err := lf.options(false)
	if err != nil {
		return err
	}
	g, _, err := a.upload(ctx, pos[0], uf, a.stdout)
	if err != nil {
		return err
	}
	l, err := a.client.launch(ctx, g.ID, opts)
	if err != nil {
		return inStep("launch", err)
	}
	w := &watch{app: a, gen: g, launch: l, keep: *keep, tty: isTerminal(a.stdout),
		printer: &logPrinter{w: a.stdout, color: a.useColor(a.stdout), timestamps: *timestamps}}
	if *watchDir {
		w.whileRunning = func(ctx context.Context, note func(string)) {
			fw, err := newFolderWatcher(a.client, g.ID, pos[0], note)
			if err != nil {
				note("cannot watch " + pos[0] + ": " + err.Error())
				return
			}
			fw.run(ctx)
		}
	}
	return w.run(ctx)
}

// watch is up after the launch call: progress, URLs, log, stop.
type watch struct {
	app     *app
	gen     generation
	launch  launched
	keep    bool
	tty     bool
	printer *logPrinter

	items    chan streamItem
	followed chan error // the follower's result; receives once
	ended    bool       // followed was received
	shown    int        // app output lines printed
	tail     []string   // the last app output lines, for a failed launch
	progress bool       // a progress line is on the terminal
	// whileRunning, when set, runs once the preview runs, until up ends;
	// note prints a line among the log's.
	whileRunning func(ctx context.Context, note func(string))
}

// streamItem is a log line, or a note about the stream itself.
type streamItem struct {
	line logLine
	note string
}

// statusPoll is how often up asks for the status while the app starts.
const statusPoll = 250 * time.Millisecond

func (w *watch) run(ctx context.Context) error {
	a := w.app
	fmt.Fprintf(a.stdout, "Launching preview %s\n", w.launch.PreviewID)
	followCtx, stopFollow := context.WithCancel(ctx)
	w.items, w.followed = make(chan streamItem), make(chan error, 1)
	f := &logFollower{client: a.client, gen: w.gen.ID,
		onLine: func(l logLine) { w.send(followCtx, streamItem{line: l}) },
		onRetry: func(err error, attempt int) {
			if attempt == 1 {
				w.send(followCtx, streamItem{note: fmt.Sprintf("log stream interrupted (%v); reconnecting", err)})
			}
		},
	}
	// The follower ends when the preview's log is complete or followCtx ends.
	go func() {
		_, err := f.follow(followCtx)
		w.followed <- err
	}()
	defer func() {
		stopFollow()
		if !w.ended {
			<-w.followed
		}
	}()

	s, err := w.waitRunning(ctx)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			stopFollow()
			return w.stop()
		}
		return err
	}
	w.clearProgress()
	a.printRunning(a.stdout, s.PreviewID, "running", s.BaseURL, a.browserURL(s.ProxyURL, s.PreviewID, w.launch.SessionToken), s.TimingsMS)
	fmt.Fprintf(a.stdout, "  Status:   previewctl status %s\n\nFollowing the log; press Ctrl-C to stop the preview.\n", w.gen.ID)
	if w.whileRunning != nil {
		fmt.Fprintln(a.stdout, "Watching the folder: each change is sent as the next revision.")
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.whileRunning(followCtx, func(s string) { w.send(followCtx, streamItem{note: s}) })
		}()
		defer func() { stopFollow(); <-done }()
	}

	for {
		select {
		case <-ctx.Done():
			stopFollow()
			return w.stop()
		case it := <-w.items:
			w.print(it)
		case err := <-w.followed:
			w.ended = true
			if err != nil {
				return inStep("logs", err)
			}
			return w.endedByItself()
		}
	}
}

// send hands an item to the main loop, unless following has been stopped.
func (w *watch) send(ctx context.Context, it streamItem) {
	select {
	case w.items <- it:
	case <-ctx.Done():
	}
}

// waitRunning shows the log and a progress line until the preview runs. A
// launch that fails is a launch_failed apiError, like the 422 of a waiting
// launch.
func (w *watch) waitRunning(ctx context.Context) (previewStatus, error) {
	a := w.app
	start := time.Now()
	tick := time.NewTicker(statusPoll)
	defer tick.Stop()
	for poll := true; ; {
		if poll {
			s, err := a.client.status(ctx, w.gen.ID)
			if err != nil {
				return s, inStep("status", err)
			}
			switch s.Status {
			case "running":
				return s, nil
			case "starting":
				w.drawProgress(fmt.Sprintf("starting… %s", formatDuration(time.Since(start).Truncate(time.Second))))
			default:
				return s, w.launchFailed(s)
			}
			poll = false
		}
		select {
		case <-ctx.Done():
			return previewStatus{}, ctx.Err()
		case it := <-w.items:
			w.print(it)
		case err := <-w.followed:
			// The log is complete: the preview has ended, and the status
			// says how.
			w.ended = true
			if err != nil {
				return previewStatus{}, inStep("logs", err)
			}
			poll = true
		case <-tick.C:
			poll = true
		}
	}
}

// launchFailed waits briefly for the rest of the log, then describes the end
// of a preview that never ran.
func (w *watch) launchFailed(s previewStatus) error {
	w.clearProgress()
	w.drain(3 * time.Second)
	if s.Status == "stopped" {
		return inStep("launch", errors.New("the preview was stopped while it was starting"))
	}
	msg := s.Error
	if msg == "" {
		msg = "the preview ended while starting (status " + s.Status + ")"
	}
	le := &apiError{Status: http.StatusUnprocessableEntity, Code: "launch_failed", Message: msg,
		PreviewID: s.PreviewID, ExitCode: s.ExitCode, OOMKilled: s.OOMKilled, Cause: s.Cause}
	if w.shown == 0 {
		le.LogTail = w.tail // else the output is on the screen already
	}
	return inStep("launch", le)
}

// drain prints what the follower still has, until the log ends or d passes.
func (w *watch) drain(d time.Duration) {
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for !w.ended {
		select {
		case it := <-w.items:
			w.print(it)
		case <-w.followed:
			w.ended = true
		case <-timeout.C:
			return
		}
	}
}

// endedByItself reports a preview that ended while up followed it: expired,
// crashed, or stopped from elsewhere.
func (w *watch) endedByItself() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := w.app.client.status(ctx, w.gen.ID)
	if err != nil {
		return inStep("status", err)
	}
	if s.Status == "failed" {
		msg := "the app stopped"
		if s.Error != "" {
			msg = s.Error
		}
		return inStep("preview", errors.New(msg))
	}
	fmt.Fprintf(w.app.stdout, "The preview has ended (%s).\n", s.Status)
	return nil
}

// stop stops the preview, unless -keep, after Ctrl-C.
func (w *watch) stop() error {
	w.clearProgress()
	out := w.app.stdout
	if w.keep {
		fmt.Fprintf(out, "\nLeaving preview %s running; stop it with: previewctl down %s\n", w.launch.PreviewID, w.gen.ID)
		return nil
	}
	fmt.Fprintf(out, "\nStopping preview %s… ", w.launch.PreviewID)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := w.app.client.stop(ctx, w.gen.ID)
	if err != nil {
		fmt.Fprintln(out)
		return inStep("stop", err)
	}
	fmt.Fprintln(out, s.Status+".")
	return nil
}

// tailLines is how many lines of app output a failed launch shows, as the
// server's log_tail does.
const tailLines = 50

func (w *watch) print(it streamItem) {
	w.clearProgress()
	if it.note != "" {
		fmt.Fprintln(w.app.stderr, "previewctl: "+it.note)
		return
	}
	w.printer.print(it.line)
	if summary, ok := strings.CutPrefix(it.line.Line, "checks: "); ok && it.line.Stream == "system" {
		fmt.Fprintf(w.app.stdout, "  Checks:   %s\n            details: previewctl checks %s\n", summary, w.gen.ID)
	}
	if it.line.Stream != "system" {
		w.shown++
		w.tail = append(w.tail, it.line.Line)
		if len(w.tail) > tailLines {
			w.tail = w.tail[len(w.tail)-tailLines:]
		}
	}
}

// drawProgress shows a one-line progress note, on a terminal only; other
// output prints it once.
func (w *watch) drawProgress(text string) {
	if !w.tty {
		if !w.progress {
			fmt.Fprintln(w.app.stdout, "  starting…")
			w.progress = true
		}
		return
	}
	fmt.Fprintf(w.app.stdout, "\r\x1b[K  %s", text)
	w.progress = true
}

func (w *watch) clearProgress() {
	if w.tty && w.progress {
		fmt.Fprint(w.app.stdout, "\r\x1b[K")
		w.progress = false
	}
}

// printRunning prints a launched preview's URLs.
func (a *app) printRunning(out io.Writer, previewID, status, baseURL, browser string, timings map[string]int64) {
	switch {
	case status == "running" && timings["total"] > 0:
		fmt.Fprintf(out, "Preview %s is running (launched in %.2f s: %s)\n\n", previewID, float64(timings["total"])/1000, formatTimings(timings))
	default:
		fmt.Fprintf(out, "Preview %s is %s\n\n", previewID, status)
	}
	fmt.Fprintf(out, "  App:      %s\n", orDash(baseURL))
	fmt.Fprintf(out, "  Browser:  %s\n", browser)
}
