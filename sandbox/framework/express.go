package framework

import (
	"encoding/json"
	"path"
	"regexp"
	"sort"
	"strings"
)

// packageJSON is the part of package.json detection reads.
type packageJSON struct {
	Main            string            `json:"main"`
	Scripts         map[string]string `json:"scripts"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
}

// Compiled once; they are read-only.
var (
	reRequireExpress = regexp.MustCompile(`require\(\s*['"]express['"]\s*\)|\bfrom\s*['"]express['"]|\bimport\s*(\(\s*)?['"]express['"]`)
	reLocalImport    = regexp.MustCompile(`(?:require\(|\bfrom|\bimport\s*\(?)\s*['"](\.{1,2}/[^'"]+)['"]`)
	reListen         = regexp.MustCompile(`\.listen\s*\(`)
	reEnvPort        = regexp.MustCompile(`\benv\.PORT\b|\benv\[\s*['"]PORT['"]\s*\]|\{[^}]*\bPORT\b[^}]*\}\s*=\s*process\.env`)
	reLoopbackListen = regexp.MustCompile(`\.listen\s*\([^;]*?['"](?:localhost|127\.0\.0\.1|::1)['"]`)
)

// jsProject indexes the JavaScript files and package.json files of a
// generation, comments removed.
type jsProject struct {
	src  map[string]string       // path → source without comments
	pkgs map[string]*packageJSON // directory ("" for the root) → parsed package.json
}

func newJSProject(files map[string][]byte) *jsProject {
	p := &jsProject{src: map[string]string{}, pkgs: map[string]*packageJSON{}}
	for name, body := range files {
		if skipJSPath(name) {
			continue
		}
		switch {
		case path.Base(name) == "package.json":
			var pkg packageJSON
			// A package.json that does not parse cannot tell us anything;
			// Requirements reports it.
			if json.Unmarshal([]byte(withoutBOM(body)), &pkg) == nil {
				p.pkgs[dirOf(name)] = &pkg
			}
		case isJSFile(name):
			p.src[name] = stripJSComments(withoutBOM(body))
		}
	}
	return p
}

func isJSFile(name string) bool {
	switch path.Ext(name) {
	case ".js", ".mjs", ".cjs":
		return true
	}
	// bin/www, as express-generator writes it, has no extension.
	return path.Base(path.Dir(name)) == "bin" && path.Ext(name) == ""
}

// skipJSPath reports whether a file is dependencies or hidden, not the app.
func skipJSPath(name string) bool {
	for _, d := range strings.Split(name, "/") {
		if d == "node_modules" || strings.HasPrefix(d, ".") {
			return true
		}
	}
	return false
}

// dirOf returns the directory of a path, "" for the root.
func dirOf(name string) string {
	d := path.Dir(name)
	if d == "." {
		return ""
	}
	return d
}

// expressEvidence reports whether a package.json depends on express or a
// JavaScript file imports it.
func expressEvidence(files map[string][]byte) bool {
	js := newJSProject(files)
	for _, pkg := range js.pkgs {
		if pkg.dependsOnExpress() {
			return true
		}
	}
	for _, src := range js.src {
		if reRequireExpress.MatchString(src) {
			return true
		}
	}
	return false
}

func (p *packageJSON) dependsOnExpress() bool {
	_, dep := p.Dependencies["express"]
	_, dev := p.DevDependencies["express"]
	return dep || dev
}

// expressPlan finds the file to run with node: the file of a `node <file>`
// start script, else package.json main, else a conventional file that uses
// express. Packages that depend on express are tried first, so that a
// server/ package beside a frontend/ one wins.
func expressPlan(files map[string][]byte) (Plan, error) {
	js := newJSProject(files)
	var dirs []string
	for dir, pkg := range js.pkgs {
		if pkg.dependsOnExpress() {
			dirs = append(dirs, dir)
		}
	}
	sort.Slice(dirs, func(i, j int) bool { return pathLess(dirs[i], dirs[j]) })
	if _, ok := js.pkgs[""]; ok || len(dirs) == 0 {
		dirs = appendNew(dirs, "")
	}
	for _, dir := range dirs {
		if entry, ok := js.entryIn(dir); ok {
			return js.plan(dir, entry), nil
		}
	}
	// Last resort: any file that listens and reaches express.
	var names []string
	for name := range js.src {
		if reListen.MatchString(js.src[name]) && js.reachesExpress(name) {
			names = append(names, name)
		}
	}
	if len(names) > 0 {
		sort.Slice(names, func(i, j int) bool { return pathLess(names[i], names[j]) })
		return js.plan("", names[0]), nil
	}
	return Plan{}, undetected("no package.json start script of the form `node <file>`, no package.json main, " +
		"and no server.js, app.js, index.js, src/index.js, src/server.js or src/app.js that uses express")
}

// entryIn finds the entry file of the package in dir.
func (p *jsProject) entryIn(dir string) (string, bool) {
	if pkg := p.pkgs[dir]; pkg != nil {
		if file, ok := startScriptFile(pkg.Scripts["start"]); ok {
			if f, ok := p.resolve(dir, file); ok {
				return f, true
			}
		}
		if pkg.Main != "" {
			if f, ok := p.resolve(dir, pkg.Main); ok {
				return f, true
			}
		}
	}
	// Prefer a file that also listens: index.js often requires ./app,
	// which builds the express app but does not listen.
	var reaches string
	for _, c := range []string{"server.js", "app.js", "index.js", "src/index.js", "src/server.js", "src/app.js"} {
		f := path.Join(dir, c)
		if _, ok := p.src[f]; !ok || !p.reachesExpress(f) {
			continue
		}
		if reListen.MatchString(p.src[f]) {
			return f, true
		}
		if reaches == "" {
			reaches = f
		}
	}
	return reaches, reaches != ""
}

// startScriptFile reads the file from an npm start script such as
// "node server.js", "NODE_ENV=production node ./src/index.js" or
// "npm run build && node dist/server.js".
func startScriptFile(script string) (string, bool) {
	for _, seg := range strings.FieldsFunc(script, func(r rune) bool { return r == '&' || r == ';' || r == '|' }) {
		words := strings.Fields(seg)
		i := 0
		for i < len(words) && (strings.Contains(words[i], "=") && !strings.HasPrefix(words[i], "-") || words[i] == "cross-env" || words[i] == "env") {
			i++
		}
		if i >= len(words) || words[i] != "node" && words[i] != "nodemon" {
			continue
		}
		for i++; i < len(words); i++ {
			w := strings.Trim(words[i], `"'`)
			switch {
			case w == "-r" || w == "--require" || w == "--import" || w == "--loader":
				i++ // the flag's value
			case strings.HasPrefix(w, "-"):
			default:
				return w, true
			}
		}
	}
	return "", false
}

// resolve finds a file named as node would: as written, with an extension,
// or as a directory's index.js.
func (p *jsProject) resolve(dir, name string) (string, bool) {
	f := path.Join(dir, name)
	if f == ".." || strings.HasPrefix(f, "../") {
		return "", false
	}
	for _, c := range []string{f, f + ".js", f + ".mjs", f + ".cjs", f + "/index.js"} {
		if _, ok := p.src[c]; ok {
			return c, true
		}
	}
	return "", false
}

// reachesExpress reports whether file imports express, itself or through
// local modules.
func (p *jsProject) reachesExpress(file string) bool {
	seen := map[string]bool{}
	p.walkLocal(file, seen)
	for f := range seen {
		if reRequireExpress.MatchString(p.src[f]) {
			return true
		}
	}
	return false
}

// plan builds the command for entry, run from dir (a package's directory,
// where npm start would run it).
func (p *jsProject) plan(dir, entry string) Plan {
	rel := entry
	if dir != "" {
		rel = strings.TrimPrefix(entry, dir+"/")
	}
	argv := []string{"node", rel}
	if p.needsPortShim(entry) {
		argv = []string{"node", "-e", portShim, rel}
	}
	return Plan{
		Framework:  Express,
		Runtime:    RuntimeNode,
		Entrypoint: entry,
		Command:    inDir(dir, argv),
		Dir:        dir,
		Exec:       argv,
	}
}

// needsPortShim reports whether the code the entry loads listens where
// the preview cannot reach it: on a port that is not read from PORT
// (app.listen(3000)), or on loopback only (app.listen(port, "localhost")).
func (p *jsProject) needsPortShim(entry string) bool {
	seen := map[string]bool{}
	p.walkLocal(entry, seen)
	listens, envPort := false, false
	for f := range seen {
		src := p.src[f]
		if reLoopbackListen.MatchString(src) {
			return true
		}
		listens = listens || reListen.MatchString(src)
		envPort = envPort || reEnvPort.MatchString(src)
	}
	return listens && !envPort
}

// walkLocal adds file and every local module it imports, transitively, to
// seen.
func (p *jsProject) walkLocal(file string, seen map[string]bool) {
	if seen[file] {
		return
	}
	seen[file] = true
	for _, m := range reLocalImport.FindAllStringSubmatch(p.src[file], -1) {
		if f, ok := p.resolve(path.Dir(file), m[1]); ok {
			p.walkLocal(f, seen)
		}
	}
}

// portShim moves the app's first listen() to $PORT (and to $HOST when the
// app names a host), then runs the entry file as node's main module, so
// require.main === module stays true. It is passed with -e because the
// preview has no file of ours to -r.
const portShim = `const net=require("net");` +
	`const port=Number(process.env.PORT)||8000,host=process.env.HOST||"0.0.0.0";` +
	`const listen=net.Server.prototype.listen;let moved=false;` +
	`net.Server.prototype.listen=function(...a){` +
	`if(!moved){` +
	`if(typeof a[0]==="number"||(typeof a[0]==="string"&&/^\d+$/.test(a[0]))){moved=true;a[0]=port;if(typeof a[1]==="string")a[1]=host}` +
	`else if(a[0]===undefined||typeof a[0]==="function"){moved=true;a.unshift(port,host)}` +
	`else if(a[0]&&typeof a[0]==="object"&&"port" in a[0]){moved=true;a[0]={...a[0],port,host}}}` +
	`return listen.apply(this,a)};` +
	`process.argv[1]=require("path").resolve(process.argv[1]);require("module").runMain()`

// stripJSComments removes // and /* */ comments, leaving strings and
// template literals alone, so a commented-out require does not count.
func stripJSComments(src string) string {
	var b strings.Builder
	n := len(src)
	for i := 0; i < n; {
		c := src[i]
		switch {
		case c == '/' && i+1 < n && src[i+1] == '/':
			for i < n && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return b.String()
			}
			b.WriteByte(' ')
			i += end + 4
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < n && src[j] != c && (c == '`' || src[j] != '\n') {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j < n {
				j++
			}
			if j > n {
				j = n
			}
			b.WriteString(src[i:j])
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// pathLess orders paths shallowest first, then by name.
func pathLess(a, b string) bool {
	da, db := strings.Count(a, "/"), strings.Count(b, "/")
	if a == "" || b == "" {
		return a == "" && b != ""
	}
	if da != db {
		return da < db
	}
	return a < b
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
