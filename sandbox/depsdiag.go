package sandbox

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/previewd/previewd/sandbox/framework"
)

// What a failed install's output says went wrong, in the installer's own
// words, so that the launch's answer can say it in previewd's: which
// packages, and whether the index lacks them, lacks the version asked for,
// or could not be reached.

// Kinds of install failure diagnoseInstall recognises.
const (
	installNoVersion   = "no_version"  // the index has the package, but no version satisfying the spec
	installNotFound    = "not_found"   // the index does not have the package
	installUnreachable = "unreachable" // the index could not be reached
)

// installDiagnosis is what diagnoseInstall reads from an installer's output.
type installDiagnosis struct {
	// Kind is one of the install* kinds, or "" when the output names none.
	Kind string
	// Packages are the requirements the installer named as failing, as it
	// wrote them ("demo-pkg==2.0", "express@^5.1.0").
	Packages []string
	// Available is, for installNoVersion from pip, the versions the index
	// offered ("1.0, 1.1").
	Available string
	// Kept are the lines worth showing, at most maxLines, in output order.
	Kept []string
}

var (
	ansiEscape = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-B]|[=>78])`)

	pipNoMatch    = regexp.MustCompile(`Could not find a version that satisfies the requirement (\S+).*\(from versions: ([^)]*)\)`)
	pipNoDist     = regexp.MustCompile(`No matching distribution found for (\S+)`)
	pipNetwork    = regexp.MustCompile(`(?i)ProxyError|NewConnectionError|Max retries exceeded|Connection refused|Read timed out|ConnectTimeout|Could not fetch URL|Bad Gateway|Tunnel connection failed|Temporary failure in name resolution|Network is unreachable`)
	npmCode       = regexp.MustCompile(`^npm ERR! code (\S+)`)
	npmNoTarget   = regexp.MustCompile(`No matching version found for (\S+?)\.?$`)
	npmNotInReg   = regexp.MustCompile(`'(\S+)' is not in (this|the npm) registry`)
	npmFetchFail  = regexp.MustCompile(`request to \S+ failed, reason:`)
	npmStackFrame = regexp.MustCompile(`^npm ERR!\s+at `)
)

// npmNetworkCodes are npm's error codes for a registry it could not reach
// (E5xx are the proxy's or the registry's own gateway answers).
var npmNetworkCodes = map[string]bool{
	"ECONNREFUSED": true, "ECONNRESET": true, "ETIMEDOUT": true, "ESOCKETTIMEDOUT": true, "ENOTFOUND": true,
	"EAI_AGAIN": true, "ENETUNREACH": true, "EHOSTUNREACH": true, "ERR_SOCKET_TIMEOUT": true,
	"E500": true, "E502": true, "E503": true, "E504": true,
}

// cleanInstallLine is a line of installer output as a person reads it:
// without terminal escapes, and of a line a progress display rewrote with
// carriage returns, only what was written last.
func cleanInstallLine(s string) string {
	s = strings.TrimRight(s, "\r\n")
	if i := strings.LastIndexByte(s, '\r'); i >= 0 {
		s = s[i+1:]
	}
	s = ansiEscape.ReplaceAllString(s, "")
	// A stray escape or control byte would still garble a terminal.
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return strings.TrimRight(s, " \t")
}

// diagnoseInstall reads the (cleaned) output lines of runtime's installer
// (pip for "python", npm for "node") and returns the cause it names and the
// lines to keep, at most maxLines: the decisive ones (pip's ERROR lines and
// the lines before them, npm's code/notarget/404 lines) first, then the
// rest of the installer's error report, then the output's last lines.
func diagnoseInstall(runtime string, lines []string, maxLines int) installDiagnosis {
	var d installDiagnosis
	prio := make([]int, len(lines))
	seen := map[string]bool{}
	addPkg := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			d.Packages = append(d.Packages, p)
		}
	}
	network := false
	for i, l := range lines {
		if runtime == "node" {
			prio[i] = npmPriority(l)
			if m := npmCode.FindStringSubmatch(l); m != nil {
				switch {
				case m[1] == "ETARGET":
					d.Kind = installNoVersion
				case m[1] == "E404":
					d.Kind = installNotFound
				case npmNetworkCodes[m[1]]:
					network = true
				}
			}
			if m := npmNoTarget.FindStringSubmatch(l); m != nil {
				addPkg(m[1])
			}
			if m := npmNotInReg.FindStringSubmatch(l); m != nil {
				addPkg(m[1])
			}
			if npmFetchFail.MatchString(l) {
				network = true
			}
			continue
		}
		prio[i] = pipPriority(l)
		if m := pipNoMatch.FindStringSubmatch(l); m != nil {
			addPkg(m[1])
			if strings.TrimSpace(m[2]) == "none" {
				if d.Kind == "" {
					d.Kind = installNotFound
				}
			} else {
				d.Kind, d.Available = installNoVersion, strings.TrimSpace(m[2])
			}
		}
		if m := pipNoDist.FindStringSubmatch(l); m != nil {
			addPkg(m[1])
		}
		if pipNetwork.MatchString(l) {
			network = true
		}
	}
	if runtime == "python" {
		// pip's context for an ERROR line is the lines just before it
		// (the failing build's output, a traceback's last frames).
		for i := range lines {
			if prio[i] == 3 {
				for j := max(0, i-3); j < i; j++ {
					prio[j] = max(prio[j], 2)
				}
			}
		}
	}
	if network {
		// Not finding a package is what an unreachable index looks like
		// too; the connection failure is the cause.
		d.Kind = installUnreachable
	}
	d.Kept = keepLines(lines, prio, maxLines)
	return d
}

// pipPriority ranks a pip output line: 3 decisive, 1 an error's detail,
// 0 anything else.
func pipPriority(l string) int {
	t := strings.TrimSpace(l)
	switch {
	case strings.HasPrefix(t, "ERROR:"), pipNetwork.MatchString(t):
		return 3
	case strings.HasPrefix(t, "error:"), strings.HasPrefix(t, "WARNING:"), strings.HasPrefix(t, "×"), strings.HasPrefix(t, "╰─>"):
		return 1
	}
	return 0
}

// npmPriority ranks an npm output line as pipPriority does; -1 drops it
// (a stack frame, or the path of a debug log that is gone with the
// install's container).
func npmPriority(l string) int {
	rest, ok := strings.CutPrefix(l, "npm ERR!")
	if !ok {
		return 0
	}
	t := strings.TrimSpace(rest)
	switch {
	case t == "", npmStackFrame.MatchString(l),
		strings.HasPrefix(t, "A complete log of this run can be found in"), strings.HasSuffix(t, "-debug-0.log"):
		return -1
	case strings.HasPrefix(t, "code "), strings.HasPrefix(t, "notarget "), strings.HasPrefix(t, "404 "),
		strings.HasPrefix(t, "errno "), strings.Contains(t, "ETARGET"), npmFetchFail.MatchString(t):
		return 3
	}
	return 1
}

// keepLines picks at most n lines, the highest priorities first and, within
// one priority, the last ones, dropping negative priorities and repeats,
// and returns them in their order in lines.
func keepLines(lines []string, prio []int, n int) []string {
	idx := make([]int, 0, len(lines))
	first := map[string]bool{}
	for i, l := range lines {
		if prio[i] < 0 || first[l] {
			continue
		}
		first[l] = true
		idx = append(idx, i)
	}
	sort.SliceStable(idx, func(a, b int) bool {
		if prio[idx[a]] != prio[idx[b]] {
			return prio[idx[a]] > prio[idx[b]]
		}
		return idx[a] > idx[b] // later lines first within a priority
	})
	if len(idx) > n {
		idx = idx[:n]
	}
	sort.Ints(idx)
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = lines[j]
	}
	return out
}

// installFailure is what previewd knows of a failed install besides its
// output.
type installFailure struct {
	Runtime string
	// Source is the configured index (python) or registry (node) URL.
	Source string
	// Missing are the requirements the install was for.
	Missing []framework.Requirement
	// Installed is what the runtime image carries, name to version.
	Installed map[string]string
	// Unreachable says the install's proxy could not connect to Source.
	Unreachable bool
	// Timeout, when not 0, is the PREVIEW_BUILD_TIMEOUT the install ran past.
	Timeout time.Duration
	// OOM says the install was killed at the memory cap, MemoryMB.
	OOM      bool
	MemoryMB int
	// ExitStatus is the installer's exit status.
	ExitStatus int
}

// message says, in words, which packages could not be installed and why;
// it names no image, container, command or host path.
func (f installFailure) message(d installDiagnosis) string {
	pkgs := d.Packages
	if len(pkgs) == 0 || f.Unreachable || d.Kind == installUnreachable || f.Timeout > 0 || f.OOM {
		pkgs = nil
		for _, r := range f.Missing {
			pkgs = append(pkgs, f.requirement(r.Name, r.Spec))
		}
	}
	list := strings.Join(pkgs, ", ")
	switch {
	case f.Timeout > 0:
		msg := fmt.Sprintf("installing %s took longer than %s (PREVIEW_BUILD_TIMEOUT)", list, f.Timeout)
		if f.Unreachable {
			msg += ": " + f.source() + " is unreachable"
		}
		return msg
	case f.OOM:
		return fmt.Sprintf("installing %s ran out of memory (the preview's memory cap is %d MB)", list, f.MemoryMB)
	case f.Unreachable || d.Kind == installUnreachable:
		return fmt.Sprintf("could not install %s: %s is unreachable%s", list, f.source(), f.carried(pkgs))
	case d.Kind == installNoVersion:
		var parts []string
		for _, p := range pkgs {
			name, spec := f.splitRequirement(p)
			s := fmt.Sprintf("no version of %s satisfies %s on %s", name, spec, f.source())
			if d.Available != "" && len(pkgs) == 1 {
				s += " (it has " + d.Available + ")"
			}
			parts = append(parts, s+f.carried([]string{p}))
		}
		return strings.Join(parts, "; ")
	case d.Kind == installNotFound:
		verb := "is"
		if len(pkgs) > 1 {
			verb = "are"
		}
		return fmt.Sprintf("%s %s not on %s", list, verb, f.source())
	}
	return fmt.Sprintf("installing %s failed: %s exited with status %d (its output is in log_tail)", list, f.installer(), f.ExitStatus)
}

func (f installFailure) installer() string {
	if f.Runtime == "node" {
		return "npm"
	}
	return "pip"
}

// source names the configured package source and the setting it comes from.
func (f installFailure) source() string {
	if f.Runtime == "node" {
		return "the npm registry at " + f.Source + " (PREVIEW_NPM_REGISTRY)"
	}
	return "the package index at " + f.Source + " (PREVIEW_PIP_INDEX_URL)"
}

// requirement writes a requirement as the runtime's installer does.
func (f installFailure) requirement(name, spec string) string {
	if f.Runtime == "node" {
		if spec == "" {
			return name
		}
		return name + "@" + spec
	}
	return name + spec
}

// splitRequirement is requirement's inverse; a missing spec is "any version".
func (f installFailure) splitRequirement(p string) (name, spec string) {
	if f.Runtime == "node" {
		if i := strings.LastIndexByte(p, '@'); i > 0 {
			return p[:i], p[i+1:]
		}
		return p, "any version"
	}
	if i := strings.IndexAny(p, "=<>!~"); i > 0 {
		return p[:i], p[i:]
	}
	return p, "any version"
}

// carried says which of pkgs the runtime image has, at which version.
func (f installFailure) carried(pkgs []string) string {
	var have []string
	for _, p := range pkgs {
		name, _ := f.splitRequirement(p)
		v, ok := f.Installed[name]
		if !ok {
			v, ok = f.Installed[strings.ToLower(name)]
		}
		if ok && v != "" {
			have = append(have, name+" "+v)
		}
	}
	if len(have) == 0 {
		return ""
	}
	return " (the runtime image carries " + strings.Join(have, ", ") + ")"
}
