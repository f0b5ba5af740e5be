package cause

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Compiled once; they are read-only.
var (
	reANSI        = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)
	rePyFrame     = regexp.MustCompile(`^\s*File "([^"]+)", line (\d+)(?:, in (.+))?$`)
	rePyException = regexp.MustCompile(`^([A-Za-z_][\w.]*)(?::\s?(.*))?$`)
	reNoModule    = regexp.MustCompile(`No module named '([^']+)'`)
	reCannotName  = regexp.MustCompile(`cannot import name '([^']+)' from '([^']+)'`)
	rePyEnvRead   = regexp.MustCompile(`environ\s*\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]|(?:getenv|environ\.get|environ\.__getitem__)\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]`)
	reEnvInText   = []*regexp.Regexp{
		regexp.MustCompile(`(?i:env(?:ironment)?(?: variable)?s?\s*(?:named\s*)?[:=]?\s*)['"\x60]?([A-Z][A-Z0-9_]{1,})['"\x60]?\s+(?i:(?:is\s+)?(?:not set|unset|missing|required|must be set|is not defined|undefined))`),
		regexp.MustCompile(`\b['"\x60]?([A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Z]{3,})['"\x60]?\s+(?:environment variable\s+)?(?:is\s+)?(?:not set|unset|is missing|missing|is required|required|must be set|not defined|undefined)`),
		regexp.MustCompile(`(?i:(?:missing|set|requires?|provide|no)\s+(?:the\s+)?(?:required\s+)?env(?:ironment)?(?:\s+variable)?s?\s*[:=]?\s*)['"\x60]?([A-Z][A-Z0-9_]{1,})\b`),
	}
	reNoDist      = regexp.MustCompile(`No matching distribution found for ([A-Za-z0-9_.\-\[\]]+)`)
	reNpmNotFound = regexp.MustCompile(`404\s+'?([@A-Za-z0-9_./\-]+)@?[^']*'? is not in this registry|notarget No matching version found for ([@A-Za-z0-9_./\-]+)`)
)

// pyFrame is one frame of a Python traceback.
type pyFrame struct {
	file   string // as printed
	line   int
	fn     string // "" on a syntax error's location line
	source string // the source line Python printed under it
}

// pyTrace is one "Traceback (most recent call last):" block.
type pyTrace struct {
	frames  []pyFrame
	excType string
	message string
	detail  []string // the lines after the exception's (a ValidationError lists its fields there)
}

// maxDetailLines bounds the lines kept after an exception's.
const maxDetailLines = 40

// maxForeignLines is how many lines that belong to no traceback one may hold
// before it is taken as ended.
const maxForeignLines = 5

// logLevels are the words log lines start with that would otherwise read as
// an exception type ("INFO: Started server process").
var logLevels = map[string]bool{"DEBUG": true, "INFO": true, "WARNING": true, "WARN": true, "ERROR": true, "CRITICAL": true}

// pythonTraces reads every traceback block in the output, oldest first.
func pythonTraces(lines []string) []pyTrace {
	var out []pyTrace
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(strings.TrimSpace(lines[i]), "Traceback (most recent call last):") {
			continue
		}
		var t pyTrace
		foreign := 0
		j := i + 1
		for ; j < len(lines); j++ {
			l := lines[j]
			if m := rePyFrame.FindStringSubmatch(l); m != nil {
				n, _ := strconv.Atoi(m[2])
				t.frames = append(t.frames, pyFrame{file: m[1], line: n, fn: m[3]})
				continue
			}
			if strings.HasPrefix(l, " ") || strings.TrimSpace(l) == "" || strings.HasPrefix(l, "\t") {
				// A source line, a caret line or a note.
				s := strings.TrimSpace(l)
				if len(t.frames) > 0 && t.frames[len(t.frames)-1].source == "" && s != "" && strings.Trim(s, "^~ ") != "" {
					t.frames[len(t.frames)-1].source = s
				}
				continue
			}
			if m := rePyException.FindStringSubmatch(strings.TrimSpace(l)); m != nil && len(t.frames) > 0 && !logLevels[m[1]] {
				t.excType, t.message = m[1], strings.TrimSpace(m[2])
				for k := j + 1; k < len(lines) && k <= j+maxDetailLines; k++ {
					if strings.TrimSpace(lines[k]) == "" || strings.HasPrefix(strings.TrimSpace(lines[k]), "Traceback (most recent call last):") {
						break
					}
					t.detail = append(t.detail, lines[k])
				}
				break
			}
			// A line of the other stream: stdout and stderr reach previewd
			// through two pipes, so a line the app printed on stdout just
			// before the traceback can land inside it.
			if foreign++; foreign > maxForeignLines {
				break
			}
		}
		if t.excType != "" {
			out = append(out, t)
		}
		i = j
	}
	return out
}

// shortType drops the module path of an exception type.
func shortType(t string) string {
	if i := strings.LastIndex(t, "."); i >= 0 {
		return t[i+1:]
	}
	return t
}

// pythonCause explains the last traceback of the output.
func pythonCause(lines []string) (Cause, bool) {
	traces := pythonTraces(lines)
	if len(traces) == 0 {
		return Cause{}, false
	}
	t := traces[len(traces)-1]
	// A chained exception (raise ... from, or one raised while handling
	// another) can end in the framework's frames only; the first block of
	// the chain then holds the app's line.
	frame, ok := innermostApp(t.frames)
	if !ok {
		for k := len(traces) - 2; k >= 0; k-- {
			if f, found := innermostApp(traces[k].frames); found {
				frame, ok = f, true
				if kindOfPython(traces[k]) != ExceptionAtStart && kindOfPython(t) == ExceptionAtStart {
					t = traces[k]
				}
				break
			}
		}
	}
	typ := shortType(t.excType)
	c := Cause{Kind: kindOfPython(t), Message: strings.TrimSpace(typ + ": " + t.message)}
	if t.message == "" {
		c.Message = typ
	}
	if c.Kind == SyntaxError {
		// The last frame is where the parser stopped, with no function.
		if n := len(t.frames); n > 0 && appPath(t.frames[n-1].file) != "" {
			frame, ok = t.frames[n-1], true
		}
	}
	if ok {
		c.File, c.Line = appPath(frame.file), frame.line
	}
	switch c.Kind {
	case SyntaxError:
		c.Symbol = typ
		c.Hint = "fix the syntax at this line (or the line before it)"
	case ImportError:
		if m := reNoModule.FindStringSubmatch(t.message); m != nil {
			c.Symbol = m[1]
			c.Hint = fmt.Sprintf("add the package that provides %q to requirements.txt, or fix the import if %s is one of the app's own modules", m[1], m[1])
		} else if m := reCannotName.FindStringSubmatch(t.message); m != nil {
			c.Symbol = m[1]
			c.Hint = fmt.Sprintf("%s does not define %s: fix the name, or the module it is imported from", m[2], m[1])
		} else {
			c.Hint = "fix the import, or add the missing package to requirements.txt"
		}
	case ExceptionAtStart:
		c.Symbol = typ
		c.Hint = "this exception is raised while the app starts; fix the line it points at"
	}
	if c.Kind == ExceptionAtStart && reServerStart.MatchString(frame.source) {
		// The app starts a server of its own while previewd's server
		// imports it: it fails, or serves where previewd does not look.
		c.Kind, c.Symbol = PortNotOpened, typ
		c.Message = fmt.Sprintf("the app starts its own server at import (%s), inside the server previewd runs: %s", frame.source, c.Message)
		c.Hint = "start the server only under if __name__ == \"__main__\": previewd imports the app and serves it on 0.0.0.0:$PORT"
	}
	if names := missingEnv(t.message, typ, frame.source); len(names) > 0 && c.Kind != SyntaxError && c.Kind != ImportError {
		c.Kind, c.Symbol, c.MissingEnv = MissingEnv, names[0], names
		c.Hint = fmt.Sprintf("pass %s in the launch body's env, or give it a default in the code", strings.Join(names, ", "))
	}
	return c, true
}

func kindOfPython(t pyTrace) string {
	switch shortType(t.excType) {
	case "SyntaxError", "IndentationError", "TabError":
		return SyntaxError
	case "ModuleNotFoundError", "ImportError":
		return ImportError
	}
	return ExceptionAtStart
}

// innermostApp is the deepest frame in the app's own files.
func innermostApp(frames []pyFrame) (pyFrame, bool) {
	for i := len(frames) - 1; i >= 0; i-- {
		if appPath(frames[i].file) != "" && !strings.HasPrefix(frames[i].fn, "<frozen") {
			return frames[i], true
		}
	}
	return pyFrame{}, false
}

// missingEnv names the environment variables an error says are missing:
// from the message ("DATABASE_URL is not set"), or, for a KeyError,
// TypeError or AttributeError, from the source line that read the
// environment.
func missingEnv(message, typ, source string) []string {
	for _, re := range reEnvInText {
		if m := re.FindStringSubmatch(message); m != nil && m[1] != "" {
			return []string{m[1]}
		}
	}
	switch typ {
	case "KeyError", "TypeError", "AttributeError", "ValueError", "Error":
	default:
		return nil
	}
	for _, re := range []*regexp.Regexp{rePyEnvRead, reNodeEnvRead} {
		if m := re.FindStringSubmatch(source); m != nil {
			for _, g := range m[1:] {
				if g != "" {
					// A KeyError names the key it missed: it must be this one.
					if typ == "KeyError" && !strings.Contains(message, g) {
						continue
					}
					return []string{g}
				}
			}
		}
	}
	return nil
}

// gunicornCause reads gunicorn's own start-up errors, printed without a
// traceback ("Failed to find attribute 'app' in 'main'.").
func gunicornCause(lines []string) (Cause, bool) {
	for _, l := range lines {
		if i := strings.Index(l, "Failed to find attribute '"); i >= 0 {
			rest := l[i+len("Failed to find attribute '"):]
			attr, mod, _ := strings.Cut(rest, "' in '")
			mod = strings.TrimSuffix(strings.TrimSuffix(mod, "."), "'")
			return Cause{Kind: ExceptionAtStart, Message: strings.TrimSpace(l[i:]), File: strings.ReplaceAll(mod, ".", "/") + ".py",
				Symbol: attr, Hint: fmt.Sprintf("define %s in %s, or name the app the way previewd found it", attr, mod)}, true
		}
		if i := strings.Index(l, `Error loading ASGI app.`); i >= 0 {
			return Cause{Kind: ExceptionAtStart, Message: strings.TrimSpace(l[i:]), Hint: "check the module and attribute uvicorn loads"}, true
		}
	}
	return Cause{}, false
}

// djangoCheckCause reads Django's system check report, printed by
// manage.py before the app serves.
func djangoCheckCause(lines []string) (Cause, bool) {
	for i, l := range lines {
		if !strings.Contains(l, "SystemCheckError") && !strings.HasPrefix(l, "ERRORS:") {
			continue
		}
		for _, e := range lines[i+1:] {
			e = strings.TrimSpace(e)
			label, rest, ok := strings.Cut(e, ": (")
			if !ok {
				continue
			}
			id, msg, _ := strings.Cut(rest, ") ")
			c := Cause{Kind: ExceptionAtStart, Message: fmt.Sprintf("%s: %s", label, msg), Symbol: id,
				Hint: "Django's system check failed; fix the setting or model it names"}
			if parts := strings.Split(label, "."); len(parts) >= 2 && !strings.HasPrefix(label, "?") {
				c.File = parts[0] + "/models.py"
			}
			return c, true
		}
	}
	return Cause{}, false
}
