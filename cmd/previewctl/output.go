package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// useColor reports whether to colour output to w: only on a terminal, and
// not when NO_COLOR is set (https://no-color.org) or TERM is dumb.
func (a *app) useColor(w io.Writer) bool {
	return isTerminal(w) && a.getenv("NO_COLOR") == "" && a.getenv("TERM") != "dumb"
}

// ANSI colours of the log streams' prefixes.
var streamColor = map[string]string{
	"stdout": "",
	"stderr": "\x1b[31m", // red
	"build":  "\x1b[36m", // cyan
	"system": "\x1b[33m", // yellow
}

// logPrinter prints log lines with a prefix naming their stream, so the
// four streams stay apart even without colour.
type logPrinter struct {
	w          io.Writer
	color      bool
	timestamps bool
	json       bool // one JSON object per line instead
}

func (p *logPrinter) print(l logLine) {
	if p.json {
		b, _ := json.Marshal(l)
		fmt.Fprintf(p.w, "%s\n", b)
		return
	}
	var b strings.Builder
	if p.timestamps {
		b.WriteString(l.TS.Local().Format("15:04:05.000 "))
	}
	prefix := fmt.Sprintf("%-6s |", l.Stream)
	if c := streamColor[l.Stream]; p.color && c != "" {
		prefix = c + prefix + "\x1b[0m"
	}
	b.WriteString(prefix)
	if l.Line != "" {
		b.WriteByte(' ')
		b.WriteString(l.Line)
	}
	b.WriteByte('\n')
	io.WriteString(p.w, b.String())
}

// printJSON writes an API answer indented.
func printJSON(w io.Writer, raw []byte) error {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		_, err = w.Write(raw)
		return err
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// encodeJSON writes v as indented JSON.
func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// formatBytes renders a size with a binary unit: 512 B, 3.4 KiB, 120.0 MiB.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// formatDuration renders a duration for people: 850ms, 12s, 3m05s, 2h01m, 3d04h.
func formatDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + formatDuration(-d)
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// timingPhases are the launch phases, in order.
var timingPhases = []string{"prepare", "build", "start", "healthy"}

// formatTimings renders timings_ms: "prepare 3 ms, build 0 ms, …".
func formatTimings(t map[string]int64) string {
	var parts []string
	for _, p := range timingPhases {
		if v, ok := t[p]; ok {
			parts = append(parts, fmt.Sprintf("%s %d ms", p, v))
		}
	}
	var extra []string
	for k := range t {
		if k != "total" && !slices.Contains(timingPhases, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		parts = append(parts, fmt.Sprintf("%s %d ms", k, t[k]))
	}
	return strings.Join(parts, ", ")
}

// browserURL is the address that opens the preview in a browser: the
// proxy URL with the session token, which previewd trades for a cookie.
// Without host routing (proxy_url null) it is the path-routed /p/<id>/.
func (a *app) browserURL(proxyURL, previewID, sessionToken string) string {
	u := proxyURL
	if u == "" {
		u = a.client.base.String() + "/p/" + previewID + "/"
	}
	if sessionToken == "" {
		return u
	}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "token=" + sessionToken
}

// orDash renders an absent value.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
