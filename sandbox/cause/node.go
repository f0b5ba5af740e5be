package cause

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Compiled once; they are read-only.
var (
	reNodeFrame   = regexp.MustCompile(`^\s+at (?:(.*?) \()?((?:file://)?/[^():]+|node:[^():]+):(\d+):(\d+)\)?$`)
	reNodeHeader  = regexp.MustCompile(`^((?:file://)?/[^:]+):(\d+)$`)
	reNodeError   = regexp.MustCompile(`^(?:Uncaught )?([A-Z]\w*(?:Error|Exception)|Error)(?: \[([A-Z_]+)\])?: (.*)$`)
	reNodeModule  = regexp.MustCompile(`Cannot find (?:module|package) '([^']+)'`)
	reNodeFrom    = regexp.MustCompile(`imported from ((?:file://)?/\S+)`)
	reListenErr   = regexp.MustCompile(`listen (EADDRNOTAVAIL|EADDRINUSE|EACCES)\S*(?:: [a-z ]+)? (\S+)$`)
	reNodeEnvRead = regexp.MustCompile(`process\.env\.([A-Za-z_][A-Za-z0-9_]*)|process\.env\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]`)
)

// nodeCause explains the last uncaught error Node printed.
func nodeCause(lines []string) (Cause, bool) {
	at := -1
	var m []string
	for i := len(lines) - 1; i >= 0; i-- {
		if mm := reNodeError.FindStringSubmatch(lines[i]); mm != nil && nodeErrorContext(lines, i) {
			at, m = i, mm
			break
		}
	}
	if at < 0 {
		return Cause{}, false
	}
	typ, code, msg := m[1], m[2], m[3]
	c := Cause{Kind: ExceptionAtStart, Message: typ + ": " + msg, Symbol: typ}
	if code != "" {
		c.Message = fmt.Sprintf("%s [%s]: %s", typ, code, msg)
	}
	// The header Node prints above the error is where it was thrown; the
	// stack's innermost frame of the app's own code is where the app went
	// wrong, which matters when a library threw.
	hdrFile, hdrLine, hdrSource := nodeHeader(lines, at)
	file, line := "", 0
	for _, l := range lines[at+1:] {
		f := reNodeFrame.FindStringSubmatch(l)
		if f == nil {
			if strings.HasPrefix(strings.TrimSpace(l), "at ") || strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "Require stack") {
				continue
			}
			if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "    ") || strings.HasPrefix(l, "  ") || l == "}" || strings.HasSuffix(l, "{") {
				continue
			}
			break
		}
		if p := appPath(f[2]); p != "" {
			file = p
			line, _ = strconv.Atoi(f[3])
			break
		}
	}
	switch {
	case typ == "SyntaxError" && !thrownByCode(lines, at):
		c.Kind = SyntaxError
		c.Hint = "fix the syntax at this line (or the line before it)"
		if hdrFile != "" {
			file, line = hdrFile, hdrLine
		}
	case code == "MODULE_NOT_FOUND" || code == "ERR_MODULE_NOT_FOUND" || reNodeModule.MatchString(msg):
		c.Kind = ImportError
		if mm := reNodeModule.FindStringSubmatch(msg); mm != nil {
			c.Symbol = mm[1]
			c.Hint = fmt.Sprintf("add %q to package.json's dependencies, or fix the path if it is one of the app's own files", mm[1])
		}
		if file == "" {
			if mm := reNodeFrom.FindStringSubmatch(msg); mm != nil {
				file = appPath(mm[1])
			}
		}
		if file == "" {
			for _, l := range lines[at+1:] {
				if p := appPath(strings.TrimPrefix(l, "- ")); strings.HasPrefix(l, "- ") && p != "" {
					file = p
					break
				}
			}
		}
	case reListenErr.MatchString(msg):
		mm := reListenErr.FindStringSubmatch(msg)
		c.Kind, c.Symbol = PortNotOpened, mm[1]
		c.Message = fmt.Sprintf("the app could not listen on %s (%s)", mm[2], msg)
		c.Hint = "listen on 0.0.0.0 (or no host) and the port in $PORT; the preview has no other address"
	default:
		c.Hint = "this error is thrown while the app starts; fix the line it points at"
	}
	if file == "" && hdrFile != "" {
		file, line = hdrFile, hdrLine
	}
	c.File, c.Line = file, line
	source := hdrSource
	if file != hdrFile || line != hdrLine {
		source = ""
	}
	if names := missingEnv(msg, typ, source); len(names) > 0 && c.Kind == ExceptionAtStart {
		c.Kind, c.Symbol, c.MissingEnv = MissingEnv, names[0], names
		c.Hint = fmt.Sprintf("pass %s in the launch body's env, or give it a default in the code", strings.Join(names, ", "))
	}
	return c, true
}

// nodeErrorContext tells a Node error report from a line that only looks
// like one: a stack frame follows it, or Node's header precedes it.
func nodeErrorContext(lines []string, at int) bool {
	if at+1 < len(lines) && (reNodeFrame.MatchString(lines[at+1]) || strings.HasPrefix(lines[at+1], "    at ") ||
		strings.HasPrefix(lines[at+1], "Require stack")) {
		return true
	}
	f, _, _ := nodeHeader(lines, at)
	return f != ""
}

// nodeHeader finds the "file:line", source line and caret Node prints
// above an uncaught error.
func nodeHeader(lines []string, at int) (file string, line int, source string) {
	for i := at - 1; i >= 0 && i >= at-6; i-- {
		if m := reNodeHeader.FindStringSubmatch(lines[i]); m != nil {
			if p := appPath(m[1]); p != "" {
				n, _ := strconv.Atoi(m[2])
				if i+1 < at {
					source = strings.TrimSpace(lines[i+1])
				}
				return p, n, source
			}
			return "", 0, ""
		}
	}
	return "", 0, ""
}

// thrownByCode tells a SyntaxError the app's code threw while running
// (JSON.parse of bad input) from one Node's compiler raised for a file.
func thrownByCode(lines []string, at int) bool {
	if at+1 >= len(lines) {
		return false
	}
	first := lines[at+1]
	if strings.Contains(first, "JSON.parse") {
		return true
	}
	f := reNodeFrame.FindStringSubmatch(first)
	return f != nil && appPath(f[2]) != ""
}
