package broker

import (
	"errors"
	"strconv"
	"time"

	"github.com/gregor-dst/gregor/broker/controller"
	"github.com/gregor-dst/gregor/broker/peer"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The broker's membership, as a KRaft broker's lifecycle manager has it:
// it registers with the active controller under a fresh incarnation id,
// heartbeats every broker.heartbeat.interval.ms with the metadata offset it
// has applied, and serves clients once the controller has unfenced it
// (which it does when the broker has caught up to its own registration).
// A graceful stop is a controlled shutdown: heartbeats asking to shut
// down until the controller has moved every leadership away.

const (
	// controllerRetryMs is the wait before retrying a request the
	// controller did not answer (controller.quorum.retry.backoff.ms is
	// 20; registration retries a little slower to keep logs readable).
	controllerRetryMs = 100
	// fencedHeartbeatMs is the heartbeat period until the broker is
	// unfenced: catching up should be noticed quickly, as Kafka's
	// lifecycle manager reschedules immediately while starting.
	fencedHeartbeatMs = 50
	// controlledShutdownMaxMs bounds how long a graceful stop waits for the
	// controller to move leaderships away.
	controlledShutdownMaxMs = 10_000
	// singleVoterElectionMs: a quorum of one needs no randomized wait to
	// elect itself, only a short one.
	singleVoterElectionMs = 20
)

var (
	// errNoController: no active controller is known yet.
	errNoController = errors.New("no active controller known")
	// errBusy: a bounded wait list is full.
	errBusy = errors.New("too many requests waiting")
)

// controllerConfig derives the embedded controller's Config from the
// broker's.
func (b *Broker) controllerConfig() controller.Config {
	voters := b.cfg.Voters
	single := len(voters) == 0
	if single {
		// A quorum of one never dials itself; the address is a placeholder
		// the quorum's config requires.
		voters = map[int32]string{b.cfg.NodeID: "localhost:" + strconv.Itoa(max(b.cfg.ControllerPort, 1))}
	}
	cc := controller.DefaultConfig(b.cfg.NodeID, voters)
	cc.ClusterID = b.cfg.ClusterID
	cc.Static = b.cfg.Static
	cc.Quorum.Port = b.cfg.ControllerPort
	cc.Quorum.Dir = b.path("quorum")
	bs := b.brokerSettings()
	cc.SessionTimeoutMs = int64(bs.BrokerSessionTimeoutMs)
	if single {
		cc.Quorum.ElectionTimeoutMs = singleVoterElectionMs
	}
	if b.cfg.Controller != nil {
		b.cfg.Controller(&cc)
	}
	return cc
}

// toController sends req to the active controller: straight to the
// embedded one when it is active, over the network otherwise.
func (b *Broker) toController(req kmsg.Request, done func(kmsg.Response, error)) {
	if b.ctl.Active() && b.ctl.Handle(req, func(resp kmsg.Response) { done(resp, nil) }) {
		return
	}
	id, _, ok := b.ctl.Quorum().Leader()
	addr, known := b.cfg.Voters[id]
	if !ok || !known || id == b.cfg.NodeID {
		b.e.Clock().AfterFunc(0, func() { done(nil, errNoController) })
		return
	}
	b.controllerPeers().Do(addr, req, done)
}

// controllerPeers is the client for requests to the active controller
// (registration, heartbeats, AlterPartition, forwarded admin requests).
// Its requests time out after half a broker session, not the 30 s of
// replica fetches: a heartbeat stuck at a controller that stalled (a
// pause does not break the connection) would otherwise hold every later
// one back while the next controller, which starts each broker's session
// afresh, fences this broker for silence. Kafka bounds its heartbeat
// channel by the session timeout and drops it when the controller
// changes; a timed-out request here is retried to whoever leads then.
func (b *Broker) controllerPeers() *peer.Client {
	if b.ctlClient == nil {
		timeoutMs := min(max(int64(b.brokerSettings().BrokerSessionTimeoutMs)/2, 500), 30_000)
		b.ctlClient = peer.New(b.e, peer.Config{ClientID: "gregor-broker", RequestTimeoutMs: timeoutMs})
	}
	return b.ctlClient
}

// controllerID is the node clients are told is the controller: the quorum
// leader, which in combined mode is also a broker they can reach.
func (b *Broker) controllerID() int32 {
	id, _, ok := b.ctl.Quorum().Leader()
	if !ok || !b.ctl.Image().Active(id) {
		return -1
	}
	return id
}

// register sends BrokerRegistration until it is accepted.
func (b *Broker) register() {
	if b.stopping {
		return
	}
	req := kmsg.NewPtrBrokerRegistrationRequest()
	req.SetVersion(registrationVersion)
	req.BrokerID, req.ClusterID, req.IncarnationID = b.cfg.NodeID, b.cfg.ClusterID, b.incarnation
	req.PreviousBrokerEpoch = -1 // KIP-966's clean-shutdown hint; not used
	host, port := b.advertised()
	l := kmsg.NewBrokerRegistrationRequestListener()
	l.Name, l.Host, l.Port, l.SecurityProtocol = "PLAINTEXT", host, uint16(port), 0
	req.Listeners = []kmsg.BrokerRegistrationRequestListener{l}
	b.toController(req, func(resp kmsg.Response, err error) {
		if b.stopping {
			return
		}
		r, _ := resp.(*kmsg.BrokerRegistrationResponse)
		if err != nil || r == nil || r.ErrorCode != 0 {
			b.log.Debug("registration not accepted yet", "err", err, "code", errCode(r))
			b.after(controllerRetryMs, b.register)
			return
		}
		b.brokerEpoch = r.BrokerEpoch
		b.log.Info("registered", "broker_epoch", r.BrokerEpoch)
		b.heartbeat()
	})
}

const (
	registrationVersion = 3
	heartbeatVersion    = 1
)

// heartbeat sends one BrokerHeartbeat and schedules the next.
func (b *Broker) heartbeat() {
	if b.stopped || b.hbInFlight {
		return
	}
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.SetVersion(heartbeatVersion)
	req.BrokerID, req.BrokerEpoch = b.cfg.NodeID, b.brokerEpoch
	req.CurrentMetadataOffset = b.ctl.Image().Offset
	req.WantShutdown = b.stopping
	b.hbInFlight = true
	b.toController(req, func(resp kmsg.Response, err error) {
		b.hbInFlight = false
		if b.stopped {
			return
		}
		r, _ := resp.(*kmsg.BrokerHeartbeatResponse)
		switch {
		case err != nil || r == nil:
			b.log.Debug("heartbeat failed", "err", err)
		case r.ErrorCode == kerr.StaleBrokerEpoch.Code:
			// The controller no longer knows this incarnation's epoch (a
			// snapshot from before it, say): register again.
			b.log.Warn("heartbeat: stale broker epoch; registering again", "broker_epoch", b.brokerEpoch)
			b.register()
			return
		case r.ErrorCode != 0:
			b.log.Debug("heartbeat refused", "code", r.ErrorCode)
		default:
			b.heartbeatAnswered(r)
		}
		b.after(b.heartbeatPeriodMs(), b.heartbeat)
	})
}

func (b *Broker) heartbeatAnswered(r *kmsg.BrokerHeartbeatResponse) {
	if r.IsFenced != b.fenced {
		b.log.Info("fencing changed", "fenced", r.IsFenced, "caught_up", r.IsCaughtUp)
	}
	b.fenced = r.IsFenced
	if !r.IsFenced {
		b.becomeReady()
	}
	if b.stopping && r.ShouldShutdown && b.shutdownAllowed != nil {
		allowed := b.shutdownAllowed
		b.shutdownAllowed = nil
		allowed()
	}
}

func (b *Broker) heartbeatPeriodMs() int64 {
	if b.fenced || b.stopping {
		return fencedHeartbeatMs
	}
	return int64(b.brokerSettings().BrokerHeartbeatIntervalMs)
}

// becomeReady starts serving clients: the requests parked since the
// listener opened are dispatched in arrival order.
func (b *Broker) becomeReady() {
	if b.ready {
		return
	}
	b.ready = true
	b.log.Info("serving", "addr", b.listener.Addr(), "topics", len(b.topics))
	if b.cfg.Listening != nil {
		b.cfg.Listening(b.listener.Addr())
	}
	parked := b.parked
	b.parked = nil
	for _, r := range parked {
		if !r.conn.closed {
			b.dispatch(r)
		}
	}
}

// controlledShutdown asks the controller to move this broker's
// leaderships away, then calls done; it gives up after
// controlledShutdownMaxMs (the controller may be unreachable).
func (b *Broker) controlledShutdown(done func()) {
	if b.brokerEpoch == 0 || !b.ready {
		done()
		return
	}
	finished := false
	finish := func() {
		if !finished {
			finished = true
			done()
		}
	}
	b.shutdownAllowed = finish
	b.after(controlledShutdownMaxMs, func() {
		if !finished {
			b.log.Warn("controlled shutdown timed out; stopping anyway", "timeout_ms", controlledShutdownMaxMs)
		}
		finish()
	})
	b.heartbeat()
}

// after runs f in ms unless the broker has stopped by then.
func (b *Broker) after(ms int64, f func()) {
	b.e.Clock().AfterFunc(time.Duration(ms)*time.Millisecond, func() {
		if !b.stopped {
			f()
		}
	})
}

// forward sends an admin request to the active controller and relays its
// answer, as a KRaft broker forwards CreateTopics and its kind. Until a
// controller answers it retries; at the request's timeout every item gets
// REQUEST_TIMED_OUT (NOT_CONTROLLER if none was ever known).
func (b *Broker) forward(r *request) {
	deadline := b.e.Clock().Mono() + time.Duration(requestTimeoutMs(r.req))*time.Millisecond
	var try func()
	try = func() {
		b.toController(r.req, func(resp kmsg.Response, err error) {
			switch {
			case err == nil:
				r.respond(resp)
			case b.stopping || b.e.Clock().Mono() >= deadline:
				code := kerr.RequestTimedOut.Code
				if errors.Is(err, errNoController) {
					code = kerr.NotController.Code
				}
				r.respond(failAll(r.req, code))
			default:
				b.after(controllerRetryMs, try)
			}
		})
	}
	try()
}

// requestTimeoutMs is an admin request's own timeout, or 30 s.
func requestTimeoutMs(req kmsg.Request) int32 {
	if t, ok := req.(kmsg.TimeoutRequest); ok && t.Timeout() > 0 {
		return t.Timeout()
	}
	return 30_000
}

func errCode(r *kmsg.BrokerRegistrationResponse) int16 {
	if r == nil {
		return -1
	}
	return r.ErrorCode
}
