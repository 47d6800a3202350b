package sim_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
)

func benchNoop() {}

// BenchmarkSchedulerEvents: one no-op event per op (schedule, pop, trace
// hash, run), over a queue already holding depth other events so the heap
// has real height. Target: ≤ 100 ns per event.
func BenchmarkSchedulerEvents(b *testing.B) {
	for _, depth := range []int{0, 1024} {
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			s, err := sim.New(sim.DefaultOptions(1))
			if err != nil {
				b.Fatal(err)
			}
			sch := s.Scheduler()
			far := sim.Time(1 << 60)
			for i := range depth {
				sch.Schedule(far+sim.Time(i), sim.Record{Kind: sim.KindUser}, benchNoop)
			}
			rec := sim.Record{Kind: sim.KindUser, Node: -1}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				sch.Schedule(sch.Now()+1, rec, benchNoop)
				sch.StepUntil(far - 1)
			}
			b.StopTimer()
			if got := sch.Executed(); got != uint64(b.N) {
				b.Fatalf("ran %d events, want %d", got, b.N)
			}
		})
	}
}

// benchSink counts frames on the receiving node.
type benchSink struct {
	frames int
	bytes  int
}

func (k *benchSink) Opened(env.Conn) {}
func (k *benchSink) Received(_ env.Conn, f []byte) {
	k.frames++
	k.bytes += len(f)
}
func (k *benchSink) Closed(env.Conn, error) {}

type benchServer struct{ sink *benchSink }

func (p *benchServer) Start(e env.Env) {
	if _, err := e.Net().Listen(9000, func(env.Conn) env.Handler { return p.sink }); err != nil {
		panic(err)
	}
}
func (p *benchServer) Stop(done func()) { done() }

type benchClient struct {
	conn env.Conn
	open bool
}

func (p *benchClient) Start(e env.Env)              { p.conn = e.Net().Dial("srv:9000", p) }
func (p *benchClient) Stop(done func())             { done() }
func (p *benchClient) Opened(env.Conn)              { p.open = true }
func (p *benchClient) Received(env.Conn, []byte)    {}
func (p *benchClient) Closed(_ env.Conn, err error) { panic(err) }

// BenchmarkNetworkFrames: one 1 KiB frame per op, sent by one node and
// delivered to the other's handler over the simulated network (latency
// sampling, bandwidth, in-order queue, partition check, CRC into the trace
// hash). Target: ≤ 1,000 ns per frame.
func BenchmarkNetworkFrames(b *testing.B) {
	opts := sim.DefaultOptions(1)
	opts.Net.Latency = sim.Latency{Min: 50 * time.Microsecond, Mean: 100 * time.Microsecond}
	s, err := sim.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	sink := &benchSink{}
	cli := &benchClient{}
	srv, _ := s.AddNode("srv", func() env.Process { return &benchServer{sink: sink} }, sim.DiskOptions{})
	cn, _ := s.AddNode("cli", func() env.Process { return cli }, sim.DiskOptions{})
	_ = srv.Start()
	_ = cn.Start()
	if err := s.RunFor(time.Second); err != nil || !cli.open {
		b.Fatalf("no connection: %v", err)
	}
	frame := make([]byte, 1024)
	const burst = 64
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		n := min(burst, b.N-sent)
		for range n {
			if err := cli.conn.Send(frame); err != nil {
				b.Fatal(err)
			}
		}
		sent += n
		if err := s.RunFor(10 * time.Millisecond); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if sink.frames != b.N || sink.bytes != b.N*len(frame) {
		b.Fatalf("delivered %d frames (%d bytes), want %d", sink.frames, sink.bytes, b.N)
	}
}
