package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRateControllerRampsUpWithoutBacklog(t *testing.T) {
	c := NewRateController()
	assert.Equal(t, 1.0, c.RampingFactor())
	rate := c.NextRate(10_000, time.Second, 10_000, 10_000)
	assert.Equal(t, 20_000.0, rate, "rate + rate × 1")
	rate = c.NextRate(rate, time.Second, 30_000, 30_000)
	assert.Equal(t, 40_000.0, rate)
}

func TestRateControllerReceiveBacklog(t *testing.T) {
	c := NewRateController()
	rate := c.NextRate(10_000, time.Second, 10_000, 10_000)
	// 20,000 expected and published, but consumers got only 5,000 of them:
	// fall back to what they received, halve the factor.
	rate = c.NextRate(rate, time.Second, 30_000, 15_000)
	assert.Equal(t, 5_000.0, rate)
	assert.Equal(t, 0.5, c.RampingFactor())
	// No backlog: the factor doubles back.
	rate = c.NextRate(rate, time.Second, 35_000, 35_000)
	assert.Equal(t, 10_000.0, rate)
	assert.Equal(t, 1.0, c.RampingFactor())
}

func TestRateControllerPublishBacklog(t *testing.T) {
	c := NewRateController()
	// 10,000 expected, 4,000 published: the publish backlog is 6,000; the
	// rate that would clear it is 4,000, and 4,000 were observed.
	rate := c.NextRate(10_000, time.Second, 4_000, 4_000)
	assert.Equal(t, 4_000.0, rate)
	assert.Equal(t, 0.5, c.RampingFactor())
}

func TestRateControllerFloors(t *testing.T) {
	c := NewRateController()
	// Nothing published at all: OMB would set the rate to 0 and never
	// publish again (OMB #84).
	rate := c.NextRate(10_000, time.Second, 0, 0)
	assert.Equal(t, float64(maxRateFloor), rate)
	for range 20 {
		c.NextRate(1_000_000, time.Second, 0, 0)
	}
	assert.Equal(t, maxRateRampingFactorMin, c.RampingFactor(), "the factor stops halving at 0.01")
}
