package mapsiter

import (
	"cmp"
	"maps"
	"slices"
)

func bad(m map[string]int) {
	for k := range maps.Keys(m) { // want `maps.Keys yields map entries in random order`
		_ = k
	}
	_ = slices.Collect(maps.Values(m)) // want `maps.Values yields map entries in random order`
	for k, v := range maps.All(m) {    // want `maps.All yields map entries in random order`
		_, _ = k, v
	}
	seq := maps.Keys(m) // want `maps.Keys yields map entries in random order`
	_ = slices.Sorted(seq)
	keys := maps.Keys[map[string]int] // want `maps.Keys yields map entries in random order`
	_ = keys
}

// Sorting the sequence directly erases map order.
func fine(m map[string]int) []string {
	_ = slices.Sorted(maps.Values(m))
	_ = slices.SortedFunc(maps.Keys(m), cmp.Compare[string])
	_ = slices.SortedStableFunc(maps.Values(m), func(a, b int) int { return a - b })
	_ = slices.Sorted((maps.Keys(m)))
	_ = slices.Sorted(maps.Keys[map[string]int](m))
	m2 := maps.Clone(m) // other maps functions do not iterate
	maps.Copy(m2, m)
	_ = maps.Equal(m, m2)
	return slices.Sorted(maps.Keys(m))
}

func marked(m map[string]int) (n int) {
	//gregor:unordered-ok counting is order independent
	for range maps.Keys(m) {
		n++
	}
	for range maps.Values(m) { //gregor:unordered-ok counting is order independent
		n++
	}
	return n
}
