package queue

import (
	"math/rand/v2"
	"testing"
)

// TestOffsetMapMatchesAMap: sets and gets agree with a plain map, every
// older version stays as it was, and equal contents compare equal however
// they were built.
func TestOffsetMapMatchesAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type version struct {
		m    offsetMap
		want map[int64]int64
	}
	var versions []version
	var m offsetMap
	want := make(map[int64]int64)
	for i := range 2000 {
		var off int64
		switch i % 4 {
		case 0:
			off = rng.Int64N(64)
		case 1:
			off = rng.Int64N(100_000)
		case 2:
			off = rng.Int64N(1 << 40)
		default:
			off = rng.Int64N(1<<63 - 1)
		}
		if _, ok := want[off]; ok {
			continue
		}
		m = m.set(off, int64(i))
		next := make(map[int64]int64, len(want)+1)
		for k, v := range want { //gregor:unordered-ok copying a map
			next[k] = v
		}
		next[off] = int64(i)
		want = next
		if i%100 == 0 {
			versions = append(versions, version{m, want})
		}
	}
	for _, v := range versions {
		for off, val := range v.want { //gregor:unordered-ok each lookup is independent
			if got, ok := v.m.get(off); !ok || got != val {
				t.Fatalf("get(%d) = %d, %v; want %d", off, got, ok, val)
			}
		}
		for range 100 {
			off := rng.Int64N(1 << 20)
			if _, ok := v.want[off]; ok {
				continue
			}
			if _, ok := v.m.get(off); ok {
				t.Fatalf("get(%d) found a value never set", off)
			}
		}
	}
	if _, ok := m.get(-1); ok {
		t.Fatal("get(-1) found a value")
	}
}

func TestOffsetMapEqual(t *testing.T) {
	var a, b offsetMap
	for _, off := range []int64{3, 40, 1000, 7} {
		a = a.set(off, off*10)
	}
	for _, off := range []int64{1000, 7, 3, 40} {
		b = b.set(off, off*10)
	}
	if !a.equal(b) || !b.equal(a) {
		t.Fatal("same contents in another order are not equal")
	}
	if c := a.set(41, 1); c.equal(a) || a.equal(c) {
		t.Fatal("an extra offset compares equal")
	}
	if c := b.set(5, 1); c.equal(a.set(5, 2)) {
		t.Fatal("a different value compares equal")
	}
	if !(offsetMap{}).equal(offsetMap{}) {
		t.Fatal("empty maps differ")
	}
}
