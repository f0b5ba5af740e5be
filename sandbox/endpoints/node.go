package endpoints

// node is one syntax tree node, copied out of tree-sitter (see syntax.go).
// Its methods are named as tree-sitter's.
type node struct {
	typ      string
	field    string // the field of its parent it fills; "" for none
	named    bool
	start    uint32 // byte offsets in the source
	end      uint32
	startRow uint32
	endRow   uint32
	parent   *node
	index    int // among its parent's children
	children []*node
	namedOf  []*node
}

func (n *node) Type() string           { return n.typ }
func (n *node) StartByte() uint32      { return n.start }
func (n *node) Parent() *node          { return n.parent }
func (n *node) Equal(other *node) bool { return n == other }
func (n *node) startLine() int         { return int(n.startRow) + 1 }

// NamedChild is the i-th named child, nil if there is none.
func (n *node) NamedChild(i int) *node {
	if n == nil || i < 0 || i >= len(n.namedOf) {
		return nil
	}
	return n.namedOf[i]
}

// ChildByFieldName is the first child filling field name, nil if none.
func (n *node) ChildByFieldName(name string) *node {
	for _, c := range n.children {
		if c.field == name {
			return c
		}
	}
	return nil
}

// PrevSibling is the child of n's parent just before n, nil if none.
func (n *node) PrevSibling() *node {
	if n.parent == nil || n.index == 0 {
		return nil
	}
	return n.parent.children[n.index-1]
}
