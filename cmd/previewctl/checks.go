package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
)

// checkResult is GET …/preview/checks.
type checkResult struct {
	PreviewID string          `json:"preview_id"`
	Revision  int             `json:"revision"`
	State     string          `json:"state"`
	Summary   *string         `json:"summary"`
	Endpoints []endpointCheck `json:"endpoints"`
	Browser   json.RawMessage `json:"browser"`
	Raw       json.RawMessage `json:"-"`
}

type endpointCheck struct {
	Method     string   `json:"method"`
	Path       string   `json:"path"`
	URL        string   `json:"url"`
	Status     *int     `json:"status"`
	DurationMS float64  `json:"duration_ms"`
	Error      *string  `json:"error"`
	Cause      *cause   `json:"cause"`
	Log        []string `json:"log"`
}

type browserCheck struct {
	Status     int    `json:"status"`
	Error      string `json:"error"`
	Screenshot string `json:"screenshot_url"`
	Pages      []struct {
		Path     string `json:"path"`
		Status   int    `json:"status"`
		Error    string `json:"error"`
		Console  []struct{ Level, Text string }
		Failures []struct {
			URL, Method, Error string
			Status             int
		} `json:"failed_requests"`
		Exceptions []struct {
			Message, URL string
			Line         int
		} `json:"exceptions"`
	} `json:"pages"`
}

func (c *client) checks(ctx context.Context, id string) (checkResult, error) {
	var r checkResult
	_, raw, err := c.do(ctx, http.MethodGet, genPath(id, "/preview/checks"), "", nil, nil, &r)
	r.Raw = raw
	return r, err
}

// checksCmd prints what the checks of the preview found: the endpoint
// table, the log and cause of each failing call, and the browser's findings.
func (a *app) checksCmd(ctx context.Context, args []string) error {
	fs := a.flags("checks")
	pos, err := a.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	r, err := a.client.checks(ctx, pos[0])
	if err != nil {
		return err
	}
	if a.json {
		return printJSON(a.stdout, r.Raw)
	}
	writeChecks(a.stdout, r)
	return nil
}

var checkStates = map[string]string{
	"pending": "The checks run once the preview is healthy.",
	"running": "The checks are running.",
	"skipped": "The checks were skipped for this preview (launched with \"checks\": false).",
	"off":     "Checks are turned off on this previewd (PREVIEW_CHECKS=off).",
	"none":    "The preview ended before it became healthy: nothing was checked.",
}

func writeChecks(w io.Writer, r checkResult) {
	if r.Summary == nil {
		fmt.Fprintln(w, checkStates[r.State])
		return
	}
	fmt.Fprintf(w, "Revision %d: %s\n\n", r.Revision, *r.Summary)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tPATH\tSTATUS\tTIME\tWHAT")
	for _, e := range r.Endpoints {
		status := "-"
		if e.Status != nil {
			status = fmt.Sprint(*e.Status)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f ms\t%s\n", e.Method, e.Path, status, e.DurationMS, checkWhat(e))
	}
	tw.Flush()
	for _, e := range r.Endpoints {
		if (e.Status != nil && *e.Status < 500) || len(e.Log) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s %s printed:\n", e.Method, e.URL)
		for _, l := range e.Log {
			fmt.Fprintf(w, "  | %s\n", l)
		}
		if e.Cause != nil && e.Cause.Hint != "" {
			fmt.Fprintf(w, "  hint: %s\n", e.Cause.Hint)
		}
	}
	writeBrowserCheck(w, r)
}

// checkWhat is what went wrong with one call, or "".
func checkWhat(e endpointCheck) string {
	switch {
	case e.Cause != nil:
		return e.Cause.headline()
	case e.Error != nil:
		return *e.Error
	}
	return ""
}

func writeBrowserCheck(w io.Writer, r checkResult) {
	if len(r.Browser) == 0 || string(r.Browser) == "null" {
		if r.State == "running" {
			fmt.Fprintln(w, "\nBrowser: the check is running.")
		}
		return
	}
	if string(r.Browser) == `"unavailable"` {
		fmt.Fprintln(w, "\nBrowser: unavailable (no Chromium on the previewd host).")
		return
	}
	var b browserCheck
	if err := json.Unmarshal(r.Browser, &b); err != nil {
		return
	}
	fmt.Fprintf(w, "\nBrowser: %d page(s) rendered\n", len(b.Pages))
	for _, p := range b.Pages {
		var items []string
		if p.Error != "" {
			items = append(items, p.Error)
		}
		for _, x := range p.Exceptions {
			items = append(items, fmt.Sprintf("uncaught %s (%s:%d)", x.Message, x.URL, x.Line))
		}
		for _, m := range p.Console {
			items = append(items, fmt.Sprintf("console %s: %s", m.Level, m.Text))
		}
		for _, f := range p.Failures {
			what := f.Error
			if f.Status != 0 {
				what = fmt.Sprint(f.Status)
			}
			items = append(items, fmt.Sprintf("request %s %s: %s", f.Method, f.URL, what))
		}
		if len(items) == 0 {
			items = append(items, "no errors")
		}
		fmt.Fprintf(w, "  %s (%d): %s\n", p.Path, p.Status, strings.Join(items, "; "))
	}
	if b.Screenshot != "" {
		fmt.Fprintf(w, "  screenshot: %s\n", b.Screenshot)
	}
}
