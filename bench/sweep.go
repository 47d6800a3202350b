package bench

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Sweep is a throughput-against-latency sweep (design §6): one workload
// run against one target at several producer rates, one result per rate,
// so that a report can draw p99 publish latency against the throughput
// achieved. The rates are given outright, or as fractions of the maximum
// rate a probe run finds first (producerRate 0: the RateController).
// The zero Sweep is no sweep: one run at the workload's own rate.
type Sweep struct {
	// RatesMsgPerSec are the producer rates, ascending.
	RatesMsgPerSec []float64
	// Fractions, for an auto sweep, scale the probe's rate; ascending.
	Fractions []float64
}

// DefaultSweepFractions place an auto sweep's steps below the maximum the
// probe found, at it and just past it: the knee of the curve and what
// latency does once the target saturates.
var DefaultSweepFractions = []float64{0.25, 0.5, 0.75, 1.0, 1.1}

// Bounds on a sweep, so that a typo cannot queue a day of runs.
const (
	sweepStepsMax    = 50
	sweepFractionMax = 10
)

// ParseSweep reads a sweep as gregor bench --sweep takes it: rates in
// msg/s separated by commas, with an optional k or M suffix
// ("10000,20000,50000", "10k,20k,50k"); "auto", the probe's rate times
// DefaultSweepFractions; or "auto:" and fractions ("auto:0.5,1,1.2").
// Steps run in ascending order, and a sweep has at least two.
func ParseSweep(s string) (Sweep, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Sweep{}, errors.New("sweep: empty; give rates in msg/s (10000,20000,50000) or auto")
	}
	if s == "auto" {
		return Sweep{Fractions: slices.Clone(DefaultSweepFractions)}, nil
	}
	if list, ok := strings.CutPrefix(s, "auto:"); ok {
		fractions, err := parseSweepList(list, "fraction", parseFraction)
		return Sweep{Fractions: fractions}, err
	}
	rates, err := parseSweepList(s, "rate", parseRate)
	return Sweep{RatesMsgPerSec: rates}, err
}

// parseSweepList parses comma-separated values, sorts them and checks
// there are two or more, distinct, and not too many.
func parseSweepList(list, what string, parse func(string) (float64, error)) ([]float64, error) {
	var out []float64
	for field := range strings.SplitSeq(list, ",") {
		v, err := parse(strings.TrimSpace(field))
		if err != nil {
			return nil, fmt.Errorf("sweep: %w", err)
		}
		if slices.Contains(out, v) {
			return nil, fmt.Errorf("sweep: %s %s is given twice", what, field)
		}
		out = append(out, v)
	}
	switch {
	case len(out) < 2:
		return nil, fmt.Errorf("sweep: give two %ss or more (one rate is the workload's producerRate, not a sweep)", what)
	case len(out) > sweepStepsMax:
		return nil, fmt.Errorf("sweep: %d %ss is over the limit of %d", len(out), what, sweepStepsMax)
	}
	slices.Sort(out)
	return out, nil
}

// parseRate reads a rate in msg/s: a positive number, optionally with a
// k (thousand) or M (million) suffix.
func parseRate(s string) (float64, error) {
	scale := 1.0
	digits := s
	if cut, ok := strings.CutSuffix(s, "k"); ok {
		digits, scale = cut, 1e3
	} else if cut, ok := strings.CutSuffix(s, "M"); ok {
		digits, scale = cut, 1e6
	}
	v, err := strconv.ParseFloat(digits, 64)
	v *= scale
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return 0, fmt.Errorf("%q is not a positive rate in msg/s (such as 20000 or 20k)", s)
	}
	return v, nil
}

func parseFraction(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || v <= 0 || v > sweepFractionMax {
		return 0, fmt.Errorf("%q is not a fraction of the maximum rate in (0, %d] (such as 0.5 or 1.1)", s, sweepFractionMax)
	}
	return v, nil
}

// Enabled reports whether s is a sweep rather than a single run.
func (s Sweep) Enabled() bool { return len(s.RatesMsgPerSec) > 0 || len(s.Fractions) > 0 }

// Auto reports whether s needs a probe for the maximum rate first.
func (s Sweep) Auto() bool { return len(s.Fractions) > 0 }

// String is the sweep as ParseSweep reads it.
func (s Sweep) String() string {
	format := func(vs []float64) string {
		parts := make([]string, len(vs))
		for i, v := range vs {
			parts[i] = strconv.FormatFloat(v, 'f', -1, 64)
		}
		return strings.Join(parts, ",")
	}
	switch {
	case s.Auto():
		return "auto:" + format(s.Fractions)
	case s.Enabled():
		return format(s.RatesMsgPerSec)
	}
	return ""
}

// SweepStep places one run in a sweep; its result carries it in
// Setup.Sweep, and the run's producerRate is the step's rate.
type SweepStep struct {
	// Index counts the sweep's runs from 1, the probe included; Steps is
	// how many runs the sweep has.
	Index int `json:"index"`
	Steps int `json:"steps"`
	// Probe marks an auto sweep's first run, which searches for the
	// maximum rate (producerRate 0) that the later steps scale.
	Probe bool `json:"probe,omitempty"`
	// RateMsgPerSec is the step's producer rate; 0 for the probe.
	RateMsgPerSec float64 `json:"rateMsgPerSec,omitempty"`
	// Fraction and MaxRateMsgPerSec, in an auto sweep, say where the rate
	// came from: RateMsgPerSec = Fraction × MaxRateMsgPerSec.
	Fraction         float64 `json:"fraction,omitempty"`
	MaxRateMsgPerSec float64 `json:"maxRateMsgPerSec,omitempty"`
}

// Apply returns w running at the step's rate.
func (st SweepStep) Apply(w Workload) Workload {
	w.ProducerRate = st.RateMsgPerSec
	return w
}

// String names the step for progress lines: "step 2/6: 20000 msg/s
// (0.5 × max 40000)".
func (st SweepStep) String() string {
	rate := func(v float64) string { return strconv.FormatFloat(math.Round(v), 'f', 0, 64) }
	head := fmt.Sprintf("step %d/%d: ", st.Index, st.Steps)
	switch {
	case st.Probe:
		return head + "probe for the maximum rate"
	case st.MaxRateMsgPerSec > 0:
		return head + fmt.Sprintf("%s msg/s (%g × max %s)", rate(st.RateMsgPerSec), st.Fraction, rate(st.MaxRateMsgPerSec))
	}
	return head + rate(st.RateMsgPerSec) + " msg/s"
}

// SweepPlan walks a sweep's steps. An auto sweep's steps after the probe
// are only known once the probe has run, so Next takes the result of the
// step before.
type SweepPlan struct {
	sweep   Sweep
	next    int // index of the next step, from 0
	maxRate float64
}

// Plan starts walking the sweep.
func (s Sweep) Plan() *SweepPlan { return &SweepPlan{sweep: s} }

// Steps is how many runs the sweep has, an auto sweep's probe included.
func (s Sweep) Steps() int {
	if s.Auto() {
		return 1 + len(s.Fractions)
	}
	return len(s.RatesMsgPerSec)
}

// Next returns the next step, and false when the sweep is done. prev is
// the result of the step before (nil if it failed or there was none);
// after an auto sweep's probe, the maximum rate is the probe's mean
// publish rate over its measured phase (what it sustained, not the
// controller's last guess), and Next fails if the probe gave none.
func (p *SweepPlan) Next(prev *Result) (SweepStep, bool, error) {
	s := p.sweep
	i := p.next
	if i >= s.Steps() {
		return SweepStep{}, false, nil
	}
	p.next++
	step := SweepStep{Index: i + 1, Steps: s.Steps()}
	if !s.Auto() {
		step.RateMsgPerSec = s.RatesMsgPerSec[i]
		return step, true, nil
	}
	if i == 0 {
		step.Probe = true
		return step, true, nil
	}
	if i == 1 {
		if prev != nil {
			p.maxRate = prev.MeanPublishRate()
		}
		if !(p.maxRate > 0) {
			p.next = s.Steps() // nothing to scale: the sweep is over
			return SweepStep{}, false, errors.New("sweep: the max-rate probe published nothing, so there is no rate to scale; give explicit rates")
		}
	}
	// Whole messages per second: the rate names the result file.
	step.Fraction, step.MaxRateMsgPerSec = s.Fractions[i-1], p.maxRate
	step.RateMsgPerSec = max(1, math.Round(step.Fraction*p.maxRate))
	return step, true, nil
}

// MeanPublishRate is the acknowledged publish rate in msg/s over the
// measured phase, the windows weighted by their lengths; 0 without
// windows.
func (r *Result) MeanPublishRate() float64 {
	var sum, seconds float64
	for i, rate := range r.PublishRate {
		w := 1.0
		if len(r.WindowSeconds) == len(r.PublishRate) {
			w = r.WindowSeconds[i]
		}
		sum += rate * w
		seconds += w
	}
	if seconds <= 0 {
		return 0
	}
	return sum / seconds
}

// Check tells whether w can be swept: an auto sweep's probe runs at
// producerRate 0, and OMB builds no backlog while probing.
func (s Sweep) Check(w Workload) error {
	if s.Auto() && w.ConsumerBacklogSizeGB > 0 {
		return fmt.Errorf("sweep auto: workload %s builds a backlog (consumerBacklogSizeGB %d), which cannot run while probing the maximum rate; give explicit rates",
			w.ID, w.ConsumerBacklogSizeGB)
	}
	return nil
}
