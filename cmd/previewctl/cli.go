package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
)

// Exit codes, for scripts; usageText documents them.
const (
	exitOK          = 0
	exitError       = 1 // an API error not listed below, or any other failure
	exitUsage       = 2
	exitNotFound    = 3 // 404: no such generation, or it never had a preview
	exitAuth        = 4 // 401 or 403, or no token
	exitUnavailable = 5 // 503 (capacity_exhausted, unavailable) or previewd unreachable
	exitLaunch      = 6 // 422 launch_failed: the app crashed or never answered
	exitInterrupted = 130
)

const defaultURL = "http://127.0.0.1:8080"

const usageText = `previewctl is the command-line client of previewd.

usage: previewctl [-url URL] [-token JWT] [-json] COMMAND [flags] [args]

commands:
{{commands}}
GEN is a generation id (previewctl ls lists yours). Flags may come before or
after the arguments; "previewctl COMMAND -h" describes a command's flags.

global flags (also accepted after COMMAND):
  -url URL     previewd's address (default $PREVIEW_URL, else ` + defaultURL + `)
  -token JWT   bearer token (default $PREVIEW_TOKEN)
  -json        print the API's JSON instead of text

exit codes:
  0    ok
  1    an API error not listed below, or any other failure
  2    usage error
  3    not found (no such generation, or it never had a preview)
  4    authentication error (401/403, or no token)
  5    previewd is at capacity or unavailable (503), or cannot be reached
  6    launch failed (422 launch_failed): the app crashed or never answered
  130  interrupted
`

// command is one subcommand.
type command struct {
	name, args, summary string
	run                 func(*app, context.Context, []string) error
}

func commands() []command {
	return []command{
		{"up", "[flags] DIR", "upload DIR, launch it, print its URLs and follow its log; Ctrl-C stops it", (*app).up},
		{"push", "[flags] DIR", "upload DIR as a new generation and print its id", (*app).push},
		{"patch", "[flags] GEN DIR", "replace GEN's files with DIR's as its next revision", (*app).patch},
		{"ls", "[flags]", "list your generations, newest first, with their preview's status", (*app).ls},
		{"launch", "[flags] GEN", "launch GEN's preview (or answer the running one) and print its URLs", (*app).launch},
		{"status", "GEN", "show the preview's status, URLs and resource use", (*app).status},
		{"logs", "[-f] GEN", "print the preview's log; -f follows it", (*app).logs},
		{"endpoints", "GEN", "list the app's HTTP endpoints", (*app).endpoints},
		{"checks", "GEN", "show what previewd found when it called the app's endpoints and rendered its pages", (*app).checksCmd},
		{"request", "GEN METHOD PATH [-d BODY] [-H 'K: V']", "send one request to the running app and print its answer (exit 0 whatever its status)", (*app).request},
		{"down", "GEN", "stop the preview", (*app).down},
		{"rm", "GEN", "delete the generation (stopping its preview first)", (*app).rm},
	}
}

// app is one invocation of previewctl.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string

	// Global flags.
	url, token string
	json       bool

	client *client
}

// run is previewctl: it runs the command in args and returns the exit code.
// ctx ends on Ctrl-C.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return a.main(ctx, args)
}

func (a *app) main(ctx context.Context, args []string) int {
	a.url = a.getenv("PREVIEW_URL")
	if a.url == "" {
		a.url = defaultURL
	}
	a.token = strings.TrimSpace(a.getenv("PREVIEW_TOKEN"))
	fs := flag.NewFlagSet("previewctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.globalFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.usage(a.stdout)
			return exitOK
		}
		return a.report("previewctl", usageErrorf("%v", err))
	}
	rest := fs.Args()
	if len(rest) == 0 {
		a.usage(a.stderr)
		return exitUsage
	}
	name := rest[0]
	if name == "help" || name == "-h" {
		a.usage(a.stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return a.report(name, c.run(a, ctx, rest[1:]))
		}
	}
	return a.report("previewctl", usageErrorf("unknown command %q", name))
}

func (a *app) globalFlags(fs *flag.FlagSet) {
	fs.StringVar(&a.url, "url", a.url, "previewd's address ($PREVIEW_URL)")
	fs.Var((*secretFlag)(&a.token), "token", "bearer `JWT` ($PREVIEW_TOKEN)")
	fs.BoolVar(&a.json, "json", a.json, "print the API's JSON instead of text")
}

// secretFlag is a string flag whose value usage never shows: the token may
// come from the environment, and -h must not print it.
type secretFlag string

func (s *secretFlag) String() string     { return "" }
func (s *secretFlag) Set(v string) error { *s = secretFlag(strings.TrimSpace(v)); return nil }

func (a *app) usage(w io.Writer) {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, strings.Replace(usageText, "{{commands}}", b.String(), 1))
}

// flags makes the flag set of a command; the global flags are accepted there too.
func (a *app) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.globalFlags(fs)
	return fs
}

// parse parses a command's flags, which may come before, between or after
// its arguments ("--" ends them), checks the number of arguments, and
// connects the client.
func (a *app) parse(fs *flag.FlagSet, args []string, minArgs, maxArgs int) ([]string, error) {
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		a.commandUsage(a.stdout, fs)
		return nil, errHelp
	}
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	switch {
	case len(pos) < minArgs:
		return nil, usageErrorf("%s: missing arguments", fs.Name())
	case maxArgs >= 0 && len(pos) > maxArgs:
		return nil, usageErrorf("%s: too many arguments: %s", fs.Name(), strings.Join(pos[maxArgs:], " "))
	}
	if a.client, err = newClient(a.url, a.token); err != nil {
		return nil, err
	}
	if a.token == "" {
		return nil, &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "no bearer token: pass -token or set PREVIEW_TOKEN"}
	}
	return pos, nil
}

// parseInterspersed parses flags anywhere among the arguments and returns
// the arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func (a *app) commandUsage(w io.Writer, fs *flag.FlagSet) {
	for _, c := range commands() {
		if c.name == fs.Name() {
			fmt.Fprintf(w, "usage: previewctl %s %s\n\n%s.\n\nflags:\n", c.name, c.args, c.summary)
		}
	}
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// usageError is a command line previewctl cannot run.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelp is returned after -h printed a command's usage.
var errHelp = errors.New("help shown")

// stepError names the step of a command that failed, e.g. the upload of up.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func inStep(step string, err error) error {
	if err == nil {
		return nil
	}
	return &stepError{step: step, err: err}
}

// exitCode maps an error to previewctl's exit code.
func exitCode(err error) int {
	var (
		ue *usageError
		ne *unreachableError
		ae *apiError
	)
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &ne):
		return exitUnavailable
	case errors.As(err, &ae):
		switch {
		case ae.Code == "launch_failed":
			return exitLaunch
		case ae.Status == http.StatusNotFound:
			return exitNotFound
		case ae.Status == http.StatusUnauthorized, ae.Status == http.StatusForbidden:
			return exitAuth
		case ae.Status == http.StatusServiceUnavailable:
			return exitUnavailable
		}
	}
	return exitError
}

// describe turns an error into the sentence previewctl prints.
func describe(step string, err error) string {
	var (
		ue *usageError
		se *stepError
		ne *unreachableError
		ae *apiError
	)
	if errors.As(err, &se) {
		step, err = se.step, se.err
	}
	switch {
	case errors.As(err, &ue):
		return ue.msg
	case errors.Is(err, context.Canceled):
		return step + ": interrupted"
	case errors.As(err, &ne):
		return ne.Error() + "; is it running? Set -url or PREVIEW_URL"
	case errors.As(err, &ae):
		return step + " failed: " + apiSentence(ae)
	}
	return step + " failed: " + err.Error()
}

// apiSentence says what an API error means, for a person.
func apiSentence(ae *apiError) string {
	msg := ae.Error()
	switch {
	case ae.Status == http.StatusUnauthorized:
		msg += " (check -token or PREVIEW_TOKEN)"
	case ae.Status == http.StatusNotFound && ae.Message == "no such endpoint":
		msg = "this previewd does not serve that API route (it may be older than previewctl)"
	case ae.Status >= 500 && ae.Code == "internal":
		msg = "previewd had an internal error"
	}
	if ae.OOMKilled && !strings.Contains(msg, "memory") {
		msg += " (killed: out of memory)"
	}
	if ae.Status >= 500 && ae.RequestID != "" {
		msg += " (request id " + ae.RequestID + ")"
	}
	return msg
}

// report prints err, if any, on stderr and returns the exit code.
func (a *app) report(cmd string, err error) int {
	code := exitCode(err)
	if code == exitOK {
		return code
	}
	fmt.Fprintln(a.stderr, "previewctl: "+describe(cmd, err))
	var ae *apiError
	if errors.As(err, &ae) && ae.Cause != nil && ae.Cause.Kind != "" {
		fmt.Fprintln(a.stderr, "cause: "+ae.Cause.headline())
		if ae.Cause.Hint != "" {
			fmt.Fprintln(a.stderr, "hint: "+ae.Cause.Hint)
		}
	}
	if errors.As(err, &ae) && len(ae.LogTail) > 0 {
		fmt.Fprintf(a.stderr, "last %d lines of the app's output:\n", len(ae.LogTail))
		for _, l := range ae.LogTail {
			fmt.Fprintln(a.stderr, "  "+l)
		}
	}
	if code == exitUsage {
		if cmd == "previewctl" {
			fmt.Fprintln(a.stderr, "run 'previewctl help' for usage")
		} else {
			fmt.Fprintf(a.stderr, "run 'previewctl %s -h' for usage\n", cmd)
		}
	}
	return code
}
