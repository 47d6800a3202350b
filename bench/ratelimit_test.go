package bench

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a settable monotonic clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Duration
}

func (c *fakeClock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now += d
	c.mu.Unlock()
}

func TestRateLimiterIntendedTimes(t *testing.T) {
	clock := &fakeClock{now: 5 * time.Second}
	l, err := NewRateLimiter(1000, clock.Now)
	require.NoError(t, err)
	assert.Equal(t, 1000.0, l.OpsPerSecond())

	// The schedule starts at the first Acquire and is open loop: however
	// late the caller is, the i-th time is start + i ms.
	assert.Equal(t, 5*time.Second, l.Acquire())
	clock.Advance(time.Second) // a long stall of the caller
	assert.Equal(t, 5*time.Second+time.Millisecond, l.Acquire())
	assert.Equal(t, 5*time.Second+2*time.Millisecond, l.Acquire())
	clock.Advance(-500 * time.Millisecond) // nor does an early caller move it
	assert.Equal(t, 5*time.Second+3*time.Millisecond, l.Acquire())
}

func TestRateLimiterNoDrift(t *testing.T) {
	clock := &fakeClock{}
	l, err := NewRateLimiter(3, clock.Now) // a 333,333,333.3 ns interval
	require.NoError(t, err)
	var last time.Duration
	for range 3001 {
		last = l.Acquire()
	}
	assert.Equal(t, 1000*time.Second, last, "3000 intervals at 3/s are exactly 1000 s")
}

func TestRateLimiterConcurrent(t *testing.T) {
	clock := &fakeClock{now: time.Hour}
	l, err := NewRateLimiter(50_000, clock.Now)
	require.NoError(t, err)
	const goroutines, each = 8, 1000
	times := make([][]time.Duration, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				times[g] = append(times[g], l.Acquire())
			}
		}()
	}
	wg.Wait()
	all := slices.Concat(times...)
	slices.Sort(all)
	for i, got := range all {
		require.Equal(t, time.Hour+time.Duration(i)*20*time.Microsecond, got, "time %d: every slot handed out once", i)
	}
}

func TestRateLimiterRejectsBadRates(t *testing.T) {
	for _, rate := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		_, err := NewRateLimiter(rate, (&fakeClock{}).Now)
		assert.Error(t, err, "rate %v", rate)
	}
}

func TestPacer(t *testing.T) {
	start := time.Now()
	now := func() time.Duration { return time.Since(start) }
	p := newPacer(now)
	assert.True(t, p.sleepUntil(context.Background(), 20*time.Millisecond))
	assert.GreaterOrEqual(t, now(), 20*time.Millisecond)
	assert.True(t, p.sleepUntil(context.Background(), 0), "a time in the past does not sleep")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.False(t, p.sleepUntil(ctx, time.Hour), "a cancelled context wakes the sleeper")
	assert.False(t, p.sleepUntil(ctx, 0))
}
