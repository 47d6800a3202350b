package real

import "sync"

// byteBudget bounds the bytes of frames that readers have read and the
// loop has not yet delivered, over all connections: the events channel
// bounds the number of closures, and this bounds the memory they hold
// (each may carry a frame of up to FrameBytesMax).
type byteBudget struct {
	mu        sync.Mutex
	cond      sync.Cond
	freeBytes int64
	closed    bool
}

func newByteBudget(bytesMax int64) *byteBudget {
	b := &byteBudget{freeBytes: bytesMax}
	b.cond.L = &b.mu
	return b
}

// acquire waits until n bytes are free and takes them. It reports false
// once the budget is closed (the runtime is shutting down).
func (b *byteBudget) acquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.freeBytes < n && !b.closed {
		b.cond.Wait()
	}
	if b.closed {
		return false
	}
	b.freeBytes -= n
	return true
}

func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	b.freeBytes += n
	b.mu.Unlock()
	b.cond.Broadcast()
}

// close wakes every waiter for good.
func (b *byteBudget) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cond.Broadcast()
}
