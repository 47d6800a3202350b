package maprange

type Registry map[string]int

type holder struct{ byID map[int]string }

func bad(m map[string]int, r Registry, h holder) {
	for k := range m { // want `range over map iterates in random order`
		_ = k
	}
	for k, v := range r { // want `range over map iterates in random order`
		_, _ = k, v
	}
	for range h.byID { // want `range over map iterates in random order`
	}
	for _, v := range map[int]int{1: 2} { // want `range over map iterates in random order`
		_ = v
	}
	var p *holder = &h
	for id := range p.byID { // want `range over map iterates in random order`
		_ = id
	}
}

// A type parameter constrained to maps iterates like a map.
func generic[M ~map[K]V, K comparable, V any](m M) {
	for k := range m { // want `range over map iterates in random order`
		_ = k
	}
}

type mapLike interface{ ~map[string]bool }

func genericNamed[M mapLike](m M) {
	for k := range m { // want `range over map iterates in random order`
		_ = k
	}
}

func sum(m map[string]int) (total int) {
	//gregor:unordered-ok addition is commutative
	for _, v := range m {
		total += v
	}
	for _, v := range m { //gregor:unordered-ok addition is commutative
		total += v
	}
	return total
}

func emptyReason(m map[string]int) (n int) {
	// want +1 `//gregor:unordered-ok needs a reason`
	//gregor:unordered-ok
	for range m {
		n++
	}
	for range m { /* want `needs a reason` */ //gregor:unordered-ok
		n++
	}
	return n
}

// A directive only covers its own line and the next one.
func tooFar(m map[string]int) (n int) {
	//gregor:unordered-ok counting is order independent

	for range m { // want `range over map iterates in random order`
		n++
	}
	return n
}

// Only the exact directive counts; lookalikes do not exempt.
func lookalike(m map[string]int) (n int) {
	//gregor:unordered-okay counting
	for range m { // want `range over map iterates in random order`
		n++
	}
	// gregor:unordered-ok not a directive: space after the slashes
	for range m { // want `range over map iterates in random order`
		n++
	}
	return n
}

// Ranging over ordered collections is deterministic.
func fine(s []int, a [3]int, str string, ch chan int, n int, f func(func(int) bool)) {
	for range s {
	}
	for range a {
	}
	for range &a {
	}
	for range str {
	}
	for range ch {
	}
	for range n {
	}
	for range 10 {
	}
	for range f {
	}
	for i := 0; i < n; i++ {
	}
}

func genericSlice[S ~[]E, E any](s S) {
	for range s {
	}
}
