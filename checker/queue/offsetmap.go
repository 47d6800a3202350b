package queue

// offsetMap is a persistent map from offset to value: set returns a new map
// and leaves the old one as it was, sharing all but the copied path. The
// linearizability search keeps many states alive at once (one per step on
// its stack, more in its cache); copying a whole log per step would make a
// long history quadratic.
//
// It is a radix trie of fanout 32 over the offset's bits, as deep as the
// largest offset needs (at most 13 levels for an int64).
type offsetMap struct {
	root *trieNode
	// shift is the bit position the root indexes: the root covers offsets
	// [0, 1<<(shift+trieBits)). Growth is the only thing that changes it,
	// so two maps holding the same offsets have the same shift.
	shift uint
}

const (
	trieBits  = 5
	trieWidth = 1 << trieBits
	trieMask  = trieWidth - 1
)

// trieNode is an interior node (kids) or a leaf (vals, with set marking
// which slots hold a value). Only set creates nodes, so every node holds
// at least one value below it.
type trieNode struct {
	kids *[trieWidth]*trieNode
	vals *[trieWidth]int64
	set  uint32
}

// covers reports whether offset fits under the root as it is.
func (m offsetMap) covers(offset int64) bool {
	return m.shift+trieBits >= 63 || offset>>(m.shift+trieBits) == 0
}

// get returns the value at offset.
func (m offsetMap) get(offset int64) (int64, bool) {
	if m.root == nil || offset < 0 || !m.covers(offset) {
		return 0, false
	}
	n := m.root
	for shift := m.shift; shift > 0; shift -= trieBits {
		n = n.kids[(offset>>shift)&trieMask]
		if n == nil {
			return 0, false
		}
	}
	slot := offset & trieMask
	if n.set&(1<<slot) == 0 {
		return 0, false
	}
	return n.vals[slot], true
}

// set returns the map with value at offset. Offsets are not negative.
func (m offsetMap) set(offset, value int64) offsetMap {
	if m.root == nil {
		m.root = &trieNode{vals: new([trieWidth]int64)}
	}
	for !m.covers(offset) {
		kids := new([trieWidth]*trieNode)
		kids[0] = m.root
		m.root = &trieNode{kids: kids}
		m.shift += trieBits
	}
	// Copy the path from the root down, replacing each node by its copy.
	root := m.root.clone()
	n := root
	for shift := m.shift; shift > 0; shift -= trieBits {
		i := (offset >> shift) & trieMask
		var kid *trieNode
		if n.kids[i] == nil {
			kid = &trieNode{}
			if shift == trieBits {
				kid.vals = new([trieWidth]int64)
			} else {
				kid.kids = new([trieWidth]*trieNode)
			}
		} else {
			kid = n.kids[i].clone()
		}
		n.kids[i] = kid
		n = kid
	}
	slot := offset & trieMask
	n.vals[slot] = value
	n.set |= 1 << slot
	return offsetMap{root: root, shift: m.shift}
}

func (n *trieNode) clone() *trieNode {
	c := &trieNode{set: n.set}
	if n.kids != nil {
		kids := *n.kids
		c.kids = &kids
	}
	if n.vals != nil {
		vals := *n.vals
		c.vals = &vals
	}
	return c
}

// equal compares contents. Shared subtrees (the common case: states of one
// search share the log they started from) compare by pointer.
func (m offsetMap) equal(o offsetMap) bool {
	if m.shift != o.shift {
		return false
	}
	return nodesEqual(m.root, o.root)
}

// nodesEqual recurses at most 13 levels: the depth of an int64 trie.
func nodesEqual(a, b *trieNode) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.set != b.set {
		return false
	}
	if a.vals != nil {
		if b.vals == nil {
			return false
		}
		for slot := range trieWidth {
			if a.set&(1<<slot) != 0 && a.vals[slot] != b.vals[slot] {
				return false
			}
		}
		return true
	}
	if b.kids == nil {
		return false
	}
	for i := range trieWidth {
		if !nodesEqual(a.kids[i], b.kids[i]) {
			return false
		}
	}
	return true
}
