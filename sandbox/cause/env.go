package cause

import (
	"fmt"
	"regexp"
	"strings"
)

// Missing configuration that the error names only indirectly: a
// pydantic-settings class whose required fields the environment lacks, or
// a framework setting (Django's SECRET_KEY, Flask-SQLAlchemy's database
// URI) that the app's own code reads from an environment variable that is
// unset. The app's sources say which variable it is.

var (
	reValidationFor = regexp.MustCompile(`^\d+ validation errors? for (\w+)`)
	// A setting that must have a value: "The SECRET_KEY setting must not
	// be empty", "Either 'SQLALCHEMY_DATABASE_URI' or 'SQLALCHEMY_BINDS'
	// must be set".
	reEmptySetting = regexp.MustCompile(`['"\x60]?\b([A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Z]{3,})\b['"\x60]?(?:\s+setting)?(?:\s+or\s+['"\x60]?[A-Z_]+['"\x60]?)?\s+(?:must not be empty|must be set|is not set|is required|is empty)`)
	// "Set the SECRET_KEY environment variable" (django-environ).
	reSetEnvVar = regexp.MustCompile(`(?i:set|define|provide)\s+(?:the\s+)?['"\x60]?([A-Z][A-Z0-9_]+)['"\x60]?\s+(?i:env(?:ironment)?[\s_-]*var)`)
)

// refineEnv turns an exception at start into missing_env when the error
// is about configuration the app reads from the environment, and corrects
// a missing_env that named a setting the app reads from another variable.
func refineEnv(c *Cause, lines []string, sources map[string]string) {
	if c.Kind != ExceptionAtStart && c.Kind != CrashLoop && c.Kind != MissingEnv {
		return
	}
	var names []string
	if m := reSetEnvVar.FindStringSubmatch(c.Message); m != nil {
		names = []string{m[1]}
	}
	if names == nil && c.Kind != MissingEnv {
		names = settingsFields(lines, sources)
	}
	if names == nil && (c.Kind == MissingEnv || reEmptySetting.MatchString(c.Message)) {
		// The setting's own name, or the variable the app fills it from.
		for _, m := range reUpperWord.FindAllString(c.Message, -1) {
			if v := envForSetting(m, sources); v != "" {
				names = []string{v}
				break
			}
		}
	}
	if len(names) == 0 {
		return
	}
	if c.Kind == ExceptionAtStart {
		c.Kind = MissingEnv
	}
	c.Symbol, c.MissingEnv = names[0], names
	c.Hint = EnvHint(names)
}

var reUpperWord = regexp.MustCompile(`\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\b[A-Z]{3,}\b`)

// EnvHint says what to do about missing variables.
func EnvHint(names []string) string {
	return fmt.Sprintf("pass %s in the launch body's env, or give it a default in the code", strings.Join(names, ", "))
}

// EnvMessage is what a launch's error message adds for missing variables.
func EnvMessage(names []string) string {
	noun := "the environment variable"
	if len(names) > 1 {
		noun = "the environment variables"
	}
	return fmt.Sprintf("the app needs %s %s, which the launch did not set; pass it in the launch body's env", noun, strings.Join(names, ", "))
}

// settingsFields reads a pydantic ValidationError of a BaseSettings class
// (pydantic-settings): the required fields it lists as missing, as the
// variables that set them (the class's env_prefix, upper case).
func settingsFields(lines []string, sources map[string]string) []string {
	traces := pythonTraces(lines)
	if len(traces) == 0 {
		return nil
	}
	t := traces[len(traces)-1]
	if shortType(t.excType) != "ValidationError" {
		return nil
	}
	m := reValidationFor.FindStringSubmatch(t.message)
	if m == nil {
		return nil
	}
	prefix, ok := settingsClass(m[1], sources)
	if !ok {
		return nil
	}
	var out []string
	for i, l := range t.detail {
		if strings.HasPrefix(l, " ") || i+1 >= len(t.detail) {
			continue
		}
		next := strings.TrimSpace(t.detail[i+1])
		if !strings.HasPrefix(next, "Field required") && !strings.Contains(next, "type=missing") {
			continue
		}
		field := strings.TrimSpace(l)
		if field == "" || strings.ContainsAny(field, " .") {
			continue // a nested field: no variable of its own
		}
		out = append(out, strings.ToUpper(prefix+field))
	}
	return out
}

// settingsClass reports whether the app defines class name as a
// BaseSettings, and its env_prefix.
func settingsClass(name string, sources map[string]string) (prefix string, ok bool) {
	re := regexp.MustCompile(`(?m)^\s*class\s+` + regexp.QuoteMeta(name) + `\s*\(([^)]*)\)`)
	for _, src := range sources {
		loc := re.FindStringSubmatchIndex(src)
		if loc == nil || !strings.Contains(src[loc[2]:loc[3]], "Settings") {
			continue
		}
		body := src[loc[1]:]
		if next := regexp.MustCompile(`(?m)^class\s`).FindStringIndex(body); next != nil {
			body = body[:next[0]]
		}
		if p := regexp.MustCompile(`env_prefix\s*=\s*['"]([^'"]*)['"]`).FindStringSubmatch(body); p != nil {
			prefix = p[1]
		}
		return prefix, true
	}
	return "", false
}

// envForSetting finds the environment variable the app's code reads a
// setting from: SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY"),
// app.config["SQLALCHEMY_DATABASE_URI"] = os.getenv("DATABASE_URL").
func envForSetting(setting string, sources map[string]string) string {
	re := regexp.MustCompile(`\b` + regexp.QuoteMeta(setting) + `\b['"]?\]?\s*=\s*.*?(?:getenv|environ\.get|environ\s*\[|env\.str|env)\(?\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]`)
	file, line := find(sources, "", re)
	if file == "" {
		return ""
	}
	src := strings.Split(sources[file], "\n")[line-1]
	return re.FindStringSubmatch(src)[1]
}
