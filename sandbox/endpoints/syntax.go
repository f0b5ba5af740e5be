package endpoints

/*
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

// The part of tree-sitter's C API (api.h, language version 14, as
// github.com/smacker/go-tree-sitter vendors it) that this file uses. The
// library and the grammars are compiled into that module's packages and
// linked from there.
typedef struct TSLanguage TSLanguage;
typedef struct TSParser TSParser;
typedef struct TSTree TSTree;
typedef struct { uint32_t context[4]; const void *id; const TSTree *tree; } TSNode;
typedef struct { const void *tree; const void *id; uint32_t context[3]; } TSTreeCursor;
typedef struct { uint32_t row; uint32_t column; } TSPoint;

TSParser *ts_parser_new(void);
void ts_parser_delete(TSParser *self);
bool ts_parser_set_language(TSParser *self, const TSLanguage *language);
TSTree *ts_parser_parse_string(TSParser *self, const TSTree *old_tree, const char *string, uint32_t length);
void ts_parser_set_timeout_micros(TSParser *self, uint64_t timeout_micros);
void ts_parser_reset(TSParser *self);
void ts_parser_set_cancellation_flag(TSParser *self, const size_t *flag);
void ts_set_allocator(void *(*new_malloc)(size_t), void *(*new_calloc)(size_t, size_t),
	void *(*new_realloc)(void *, size_t), void (*new_free)(void *));
uint32_t ts_node_descendant_count(TSNode self);
void ts_tree_delete(TSTree *self);
TSNode ts_tree_root_node(const TSTree *self);
TSTreeCursor ts_tree_cursor_new(TSNode node);
void ts_tree_cursor_delete(TSTreeCursor *self);
TSNode ts_tree_cursor_current_node(const TSTreeCursor *self);
uint16_t ts_tree_cursor_current_field_id(const TSTreeCursor *self);
bool ts_tree_cursor_goto_first_child(TSTreeCursor *self);
bool ts_tree_cursor_goto_next_sibling(TSTreeCursor *self);
bool ts_tree_cursor_goto_parent(TSTreeCursor *self);
uint16_t ts_node_symbol(TSNode self);
bool ts_node_is_named(TSNode self);
uint32_t ts_node_start_byte(TSNode self);
uint32_t ts_node_end_byte(TSNode self);
TSPoint ts_node_start_point(TSNode self);
TSPoint ts_node_end_point(TSNode self);
const char *ts_language_symbol_name(const TSLanguage *self, uint16_t symbol);
const char *ts_language_field_name_for_id(const TSLanguage *self, uint16_t id);

const TSLanguage *tree_sitter_python(void);
const TSLanguage *tree_sitter_javascript(void);

typedef struct {
	uint32_t start, end, start_row, end_row;
	int32_t parent;
	uint16_t symbol, field;
	uint8_t named;
} flat_node;

// tree-sitter's memory while it parses is not bounded by the number of
// nodes kept: a 512 KB Python file of one long list took 160 MB of C heap
// here, and is thrown away only once parsed. So tree-sitter allocates
// through these wrappers, which count its live bytes; a parse whose
// allocation takes them over MAX_PARSE_BYTES has its cancellation flag set,
// and tree-sitter stops it within a hundred steps. The allocator is
// tree-sitter's, process-wide, so the count and the bound are too: they
// cover every parse running at once.
#define MAX_PARSE_BYTES (48LL << 20)

static _Atomic long long live_bytes;
static __thread size_t *running_flag; // the flag of the parse on this thread
static __thread bool over_memory;      // that parse was stopped for memory

static void account(long long delta) {
	long long now = atomic_fetch_add(&live_bytes, delta) + delta;
	if (delta > 0 && now > MAX_PARSE_BYTES && running_flag) {
		*running_flag = 1;
		over_memory = true;
	}
}

static void *counted_malloc(size_t n) {
	void *p = malloc(n);
	if (p) account(malloc_usable_size(p));
	return p;
}

static void *counted_calloc(size_t n, size_t size) {
	void *p = calloc(n, size);
	if (p) account(malloc_usable_size(p));
	return p;
}

static void *counted_realloc(void *old, size_t n) {
	long long before = old ? malloc_usable_size(old) : 0;
	void *p = realloc(old, n);
	if (p) account((long long)malloc_usable_size(p) - before);
	else if (n == 0) account(-before);
	return p;
}

static void counted_free(void *p) {
	if (p) account(-(long long)malloc_usable_size(p));
	free(p);
}

static pthread_once_t allocator_once = PTHREAD_ONCE_INIT;

static void install_allocator(void) {
	ts_set_allocator(counted_malloc, counted_calloc, counted_realloc, counted_free);
}

// new_parser installs the counting allocator before tree-sitter's first
// allocation, then makes a parser.
static TSParser *new_parser(void) {
	pthread_once(&allocator_once, install_allocator);
	return ts_parser_new();
}

// parse parses src, giving up after timeout microseconds or when its
// memory goes over MAX_PARSE_BYTES (*memory is then true); NULL when it gave
// up. The parser is reset then, so it can start the next file afresh.
static TSTree *parse(TSParser *parser, const char *src, uint32_t len, uint64_t timeout, bool *memory) {
	size_t flag = 0;
	running_flag = &flag;
	over_memory = false;
	ts_parser_set_cancellation_flag(parser, &flag);
	ts_parser_set_timeout_micros(parser, timeout);
	TSTree *tree = ts_parser_parse_string(parser, 0, src, len);
	ts_parser_set_cancellation_flag(parser, NULL);
	running_flag = NULL;
	*memory = over_memory;
	if (!tree) ts_parser_reset(parser);
	return tree;
}

static uint32_t count_nodes(TSTree *tree) {
	return ts_node_descendant_count(ts_tree_root_node(tree));
}

// flatten writes the nodes of tree to out in pre-order, each with the index
// of its parent (-1 for the root). It returns the number of nodes, -1 if out
// is too small, -3 if the tree nests deeper than max_depth.
static int32_t flatten(TSTree *tree, flat_node *out, int32_t cap, int32_t max_depth) {
	TSTreeCursor cursor = ts_tree_cursor_new(ts_tree_root_node(tree));
	int32_t n = 0, parent = -1, depth = 0;
	for (;;) {
		if (n == cap) { n = -1; break; }
		TSNode node = ts_tree_cursor_current_node(&cursor);
		TSPoint start = ts_node_start_point(node), end = ts_node_end_point(node);
		out[n] = (flat_node){
			ts_node_start_byte(node), ts_node_end_byte(node), start.row, end.row,
			parent, ts_node_symbol(node), ts_tree_cursor_current_field_id(&cursor), ts_node_is_named(node),
		};
		if (ts_tree_cursor_goto_first_child(&cursor)) {
			if (++depth > max_depth) { n = -3; break; }
			parent = n++;
			continue;
		}
		n++;
		while (!ts_tree_cursor_goto_next_sibling(&cursor)) {
			if (!ts_tree_cursor_goto_parent(&cursor)) goto done;
			depth--;
			parent = out[parent].parent;
		}
	}
done:
	ts_tree_cursor_delete(&cursor);
	return n;
}

static const TSLanguage *grammar(int which) {
	return which == 0 ? tree_sitter_python() : tree_sitter_javascript();
}
*/
import "C"

import (
	"unsafe"

	_ "github.com/smacker/go-tree-sitter"            // the tree-sitter library
	_ "github.com/smacker/go-tree-sitter/javascript" // tree_sitter_javascript
	_ "github.com/smacker/go-tree-sitter/python"     // tree_sitter_python
)

// Crossing from Go into C costs about a microsecond here, and walking a
// tree through the Go binding's per-node calls made an extraction of 200
// files several times slower than parsing them. So each file is parsed and
// its whole tree copied out in one call, and the rest of the package reads
// these Go nodes.

// parserAvailable says this build has tree-sitter (it needs cgo).
const parserAvailable = true

// grammar names a tree-sitter grammar.
type grammar int

const (
	pythonGrammar grammar = iota
	javascriptGrammar
)

// parser parses one grammar; it belongs to one goroutine.
type parser struct {
	c       *C.TSParser
	grammar grammar
	symbols map[uint16]string
	fields  map[uint16]string
	buf     []C.flat_node
}

func newParser(g grammar) *parser {
	p := &parser{c: C.new_parser(), grammar: g, symbols: map[uint16]string{}, fields: map[uint16]string{}}
	C.ts_parser_set_language(p.c, C.grammar(C.int(g)))
	return p
}

func (p *parser) close() { C.ts_parser_delete(p.c) }

// parse returns the root of src's tree, or the cut that left it out: the
// parser ran out of time, or the tree has more nodes than the file or the
// generation may keep, or nests too deep. The node count is known before
// the tree is copied, so a file over its share costs only tree-sitter's own
// parse, and the copy buffer is as large as the largest file kept.
func (p *parser) parse(src []byte, b *budget) (*node, cut, bool) {
	if len(src) == 0 {
		src = []byte("\n")
	}
	left := b.left()
	if left <= 0 {
		return nil, cutTime, false
	}
	if !b.mayHaveNodes(len(src)) {
		return nil, cutNodes, false
	}
	var memory C.bool
	tree := C.parse(p.c, (*C.char)(unsafe.Pointer(&src[0])), C.uint32_t(len(src)), C.uint64_t(max(left.Microseconds(), 1)), &memory)
	switch {
	case tree == nil && bool(memory):
		return nil, cutParseMemory, false
	case tree == nil:
		return nil, cutTime, false
	}
	defer C.ts_tree_delete(tree)
	n := int(C.count_nodes(tree))
	if n > b.lim.MaxFileNodes {
		return nil, cutFileNodes, false
	}
	if !b.takeNodes(n) {
		return nil, cutNodes, false
	}
	if len(p.buf) < n {
		p.buf = make([]C.flat_node, n)
	}
	got := C.flatten(tree, &p.buf[0], C.int32_t(n), C.int32_t(b.lim.MaxDepth))
	if got < 0 {
		// -3, too deep; -1 cannot happen with a buffer of the counted size.
		b.nodes.Add(-int64(n))
		return nil, cutDepth, false
	}
	return p.build(p.buf[:got]), 0, true
}

// build links the flat nodes into a tree, in three allocations.
func (p *parser) build(flat []C.flat_node) *node {
	nodes := make([]node, len(flat))
	childCount := make([]int32, len(flat))
	namedCount := make([]int32, len(flat))
	for _, f := range flat {
		if f.parent >= 0 {
			childCount[f.parent]++
			if f.named != 0 {
				namedCount[f.parent]++
			}
		}
	}
	all := make([]*node, 0, 2*len(flat))
	for i, f := range flat {
		n := &nodes[i]
		*n = node{typ: p.symbolName(uint16(f.symbol)), field: p.fieldName(uint16(f.field)), named: f.named != 0,
			start: uint32(f.start), end: uint32(f.end), startRow: uint32(f.start_row), endRow: uint32(f.end_row)}
		n.children = all[len(all) : len(all) : len(all)+int(childCount[i])]
		all = all[:len(all)+int(childCount[i])]
		n.namedOf = all[len(all) : len(all) : len(all)+int(namedCount[i])]
		all = all[:len(all)+int(namedCount[i])]
		if f.parent >= 0 {
			parent := &nodes[f.parent]
			n.parent, n.index = parent, len(parent.children)
			parent.children = append(parent.children, n)
			if n.named {
				parent.namedOf = append(parent.namedOf, n)
			}
		}
	}
	return &nodes[0]
}

func (p *parser) symbolName(s uint16) string {
	name, ok := p.symbols[s]
	if !ok {
		name = C.GoString(C.ts_language_symbol_name(C.grammar(C.int(p.grammar)), C.uint16_t(s)))
		p.symbols[s] = name
	}
	return name
}

func (p *parser) fieldName(f uint16) string {
	if f == 0 {
		return ""
	}
	name, ok := p.fields[f]
	if !ok {
		name = C.GoString(C.ts_language_field_name_for_id(C.grammar(C.int(p.grammar)), C.uint16_t(f)))
		p.fields[f] = name
	}
	return name
}
