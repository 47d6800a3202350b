package sim

import "fmt"

// The partition shapes of Jepsen's nemeses, as sets of cut directed links.
// Each returns links for Network.Partition or Network.Cut.

// Isolate cuts one node off from every other node, both ways.
func Isolate(x *Node, all []*Node) []Link {
	var ls []Link
	for _, n := range all {
		if n != x {
			ls = append(ls, Link{x, n}, Link{n, x})
		}
	}
	sortLinks(ls)
	return ls
}

// Split cuts every link between group a and the other nodes of all.
func Split(a []*Node, all []*Node) []Link {
	in := map[*Node]bool{}
	for _, n := range a {
		in[n] = true
	}
	var ls []Link
	for _, x := range all {
		for _, y := range all {
			if in[x] && !in[y] {
				ls = append(ls, Link{x, y}, Link{y, x})
			}
		}
	}
	sortLinks(ls)
	return ls
}

// Halves splits all into a first half (the smaller one, for odd counts)
// and the rest, in the given order.
func Halves(all []*Node) []Link { return Split(all[:len(all)/2], all) }

// Bridge splits all into two halves that share one bridge node: the bridge
// talks to everyone, the others only within their half. Each half with the
// bridge is a majority, so two majorities overlap in one node. The bridge
// is the middle node of all.
func Bridge(all []*Node) ([]Link, error) {
	if len(all) < 3 {
		return nil, fmt.Errorf("bridge needs at least 3 nodes, have %d", len(all))
	}
	mid := len(all) / 2
	var ls []Link
	for i, x := range all {
		for j, y := range all {
			if i < mid && j > mid || i > mid && j < mid {
				ls = append(ls, Link{x, y})
			}
		}
	}
	sortLinks(ls)
	return ls, nil
}

// Ring lets each node talk only to its two neighbours in the order of all
// (Jepsen's majorities ring for five nodes: every node sees a majority,
// no two see the same one). It needs at least 4 nodes to cut anything.
func Ring(all []*Node) ([]Link, error) {
	n := len(all)
	if n < 4 {
		return nil, fmt.Errorf("ring needs at least 4 nodes, have %d", n)
	}
	var ls []Link
	for i, x := range all {
		for j, y := range all {
			d := (j - i + n) % n
			if d != 0 && d != 1 && d != n-1 {
				ls = append(ls, Link{x, y})
			}
		}
	}
	sortLinks(ls)
	return ls, nil
}

// OneWay cuts only from→to: to stops hearing from, while from still hears
// to (an asymmetric partition).
func OneWay(from, to *Node) []Link { return []Link{{from, to}} }
