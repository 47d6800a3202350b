package queue

import (
	"math/rand/v2"
	"slices"

	"github.com/gregor-dst/gregor/checker/history"
)

// genConfig shapes a generated history.
type genConfig struct {
	calls     int // calls in the main phase (each an invocation and a completion)
	processes int
	keys      int
	seed      uint64
	// latencyNsMax bounds a call's duration; thinkNsMax the pause between
	// a process's calls. Their ratio sets the concurrency.
	latencyNsMax int64
	thinkNsMax   int64
}

// gen is a correct queue, simulated: every call takes effect at one
// instant between its invocation and its completion, so the history it
// writes is linearizable and free of anomalies by construction. A few
// sends fail (no effect) or time out (effect or not); a few polls time out.
// A final phase polls until every consumer caught up.
type gen struct {
	cfg   genConfig
	rng   *rand.Rand
	b     *history.Builder
	keys  []history.Key
	logs  [][]int64 // per key, the values by offset
	procs []genProc
	value int64
}

type genProc struct {
	id       int
	consumes []int // key indexes, ascending
	pos      []int // per consumed key, the next offset to read
	// The call in flight: what it is and when it takes effect and ends.
	phase    int // idle, inFlight (effect pending), applied (completion pending), done
	nextNs   int64
	effectNs int64
	doneNs   int64
	final    bool
	send     struct {
		key     int
		value   int64
		offset  int64
		outcome history.Type
	}
	poll []history.Polled
	info bool
}

const (
	phaseIdle = iota
	phaseInFlight
	phaseApplied
	phaseDone
)

func generate(cfg genConfig) []history.Op {
	if cfg.latencyNsMax == 0 {
		cfg.latencyNsMax = 400_000
	}
	if cfg.thinkNsMax == 0 {
		cfg.thinkNsMax = 100_000
	}
	g := &gen{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.seed, 0x5eed)), b: history.NewBuilder()}
	for k := range cfg.keys {
		g.keys = append(g.keys, history.Key{Topic: "q", Partition: int32(k)})
	}
	g.logs = make([][]int64, cfg.keys)
	for p := range cfg.processes {
		proc := genProc{id: p}
		// Each key has two consumers, so a consumer that times out mid-poll
		// leaves its records to the other.
		for k := range cfg.keys {
			if k%cfg.processes == p || (k+1)%cfg.processes == p {
				proc.consumes = append(proc.consumes, k)
			}
		}
		proc.pos = make([]int, len(proc.consumes))
		g.procs = append(g.procs, proc)
	}
	g.b.SetTimeNs(0)
	for _, p := range g.procs {
		var keys []history.Key
		for _, k := range p.consumes {
			keys = append(keys, g.keys[k])
		}
		g.b.Invoke(p.id, history.Assign, history.Keys(keys...))
		g.b.Ok(p.id, history.Value{})
	}
	invoked := 0
	for {
		p := g.next()
		if p == nil {
			break
		}
		g.b.SetTimeNs(p.nextNs)
		switch p.phase {
		case phaseIdle:
			if invoked >= cfg.calls && !p.final {
				p.final = true
			}
			if p.final && g.caughtUp(p) && !g.sending() {
				p.phase = phaseDone
				continue
			}
			invoked++
			g.invoke(p)
		case phaseInFlight:
			g.apply(p)
			p.phase, p.nextNs = phaseApplied, p.doneNs
		case phaseApplied:
			g.complete(p)
			p.phase, p.nextNs = phaseIdle, p.doneNs+g.rng.Int64N(cfg.thinkNsMax)
		}
	}
	return g.b.Ops()
}

// next is the process with the earliest event, lowest id first on ties.
func (g *gen) next() *genProc {
	var best *genProc
	for i := range g.procs {
		p := &g.procs[i]
		if p.phase != phaseDone && (best == nil || p.nextNs < best.nextNs) {
			best = p
		}
	}
	return best
}

// sending reports whether a send is in flight: a consumer that stopped
// before it lands would leave it unseen.
func (g *gen) sending() bool {
	for _, p := range g.procs {
		if p.phase != phaseIdle && p.phase != phaseDone && p.poll == nil {
			return true
		}
	}
	return false
}

func (g *gen) caughtUp(p *genProc) bool {
	for i, k := range p.consumes {
		if p.pos[i] < len(g.logs[k]) {
			return false
		}
	}
	return true
}

func (g *gen) invoke(p *genProc) {
	now := p.nextNs
	latency := 1 + g.rng.Int64N(g.cfg.latencyNsMax)
	p.effectNs, p.doneNs = now+g.rng.Int64N(latency+1), now+latency
	p.phase, p.nextNs = phaseInFlight, p.effectNs
	if !p.final && g.rng.IntN(100) < 55 {
		g.value++
		p.send.key, p.send.value, p.send.offset = g.rng.IntN(g.cfg.keys), g.value, history.OffsetUnknown
		switch r := g.rng.IntN(100); {
		case r < 1:
			p.send.outcome = history.Fail
		case r < 2:
			p.send.outcome = history.Info
		default:
			p.send.outcome = history.Ok
		}
		g.b.Invoke(p.id, history.Send, history.Sends(history.NewSend(g.keys[p.send.key], p.send.value)))
		p.poll = nil
		return
	}
	p.poll = []history.Polled{}
	p.info = !p.final && g.rng.IntN(200) == 0
	if p.final {
		g.b.InvokeFinal(p.id)
	} else {
		g.b.Invoke(p.id, history.Poll, history.Value{})
	}
}

// apply is the instant the call takes effect.
func (g *gen) apply(p *genProc) {
	if p.poll == nil {
		s := &p.send
		if s.outcome == history.Fail || (s.outcome == history.Info && g.rng.IntN(2) == 0) {
			return
		}
		s.offset = int64(len(g.logs[s.key]))
		g.logs[s.key] = append(g.logs[s.key], s.value)
		return
	}
	for i, k := range p.consumes {
		log := g.logs[k]
		n := min(len(log)-p.pos[i], 1+g.rng.IntN(4))
		polled := history.Polled{Key: g.keys[k], HighWatermark: int64(len(log)), HasHighWatermark: true}
		for j := range n {
			off := p.pos[i] + j
			polled.Records = append(polled.Records, history.Record{Offset: int64(off), Value: log[off]})
		}
		if !p.info {
			// A consumer whose poll timed out seeks back to where it was:
			// otherwise records both consumers lost to timeouts would be
			// read by nobody, which the analysis rightly calls lost.
			p.pos[i] += n
		}
		p.poll = append(p.poll, polled)
	}
}

func (g *gen) complete(p *genProc) {
	if p.poll == nil {
		s := p.send
		switch s.outcome {
		case history.Fail:
			g.b.Fail(p.id, "INVALID_RECORD")
		case history.Info:
			g.b.Info(p.id, "timeout")
		default:
			g.b.Ok(p.id, history.Sends(history.AckedSend(g.keys[s.key], s.value, s.offset)))
		}
		return
	}
	if p.info {
		g.b.Info(p.id, "timeout")
		return
	}
	polls := slices.Clone(p.poll)
	slices.SortFunc(polls, func(a, b history.Polled) int { return a.Key.Compare(b.Key) })
	g.b.Ok(p.id, history.Polls(polls...))
}
