package kclient

import "github.com/gregor-dst/gregor/env"

// Process runs a Client as a node's program, so a workload can live on its
// own simulated host: Start builds the client on the node's Env and hands
// it to run. A restarted node gets a fresh Process and a fresh client, as
// a restarted application would.
type Process struct {
	cfg Config
	run func(*Client)
	// Client is this incarnation's client; nil before Start or if New
	// failed (Err says why).
	Client *Client
	Err    error
}

// NewProcess returns a factory for sim.Node (one Process per incarnation).
func NewProcess(cfg Config, run func(*Client)) func() env.Process {
	return func() env.Process { return &Process{cfg: cfg, run: run} }
}

// Start builds the client and calls run.
func (p *Process) Start(e env.Env) {
	p.Client, p.Err = New(e, p.cfg)
	if p.Err != nil {
		e.Log().Error("kclient: not starting", "err", p.Err)
		return
	}
	if p.run != nil {
		p.run(p.Client)
	}
}

// Stop closes the client (every unfinished call is reported) and is done.
func (p *Process) Stop(done func()) {
	if p.Client != nil {
		p.Client.Close()
	}
	done()
}
