package endpoints

import (
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// source is one parsed file.
type source struct {
	path string
	src  []byte
	root *node
}

// text is the source text of n.
func (s *source) text(n *node) string {
	if n == nil {
		return ""
	}
	return string(s.src[n.start:n.end])
}

// line is the 1-based line where n starts.
func line(n *node) int { return n.startLine() }

// skippedDirs are directories that hold installed packages or caches, never
// the generation's own routes.
var skippedDirs = map[string]bool{
	"node_modules": true, ".venv": true, "venv": true, "env": true, "site-packages": true,
	"__pycache__": true, ".git": true, "dist": true, "build": true,
}

// sourcePaths lists, sorted, the paths of files with one of exts outside
// skipped directories.
func sourcePaths(files map[string][]byte, exts ...string) []string {
	var out []string
	for p := range files {
		if !contains(exts, path.Ext(p)) || inSkippedDir(p) {
			continue
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func inSkippedDir(p string) bool {
	for _, part := range strings.Split(path.Dir(p), "/") {
		if skippedDirs[part] {
			return true
		}
	}
	return false
}

// parseAll parses the named files with g and hands each tree to prepare,
// on as many goroutines as there are CPUs: parsing and the per-file reading
// that needs no other file are most of the cost of an extraction. A file the
// parser gives up on, or that b leaves out, is not in the result. prepare
// touches only its own file.
//
// Files are taken in path order while their sizes fit b's byte limits, so
// which files a large generation loses does not depend on timing; the node
// limit is shared by the parsing goroutines as they go.
func parseAll[T any](files map[string][]byte, paths []string, g grammar, b *budget, prepare func(*source) T) []T {
	paths = b.selectSources(files, paths)
	out := make([]T, len(paths))
	ok := make([]bool, len(paths))
	workers := min(runtime.GOMAXPROCS(0), len(paths))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		// Each worker ends when next is closed.
		go func() {
			defer wg.Done()
			p := newParser(g)
			defer p.close()
			for i := range next {
				src := files[paths[i]]
				root, why, parsed := p.parse(src, b)
				if !parsed {
					b.cut(why, paths[i])
					continue
				}
				out[i] = prepare(&source{path: paths[i], src: src, root: root})
				ok[i] = true
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	kept := out[:0]
	for i, v := range out {
		if ok[i] {
			kept = append(kept, v)
		}
	}
	return kept
}

// selectSources returns the paths, in order, whose files b lets be parsed.
func (b *budget) selectSources(files map[string][]byte, paths []string) []string {
	var kept []string
	total := 0
	for _, p := range paths {
		size := len(files[p])
		switch {
		case size > b.lim.MaxFileBytes:
			b.cut(cutFileBytes, p)
		case total+size > b.lim.MaxBytes:
			b.cut(cutBytes, p)
		default:
			total += size
			kept = append(kept, p)
		}
	}
	return kept
}

// namedChildren lists the named children of n, nil-safe. The slice is the
// node's own: callers do not change it.
func namedChildren(n *node) []*node {
	if n == nil {
		return nil
	}
	return n.namedOf
}

// field is n's child named name, nil-safe.
func field(n *node, name string) *node {
	if n == nil {
		return nil
	}
	return n.ChildByFieldName(name)
}

// nodeType is n's type, "" for nil.
func nodeType(n *node) string {
	if n == nil {
		return ""
	}
	return n.typ
}
