package endpoints

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Limits bound the work of one extraction. An upload may hold 20 MiB of
// source in one file, and parsed trees take about a hundred times their
// source in memory, so what is parsed is bounded, not what is stored. A
// zero field takes DefaultLimits' value.
type Limits struct {
	// MaxFileBytes: a source file larger than this is not parsed.
	MaxFileBytes int
	// MaxBytes: source files are parsed in path order until their sizes
	// add up to this; the rest are not.
	MaxBytes int
	// MaxFileNodes: a file whose syntax tree has more nodes is left out.
	MaxFileNodes int
	// MaxNodes: syntax nodes kept for the whole generation.
	MaxNodes int
	// MaxDepth: a file whose syntax tree nests deeper is left out; the
	// walks over the tree recurse, and no real program nests this deep
	// (CPython refuses 200 nested parentheses).
	MaxDepth int
	// MaxFileRoutes: endpoints listed from one defining file.
	MaxFileRoutes int
	// MaxRoutes: endpoints listed for the generation, counted before
	// duplicates merge. Routers included several times multiply their
	// routes; this also bounds that.
	MaxRoutes int
	// MaxRouteBytes: the endpoints' size in memory (see Size), in all. A
	// long prefix or docstring is repeated in every route under it.
	MaxRouteBytes int
	// Timeout: the extraction stops after this and lists what it found.
	Timeout time.Duration
}

// DefaultLimits are far above what generated apps need: the 200-file
// benchmark app has 240 KB of source, 93,000 syntax nodes and 985 routes.
func DefaultLimits() Limits {
	return Limits{
		MaxFileBytes:  256 << 10,
		MaxBytes:      4 << 20,
		MaxFileNodes:  150_000,
		MaxNodes:      250_000,
		MaxDepth:      1000,
		MaxFileRoutes: 2000,
		MaxRoutes:     10_000,
		MaxRouteBytes: 8 << 20,
		Timeout:       5 * time.Second,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.MaxFileBytes, d.MaxFileBytes)
	set(&l.MaxBytes, d.MaxBytes)
	set(&l.MaxFileNodes, d.MaxFileNodes)
	set(&l.MaxNodes, d.MaxNodes)
	set(&l.MaxDepth, d.MaxDepth)
	set(&l.MaxFileRoutes, d.MaxFileRoutes)
	set(&l.MaxRoutes, d.MaxRoutes)
	set(&l.MaxRouteBytes, d.MaxRouteBytes)
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	return l
}

// parseMemoryMiB is tree-sitter's memory bound, MAX_PARSE_BYTES in
// syntax.go, for messages.
const parseMemoryMiB = 48

// Result is what Extract found. Truncated says a limit left something
// out; Reasons say which, one sentence each.
type Result struct {
	Endpoints []Endpoint
	Truncated bool
	Reasons   []string
}

// cut is a kind of truncation, in the order reasons are listed.
type cut int

const (
	cutFileBytes cut = iota
	cutBytes
	cutFileNodes
	cutNodes
	cutDepth
	cutParseMemory
	cutTime
	cutFileRoutes
	cutRoutes
	cutRouteBytes
	cutWalk
)

// cutCount counts the files or routes one kind of cut left out, and names
// the first file in path order.
type cutCount struct {
	n     int
	first string
}

// budget is one extraction's share of Limits, used by the parsing
// goroutines and then by the framework's walk. It is safe for concurrent
// use.
type budget struct {
	lim      Limits
	ctx      context.Context
	deadline time.Time
	nodes    atomic.Int64

	mu         sync.Mutex
	cuts       map[cut]*cutCount
	routes     int
	routeBytes int
	visits     int
	perFile    map[string]int
}

func newBudget(ctx context.Context, lim Limits) *budget {
	lim = lim.withDefaults()
	return &budget{lim: lim, ctx: ctx, deadline: time.Now().Add(lim.Timeout),
		cuts: map[cut]*cutCount{}, perFile: map[string]int{}}
}

// left is the time left, 0 when the extraction must stop.
func (b *budget) left() time.Duration {
	if b.ctx.Err() != nil {
		return 0
	}
	return max(time.Until(b.deadline), 0)
}

// expired says the extraction must stop, and records why once.
func (b *budget) expired() bool {
	if b.left() > 0 {
		return false
	}
	b.cut(cutTime, "")
	return true
}

// cut records that something of kind k, from file, was left out.
func (b *budget) cut(k cut, file string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.cuts[k]
	if c == nil {
		c = &cutCount{first: file}
		b.cuts[k] = c
	}
	c.n++
	if file != "" && (c.first == "" || file < c.first) {
		c.first = file
	}
}

// takeNodes reserves n syntax nodes for a file; false when the
// generation's share is spent.
func (b *budget) takeNodes(n int) bool {
	if b.nodes.Add(int64(n)) <= int64(b.lim.MaxNodes) {
		return true
	}
	b.nodes.Add(-int64(n))
	return false
}

// mayHaveNodes says whether a file of size bytes may still fit in the
// generation's nodes. Source has at least one node per 16 bytes but in
// long comments or strings, so once the nodes left are fewer, parsing the
// file would be time spent on a tree that is then thrown away.
func (b *budget) mayHaveNodes(size int) bool {
	return int64(b.lim.MaxNodes)-b.nodes.Load() >= int64(size/16)
}

// add appends e to out unless a limit (routes, routes of e's file, their
// bytes, time) says to leave it out.
func (b *budget) add(out []Endpoint, e Endpoint) []Endpoint {
	if b.expired() {
		return out
	}
	size := e.size()
	b.mu.Lock()
	var why cut = -1
	switch {
	case b.routes >= b.lim.MaxRoutes:
		why = cutRoutes
	case b.routeBytes+size > b.lim.MaxRouteBytes:
		why = cutRouteBytes
		// Nothing more is added: a walk over routers stops here.
		b.routeBytes = b.lim.MaxRouteBytes
	case b.perFile[e.File] >= b.lim.MaxFileRoutes:
		why = cutFileRoutes
	default:
		b.routes++
		b.routeBytes += size
		b.perFile[e.File]++
	}
	b.mu.Unlock()
	if why >= 0 {
		b.cut(why, e.File)
		return out
	}
	return append(out, e)
}

// full says no endpoint can be added any more: a walk over routers stops,
// and what it has not visited counts as left out.
func (b *budget) full() bool {
	b.mu.Lock()
	routes, bytes := b.routes >= b.lim.MaxRoutes, b.routeBytes >= b.lim.MaxRouteBytes
	b.mu.Unlock()
	switch {
	case routes:
		b.cut(cutRoutes, "")
	case bytes:
		b.cut(cutRouteBytes, "")
	default:
		return b.expired()
	}
	return true
}

// visit counts one step of a walk over routers (a router, an include, a
// urlconf); false when the walk has taken 4 × MaxRoutes steps. A router
// included twice by each of a chain of routers is visited 2^n times, and
// the per-file route limit alone would not stop that walk.
func (b *budget) visit() bool {
	b.mu.Lock()
	b.visits++
	over := b.visits > 4*b.lim.MaxRoutes
	b.mu.Unlock()
	if over {
		b.cut(cutWalk, "")
	}
	return !over
}

// reasons says what was left out, in a fixed order.
func (b *budget) reasons() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	kinds := make([]cut, 0, len(b.cuts))
	for k := range b.cuts {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i] < kinds[j] })
	var out []string
	for _, k := range kinds {
		out = append(out, b.reason(k, b.cuts[k]))
	}
	return out
}

func (b *budget) reason(k cut, c *cutCount) string {
	files := func(n int) string {
		if n == 1 {
			return fmt.Sprintf("1 file (%q)", c.first)
		}
		return fmt.Sprintf("%d files (the first %q)", n, c.first)
	}
	switch k {
	case cutFileBytes:
		return fmt.Sprintf("%s larger than %d bytes not parsed", files(c.n), b.lim.MaxFileBytes)
	case cutBytes:
		return fmt.Sprintf("%s not parsed: the source files parsed, taken in path order, add up to at most %d bytes", files(c.n), b.lim.MaxBytes)
	case cutFileNodes:
		return fmt.Sprintf("%s with more than %d syntax nodes left out", files(c.n), b.lim.MaxFileNodes)
	case cutNodes:
		return fmt.Sprintf("%s left out: the generation's syntax trees reached %d nodes", files(c.n), b.lim.MaxNodes)
	case cutDepth:
		return fmt.Sprintf("%s nested deeper than %d levels left out", files(c.n), b.lim.MaxDepth)
	case cutParseMemory:
		return fmt.Sprintf("%s left out: parsing took more than %d MiB", files(c.n), parseMemoryMiB)
	case cutTime:
		return fmt.Sprintf("discovery stopped after %s; what was found by then is listed", b.lim.Timeout)
	case cutFileRoutes:
		return fmt.Sprintf("routes of %s beyond %d per file left out", files(len(b.fileRoutesOver())), b.lim.MaxFileRoutes)
	case cutRoutes:
		return fmt.Sprintf("routes beyond %d left out", b.lim.MaxRoutes)
	case cutRouteBytes:
		return fmt.Sprintf("routes beyond %d bytes of paths, summaries and descriptions left out", b.lim.MaxRouteBytes)
	case cutWalk:
		return fmt.Sprintf("the walk over included routers stopped after %d steps", 4*b.lim.MaxRoutes)
	}
	return "a limit left something out"
}

// fileRoutesOver lists the files that reached MaxFileRoutes; b.mu is held.
func (b *budget) fileRoutesOver() []string {
	var out []string
	for f, n := range b.perFile {
		if n >= b.lim.MaxFileRoutes {
			out = append(out, f)
		}
	}
	return out
}

// Size estimates the memory e holds, in bytes: its strings and slices and
// a fixed share for the struct and slice headers. Params and tags shared
// between endpoints are counted for each.
func Size(eps []Endpoint) int {
	n := 0
	for i := range eps {
		n += eps[i].size()
	}
	return n
}

func (e *Endpoint) size() int {
	n := 200 + len(e.Method) + len(e.Path) + len(e.Summary) + len(e.Description) + len(e.File) + len(e.Source)
	for _, t := range e.Tags {
		n += 16 + len(t)
	}
	for _, p := range e.Params {
		n += 72 + len(p.Name) + len(p.In) + len(p.Type)
	}
	return n
}
