package bench

import (
	"math"
	"time"
)

// The max-rate search, for producerRate 0: OMB's defaults.
const (
	maxRateInitial          = 10_000 // msg/s
	maxRateControlPeriod    = 3 * time.Second
	maxRateBacklogLimit     = 1_000 // messages
	maxRateRampingFactorMin = 0.01
	maxRateRampingFactorMax = 1.0
	// maxRateFloor keeps the rate from collapsing to 0, OMB issue #84: a
	// 0 rate would never publish again, so it could never recover.
	maxRateFloor = 100 // msg/s
)

// RateController searches for the maximum sustainable publish rate, as
// OMB's RateController: every control period it compares what was
// expected with what was published and received. If the receive backlog
// (published − received per subscription) or the publish backlog
// (expected − published) is over 1,000 messages, it halves the ramping
// factor (floor 0.01) and falls back to the smaller of the observed rate
// and the rate that would clear the backlog; otherwise it doubles the
// factor (cap 1) and raises the rate by rate × factor.
//
// Its limitations, which reports should state (OMB issues #84 and
// confluentinc/openmessaging-benchmark #7):
//   - it finds a rate the harness sustained for one period, not a rate the
//     target sustains for the run: the first backlog over the limit halves
//     the factor, and small factors climb back slowly, so a transient stall
//     (a GC pause, a segment roll) pins the rate low for many periods;
//   - the 1,000-message limit does not scale with the rate: at 1M msg/s a
//     3 s period has 3M messages, and 1,000 is noise;
//   - it oscillates around the limit rather than settling on it, and on
//     short runs it is still ramping at the end;
//   - the rate never falls below 100 msg/s here (OMB lets it reach 0 and
//     stay there, issue #84).
//
// Rates set by hand from a throughput sweep are more trustworthy.
type RateController struct {
	PublishBacklogLimit int64
	ReceiveBacklogLimit int64
	RampingFactorMin    float64
	RampingFactorMax    float64

	rampingFactor float64
	lastPublished int64
	lastReceived  int64
	_             struct{} // disallow positional literals
}

// NewRateController returns a controller with OMB's limits.
func NewRateController() *RateController {
	return &RateController{
		PublishBacklogLimit: maxRateBacklogLimit,
		ReceiveBacklogLimit: maxRateBacklogLimit,
		RampingFactorMin:    maxRateRampingFactorMin,
		RampingFactorMax:    maxRateRampingFactorMax,
		rampingFactor:       maxRateRampingFactorMax,
	}
}

// RampingFactor is the current factor.
func (c *RateController) RampingFactor() float64 { return c.rampingFactor }

// NextRate returns the rate for the next period, given the rate of the
// period that just ended, its length and the run's totals so far.
// received is per subscription: total received / subscriptionsPerTopic
// (OMB compares total received with total published, which is wrong with
// more than one subscription).
func (c *RateController) NextRate(rate float64, period time.Duration, published, received int64) float64 {
	expected := int64(rate * period.Seconds())
	publishedInPeriod := published - c.lastPublished
	receivedInPeriod := received - c.lastReceived
	c.lastPublished, c.lastReceived = published, received

	if backlog := published - received; backlog > c.ReceiveBacklogLimit {
		return c.fallBack(period, receivedInPeriod, expected, backlog)
	}
	if backlog := expected - publishedInPeriod; backlog > c.PublishBacklogLimit {
		return c.fallBack(period, publishedInPeriod, expected, backlog)
	}
	c.rampingFactor = math.Min(c.RampingFactorMax, c.rampingFactor*2)
	return rate + rate*c.rampingFactor
}

func (c *RateController) fallBack(period time.Duration, actual, expected, backlog int64) float64 {
	c.rampingFactor = math.Max(c.RampingFactorMin, c.rampingFactor/2)
	nextExpected := max(0, expected-backlog)
	next := math.Min(float64(actual)/period.Seconds(), float64(nextExpected)/period.Seconds())
	return math.Max(next, maxRateFloor)
}
