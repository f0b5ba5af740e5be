package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"text/tabwriter"
	"time"
)

// ls lists the caller's generations, newest first, each with its preview's
// status (one status call per generation, a few at a time).
func (a *app) ls(ctx context.Context, args []string) error {
	fs := a.flags("ls")
	limit := fs.Int("limit", 20, "list at most this many generations (0: all)")
	noStatus := fs.Bool("no-status", false, "leave out the preview's status (saves a request per generation)")
	if _, err := a.parse(fs, args, 0, 0); err != nil {
		return err
	}
	if *limit < 0 {
		return usageErrorf("-limit must not be negative")
	}
	var gens []generation
	cursor := ""
	for {
		page := 100
		if *limit > 0 {
			page = min(page, *limit-len(gens))
		}
		p, err := a.client.generations(ctx, page, cursor)
		if err != nil {
			return err
		}
		gens = append(gens, p.Generations...)
		cursor = p.NextCursor
		if cursor == "" || (*limit > 0 && len(gens) >= *limit) {
			break
		}
	}
	var statuses []*previewStatus
	if !*noStatus {
		var err error
		if statuses, err = a.previewStatuses(ctx, gens); err != nil {
			return err
		}
	}
	if a.json {
		return a.lsJSON(gens, statuses)
	}
	if len(gens) == 0 {
		fmt.Fprintln(a.stdout, "No generations yet; upload one with: previewctl up DIR")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "ID\tNAME\tFRAMEWORK\tFILES\tSIZE\tCREATED")
	if statuses != nil {
		fmt.Fprint(tw, "\tPREVIEW")
	}
	fmt.Fprintln(tw)
	for i, g := range gens {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s ago", g.ID, g.Name, g.Framework, g.FileCount, formatBytes(g.TotalBytes),
			formatDuration(time.Since(g.CreatedAt).Truncate(time.Second)))
		if statuses != nil {
			fmt.Fprintf(tw, "\t%s", previewSummary(statuses[i]))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// previewStatuses reads the status of each generation's preview; nil where a
// generation never had one.
func (a *app) previewStatuses(ctx context.Context, gens []generation) ([]*previewStatus, error) {
	out := make([]*previewStatus, len(gens))
	errs := make([]error, len(gens))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, g := range gens {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s, err := a.client.status(ctx, g.ID)
			var ae *apiError
			switch {
			case err == nil:
				out[i] = &s
			case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			default:
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func previewSummary(s *previewStatus) string {
	switch {
	case s == nil:
		return "-"
	case s.live() && s.Port != nil:
		return fmt.Sprintf("%s on :%d", s.Status, *s.Port)
	}
	return s.Status
}

func (a *app) lsJSON(gens []generation, statuses []*previewStatus) error {
	type row struct {
		generation
		Preview json.RawMessage `json:"preview,omitempty"`
	}
	rows := make([]row, len(gens))
	for i, g := range gens {
		rows[i].generation = g
		switch {
		case statuses == nil:
		case statuses[i] == nil:
			rows[i].Preview = json.RawMessage("null")
		default:
			rows[i].Preview = statuses[i].Raw
		}
	}
	return encodeJSON(a.stdout, rows)
}

// launch launches a generation's preview, or answers the live one with a
// new session token, and prints its URLs.
func (a *app) launch(ctx context.Context, args []string) error {
	fs := a.flags("launch")
	var lf launchFlags
	lf.register(fs)
	noWait := fs.Bool("no-wait", false, "answer at once, while the app is still starting")
	pos, err := a.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	opts, err := lf.options(!*noWait)
	if err != nil {
		return err
	}
	l, err := a.client.launch(ctx, pos[0], opts)
	if err != nil {
		return err
	}
	if a.json {
		return printJSON(a.stdout, l.Raw)
	}
	a.printRunning(a.stdout, l.PreviewID, l.Status, l.BaseURL, a.browserURL(l.ProxyURL, l.PreviewID, l.SessionToken), l.TimingsMS)
	if l.HTTPStatus == http.StatusOK {
		fmt.Fprintln(a.stdout, "  (it was already live; the token above is a new session)")
	}
	return nil
}

// status prints the preview's status for people.
func (a *app) status(ctx context.Context, args []string) error {
	fs := a.flags("status")
	pos, err := a.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	s, err := a.client.status(ctx, pos[0])
	if err != nil {
		return err
	}
	if a.json {
		return printJSON(a.stdout, s.Raw)
	}
	writeStatus(a.stdout, s, time.Now())
	return nil
}

// writeStatus renders a status as aligned "name  value" lines, leaving out
// what does not apply.
func writeStatus(w io.Writer, s previewStatus, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{name}, args...)...)
	}
	state := s.Status
	if s.Status == "running" && s.Healthy {
		state += " (healthy)"
	}
	row("Preview", "%s", s.PreviewID)
	row("Status", "%s", state)
	if s.Port != nil {
		row("Port", "%d", *s.Port)
	}
	if s.BaseURL != "" {
		row("App URL", "%s", s.BaseURL)
	}
	if s.ProxyURL != "" {
		row("Browser URL", "%s (needs ?token= from previewctl launch)", s.ProxyURL)
	}
	if s.StartedAt != nil {
		started := s.StartedAt.Local().Format(time.DateTime)
		if s.UptimeSeconds != nil {
			started += fmt.Sprintf(" (up %s)", formatDuration(time.Duration(*s.UptimeSeconds)*time.Second))
		}
		row("Started", "%s", started)
	}
	if s.StoppedAt != nil {
		row("Stopped", "%s", s.StoppedAt.Local().Format(time.DateTime))
	}
	if s.live() {
		if s.ExpiresAt != nil {
			row("Expires", "%s (in %s)", s.ExpiresAt.Local().Format(time.DateTime), formatDuration(s.ExpiresAt.Sub(now).Truncate(time.Second)))
		}
		if s.IdleExpiresAt != nil {
			row("Idle expiry", "%s (in %s without traffic)", s.IdleExpiresAt.Local().Format(time.DateTime), formatDuration(s.IdleExpiresAt.Sub(now).Truncate(time.Second)))
		}
	}
	if mem := memoryText(s); mem != "" {
		row("Memory", "%s", mem)
	}
	if s.CPUPercent != nil {
		cpu := fmt.Sprintf("%.1f%% of one core", *s.CPUPercent)
		if s.CPULimit != nil {
			cpu += fmt.Sprintf(" (limit %g cores)", *s.CPULimit)
		}
		row("CPU", "%s", cpu)
	} else if s.CPULimit != nil {
		row("CPU limit", "%g cores", *s.CPULimit)
	}
	if s.Pids != nil {
		pids := fmt.Sprint(*s.Pids)
		if s.PidsLimit != nil {
			pids += fmt.Sprintf(" of %d", *s.PidsLimit)
		}
		row("Processes", "%s", pids)
	}
	row("Restarts", "%d", s.Restarts)
	if s.ExitCode != nil || s.OOMKilled {
		exit := "-"
		if s.ExitCode != nil {
			exit = fmt.Sprint(*s.ExitCode)
		}
		if s.OOMKilled {
			exit += " (killed: out of memory)"
		}
		row("Exit code", "%s", exit)
	}
	if s.Error != "" {
		row("Error", "%s", s.Error)
	}
	if s.EndpointCount != nil {
		row("Endpoints", "%d", *s.EndpointCount)
	}
	if t := formatTimings(s.TimingsMS); t != "" && s.TimingsMS["total"] > 0 {
		row("Launch", "%d ms (%s)", s.TimingsMS["total"], t)
	}
	tw.Flush()
}

func memoryText(s previewStatus) string {
	switch {
	case s.MemoryBytes != nil && s.MemoryLimitBytes != nil && *s.MemoryLimitBytes > 0:
		return fmt.Sprintf("%s of %s (%.0f%%)", formatBytes(*s.MemoryBytes), formatBytes(*s.MemoryLimitBytes),
			float64(*s.MemoryBytes)/float64(*s.MemoryLimitBytes)*100)
	case s.MemoryBytes != nil:
		return formatBytes(*s.MemoryBytes)
	case s.MemoryLimitBytes != nil && *s.MemoryLimitBytes > 0:
		return "limit " + formatBytes(*s.MemoryLimitBytes)
	}
	return ""
}

// logPageSize is how many lines one GET /logs asks for.
const logPageSize = 1000

// logs prints the stored log, or follows the live one with -f.
func (a *app) logs(ctx context.Context, args []string) error {
	fs := a.flags("logs")
	follow := fs.Bool("f", false, "follow the log until the preview ends (Ctrl-C to stop)")
	since := fs.Int64("since", 0, "start after the line with this number (seq)")
	timestamps := fs.Bool("t", false, "show each line's time")
	pos, err := a.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	p := &logPrinter{w: a.stdout, color: a.useColor(a.stdout), timestamps: *timestamps, json: a.json}
	gen := pos[0]
	if !*follow {
		last := *since
		for {
			page, err := a.client.logs(ctx, gen, last, logPageSize)
			if err != nil {
				return err
			}
			for _, l := range page.Lines {
				p.print(l)
			}
			if len(page.Lines) < logPageSize || page.NextSince <= last {
				return nil
			}
			last = page.NextSince
		}
	}
	f := &logFollower{client: a.client, gen: gen, last: *since, onLine: p.print, maxRetries: 10,
		onRetry: func(err error, attempt int) {
			fmt.Fprintf(a.stderr, "previewctl: log stream interrupted (%v); reconnecting (attempt %d)\n", err, attempt)
		},
	}
	status, err := f.follow(ctx)
	switch {
	case ctx.Err() != nil:
		return nil // Ctrl-C is how -f is meant to end
	case err != nil:
		return err
	}
	if !a.json {
		fmt.Fprintf(a.stderr, "previewctl: the preview has ended (%s)\n", status)
	}
	return nil
}

// endpoints lists the app's HTTP endpoints.
func (a *app) endpoints(ctx context.Context, args []string) error {
	fs := a.flags("endpoints")
	pos, err := a.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	l, err := a.client.endpoints(ctx, pos[0])
	if err != nil {
		return err
	}
	if a.json {
		return printJSON(a.stdout, l.Raw)
	}
	if len(l.Endpoints) == 0 {
		fmt.Fprintf(a.stdout, "No endpoints found (framework %s).\n", orDash(l.Framework))
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tPATH\tSUMMARY")
	for _, e := range l.Endpoints {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Method, e.Path, orDash(e.Summary))
	}
	return tw.Flush()
}

// down stops the preview.
func (a *app) down(ctx context.Context, args []string) error {
	fs := a.flags("down")
	pos, err := a.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	s, err := a.client.stop(ctx, pos[0])
	if err != nil {
		return err
	}
	if a.json {
		return printJSON(a.stdout, s.Raw)
	}
	fmt.Fprintf(a.stdout, "Preview %s is %s.\n", s.PreviewID, s.Status)
	return nil
}

// rm deletes the generation; previewd stops its preview first.
func (a *app) rm(ctx context.Context, args []string) error {
	fs := a.flags("rm")
	pos, err := a.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if err := a.client.deleteGeneration(ctx, pos[0]); err != nil {
		return err
	}
	if a.json {
		return encodeJSON(a.stdout, map[string]any{"id": pos[0], "deleted": true})
	}
	fmt.Fprintf(a.stdout, "Generation %s deleted.\n", pos[0])
	return nil
}
