package framework

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// pyprojectFile returns the generation's pyproject.toml (the root's, else
// the shallowest), or "".
func pyprojectFile(files map[string][]byte) string {
	var found []string
	for name := range files {
		if path.Base(name) == "pyproject.toml" && !skipPath(name) && !skipJSPath(name) {
			found = append(found, name)
		}
	}
	if len(found) == 0 {
		return ""
	}
	sort.Slice(found, func(i, j int) bool { return pathLess(dirOf(found[i]), dirOf(found[j])) })
	return found[0]
}

// pyproject is what previewd reads of a pyproject.toml.
type pyproject struct {
	Project struct {
		Dependencies   []string `toml:"dependencies"`
		RequiresPython string   `toml:"requires-python"`
	} `toml:"project"`
	Tool struct {
		Poetry struct {
			Dependencies map[string]any `toml:"dependencies"`
		} `toml:"poetry"`
	} `toml:"tool"`
}

// pyprojectRequirements reads the [project] dependencies and the Poetry
// dependency table of pyproject.toml, and the Python version either asks
// for (requires-python, or Poetry's "python").
func pyprojectRequirements(files map[string][]byte) (reqs []Requirement, python string, err error) {
	file := pyprojectFile(files)
	if file == "" {
		return nil, "", nil
	}
	var p pyproject
	if err := toml.Unmarshal([]byte(withoutBOM(files[file])), &p); err != nil {
		return nil, "", fmt.Errorf("%s: %w: %w", file, err, ErrInvalidManifest)
	}
	python = strings.ReplaceAll(p.Project.RequiresPython, " ", "")
	for _, line := range p.Project.Dependencies {
		r, ok, err := parseRequirement(line)
		if err != nil {
			return nil, "", fmt.Errorf("%s: [project] dependencies: %q: %s: %w", file, line, err, ErrInvalidManifest)
		}
		if ok {
			reqs = append(reqs, r)
		}
	}
	names := make([]string, 0, len(p.Tool.Poetry.Dependencies))
	for name := range p.Tool.Poetry.Dependencies {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		spec, skip := poetryVersion(p.Tool.Poetry.Dependencies[name])
		if skip {
			continue
		}
		pep, err := poetrySpec(spec)
		if err != nil {
			return nil, "", fmt.Errorf("%s: [tool.poetry.dependencies] %s: %s: %w", file, name, err, ErrInvalidManifest)
		}
		if strings.EqualFold(name, "python") {
			if python == "" {
				python = pep
			}
			continue
		}
		reqs = append(reqs, Requirement{Name: NormalizePyName(name), Spec: pep})
	}
	return reqs, python, nil
}

// poetryVersion reads a Poetry dependency's value: "^1.2" or a table with
// a version; skip is true for a path, git or url dependency, which names
// no version of the index.
func poetryVersion(v any) (spec string, skip bool) {
	switch t := v.(type) {
	case string:
		return t, false
	case map[string]any:
		for _, k := range []string{"path", "git", "url", "file"} {
			if _, ok := t[k]; ok {
				return "", true
			}
		}
		s, _ := t["version"].(string)
		return s, false
	case []any:
		// Alternatives by marker: the first one stands for them all.
		if len(t) > 0 {
			return poetryVersion(t[0])
		}
	}
	return "", false
}

// poetrySpec turns a Poetry version constraint ("^1.2", "~1.2.3", "1.2.*",
// "1.2.3", ">=1,<2", "*") into a PEP 440 specifier set.
func poetrySpec(spec string) (string, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "*" {
		return "", nil
	}
	if strings.Contains(spec, "||") || strings.Contains(spec, "|") {
		// Alternatives have no PEP 440 spelling: left unchecked.
		return "", nil
	}
	var out []string
	for _, part := range strings.Split(spec, ",") {
		for _, word := range strings.Fields(reSemOpSpace.ReplaceAllString(strings.TrimSpace(part), "$1")) {
			pep, err := poetryWord(word)
			if err != nil {
				return "", err
			}
			if pep != "" {
				out = append(out, pep)
			}
		}
	}
	return strings.Join(out, ","), nil
}

func poetryWord(word string) (string, error) {
	switch {
	case strings.HasPrefix(word, "^"), strings.HasPrefix(word, "~") && !strings.HasPrefix(word, "~="):
		caret := word[0] == '^'
		v := strings.TrimLeft(word, "^~")
		nums := strings.Split(v, ".")
		n := make([]int, len(nums))
		for i, s := range nums {
			x, err := strconv.Atoi(s)
			if err != nil {
				return "", fmt.Errorf("bad version %q", word)
			}
			n[i] = x
		}
		at := 0
		if caret {
			for at < len(n)-1 && n[at] == 0 {
				at++
			}
		} else if len(n) > 1 {
			at = 1
		}
		upper := append([]int{}, n[:at+1]...)
		upper[at]++
		parts := make([]string, len(upper))
		for i, x := range upper {
			parts[i] = strconv.Itoa(x)
		}
		return ">=" + v + ",<" + strings.Join(parts, "."), nil
	case strings.IndexAny(word[:1], "<>=!~") == 0:
		if _, err := parsePySpec(word); err != nil {
			return "", err
		}
		return word, nil
	}
	if _, err := parsePySpec("==" + word); err != nil {
		return "", err
	}
	return "==" + word, nil
}
