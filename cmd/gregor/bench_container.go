package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregor-dst/gregor/bench"
)

const (
	// containerImage is the image scripts/build-image builds by default.
	containerImage = "gregor:dev"
	// containerClientPort and containerControllerPort are every broker's
	// ports inside its container.
	containerClientPort     = 9092
	containerControllerPort = 9093
	// containerReadyTimeout bounds the wait for every broker to serve
	// (quorum elected, registered, unfenced).
	containerReadyTimeout = 90 * time.Second
	// containerLabel marks the containers and the network of the target,
	// with the target's name as the value.
	containerLabel = "gregor.bench.target"
	// containerStopTimeout is how long Teardown lets a broker stop before
	// it is killed: the data is thrown away with the container.
	containerStopTimeout = time.Second
	// imageRevisionLabel is where scripts/build-image records the git
	// revision the image's binary was built from.
	imageRevisionLabel = "org.opencontainers.image.revision"
)

// containerTarget is a gregor cluster in Docker containers for gregor
// bench: one container per broker, from the FROM-scratch image that
// scripts/build-image builds, on a Docker network of its own, started and
// removed with testcontainers-go.
//
// Each broker advertises its network alias, gregor-N:9092, so that the
// brokers reach one another by Docker's DNS (replication, the metadata
// quorum), and the address is known before the container starts (a broker
// registers it at start; a container's IP is only known after). The
// benchmark's clients on this host cannot resolve the aliases, so they get
// a dialer that maps each alias to the broker's container IP, which a Linux
// host routes to directly; where it does not (Docker Desktop's VM) they use
// the client port published on the host's loopback instead.
type containerTarget struct {
	brokers int
	fsync   bool // log.flush.interval.messages=1: fsync before every ack
	image   string
	log     io.Writer // image builds and pulls report here
	// built: this process built the image, from the checkout it runs in;
	// building again would give the same revision, so it is not checked.
	built bool

	cli  *testcontainers.DockerClient
	net  *testcontainers.DockerNetwork
	ctrs []*testcontainers.DockerContainer
}

// parseContainerTarget reads
// "gregor-container[:brokers=N,fsync=true|false,image=REF]".
func parseContainerTarget(spec string) (*containerTarget, error) {
	p, err := targetParams(spec, "brokers", "fsync", "image")
	if err != nil {
		return nil, err
	}
	t := &containerTarget{brokers: 3, image: containerImage, log: os.Stderr}
	if v, ok := p["brokers"]; ok {
		if t.brokers, err = strconv.Atoi(v); err != nil || t.brokers < 1 || t.brokers > 9 {
			return nil, fmt.Errorf("target %q: brokers=%s: want 1..9", spec, v)
		}
	}
	if v, ok := p["fsync"]; ok {
		if t.fsync, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("target %q: fsync=%s: want true or false", spec, v)
		}
	}
	if v := p["image"]; v != "" {
		t.image = v
	}
	return t, nil
}

func (t *containerTarget) Name() string { return "gregor-container" }

func alias(id int) string { return "gregor-" + strconv.Itoa(id) }

// Setup makes sure the image is there (building it with scripts/build-image
// when this runs in a gregor checkout), creates the network, starts the
// brokers and waits until every one serves. The endpoint's Info is filled
// in as far as Setup got, for a skipped run's result.
func (t *containerTarget) Setup(ctx context.Context) (bench.Endpoint, error) {
	cfg := t.brokerConfigs()
	ep := bench.Endpoint{Info: t.info(cfg)}
	cli, engine, err := dockerEngine(ctx)
	if err != nil {
		return ep, err
	}
	t.cli = cli
	ep.Info.Versions["docker engine"] = engine.Version
	img, err := t.ensureImage(ctx)
	if err != nil {
		return ep, err
	}
	describeImage(&ep.Info, t.image, img)
	if err := t.start(ctx, cfg); err != nil {
		return ep, err
	}
	routes, via, err := t.routes(ctx)
	if err != nil {
		return ep, err
	}
	ep.Info.Durability.Notes += " and this host's clients reach them " + via
	for i := 1; i <= t.brokers; i++ {
		ep.Bootstrap = append(ep.Bootstrap, fmt.Sprintf("%s:%d", alias(i), containerClientPort))
	}
	ep.ClientOptions = []kgo.Opt{aliasDialer(routes)}
	return ep, nil
}

// brokerConfigs are the settings every broker is started with.
func (t *containerTarget) brokerConfigs() map[string]string {
	cfg := map[string]string{"min.insync.replicas": strconv.Itoa(min(2, t.brokers))}
	if t.fsync {
		cfg["log.flush.interval.messages"] = "1"
	}
	return cfg
}

// info is what the target is, known before anything runs.
func (t *containerTarget) info(cfg map[string]string) bench.TargetInfo {
	fsync := "never on the ack path (Kafka's default: flush.messages unset)"
	if t.fsync {
		fsync = "before every acknowledgement (log.flush.interval.messages=1)"
	}
	return bench.TargetInfo{
		Name: t.Name(),
		Description: fmt.Sprintf("gregor cluster, %d brokers in Docker containers on a Docker network "+
			"(image %s, FROM scratch; combined mode)", t.brokers, t.image),
		Brokers: t.brokers,
		Durability: bench.Durability{Fsync: fsync, Persistent: true, Replicated: t.brokers > 1,
			Notes: "each broker keeps its data in /data in its container (the container's writable layer, " +
				"removed at teardown; the disk limit is measured on this host, not there); " +
				"the brokers advertise their network aliases (gregor-N:9092)"},
		BrokerConfigs:    cfg,
		NoConsumerGroups: true,
		Versions: map[string]string{
			"gregor image":      t.image,
			"testcontainers-go": moduleVersion("github.com/testcontainers/testcontainers-go"),
		},
	}
}

// describeImage adds the image's id and labels to info's versions.
func describeImage(info *bench.TargetInfo, ref string, img image.InspectResponse) {
	version := img.Config.Labels["org.opencontainers.image.version"]
	if version == "" {
		version = "unknown (the image has no version label)"
	}
	text := fmt.Sprintf("%s %s", ref, shortID(img.ID))
	if rev := img.Config.Labels[imageRevisionLabel]; rev != "" {
		text += ", revision " + rev
	}
	info.Versions["gregor"] = version
	info.Versions["gregor image"] = text
}

// start creates the network and the brokers' containers, and waits until
// every broker serves.
func (t *containerTarget) start(ctx context.Context, cfg map[string]string) error {
	labels := map[string]string{containerLabel: t.Name()}
	var err error
	if t.net, err = tcnetwork.New(ctx, tcnetwork.WithLabels(labels)); err != nil {
		return fmt.Errorf("creating a Docker network: %w", err)
	}
	var voters []string
	for i := 1; i <= t.brokers; i++ {
		voters = append(voters, fmt.Sprintf("%d@%s:%d", i, alias(i), containerControllerPort))
	}
	for i := 1; i <= t.brokers; i++ {
		if err := t.startBroker(ctx, i, voters, cfg, labels); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(containerReadyTimeout)
	for i, ctr := range t.ctrs {
		ready := wait.ForLog(`(?m)^listening: `).AsRegexp().WithStartupTimeout(time.Until(deadline))
		if err := ready.WaitUntilReady(ctx, ctr); err != nil {
			return fmt.Errorf("broker %d did not serve within %s: %w; its last log lines:\n%s",
				i+1, containerReadyTimeout, err, logTail(ctx, ctr, 20))
		}
	}
	return nil
}

// startBroker starts broker id's container on the network.
func (t *containerTarget) startBroker(ctx context.Context, id int, voters []string, cfg, labels map[string]string) error {
	args := []string{"broker", "--node-id", strconv.Itoa(id),
		"--listen", fmt.Sprintf("0.0.0.0:%d", containerClientPort),
		"--controller-listen", fmt.Sprintf("0.0.0.0:%d", containerControllerPort),
		"--voters", strings.Join(voters, ","),
		"--advertised", fmt.Sprintf("%s:%d", alias(id), containerClientPort),
		"--data-dir", "/data"}
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		args = append(args, "--config", k+"="+cfg[k])
	}
	ctr, err := testcontainers.Run(ctx, t.image,
		tcnetwork.WithNetwork([]string{alias(id)}, t.net),
		testcontainers.WithCmd(args...),
		testcontainers.WithLabels(labels),
		// Published on the loopback only, for hosts that do not route
		// to container IPs.
		testcontainers.WithExposedPorts(clientPort()),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = mobynet.PortMap{mobynet.MustParsePort(clientPort()): {{HostIP: netip.MustParseAddr("127.0.0.1")}}}
		}),
	)
	if ctr != nil {
		t.ctrs = append(t.ctrs, ctr) // removed by Teardown even if it failed to start
	}
	if err != nil {
		return fmt.Errorf("starting broker %d's container: %w", id, err)
	}
	return nil
}

func clientPort() string { return strconv.Itoa(containerClientPort) + "/tcp" }

// ensureImage returns the image's inspection, building it first with
// scripts/build-image when the engine does not have it, or when it is the
// default image and was built from another revision than this binary.
// An image named with image=REF is used as it is: rebuilding would
// overwrite a tag the user chose, perhaps an older build on purpose.
func (t *containerTarget) ensureImage(ctx context.Context) (image.InspectResponse, error) {
	img, ok, err := imageHere(ctx, t.cli, t.image)
	if err != nil {
		return img, err
	}
	if ok && (t.built || t.image != containerImage) {
		return img, nil
	}
	why := "not found"
	if ok {
		rebuild, reason := rebuildImage(img.Config.Labels, binaryRevision())
		if !rebuild {
			fmt.Fprintf(t.log, "image %s %s\n", t.image, reason)
			return img, nil
		}
		why = reason
	}
	script, missing := imageBuilder(t.image)
	if missing != "" && ok {
		fmt.Fprintf(t.log, "image %s %s, but %s: using it as it is\n", t.image, why, missing)
		return img, nil
	}
	if missing != "" {
		return img, bench.Skip("image %s not available: the Docker engine does not have it, and %s", t.image, missing)
	}
	fmt.Fprintf(t.log, "image %s %s: building it with %s %s\n", t.image, why, script, t.image)
	cmd := exec.CommandContext(ctx, script, t.image)
	cmd.Stdout, cmd.Stderr = t.log, t.log
	if err := cmd.Run(); err != nil {
		return img, fmt.Errorf("image %s: %s failed: %w", t.image, script, err)
	}
	t.built = true
	if img, ok, err = imageHere(ctx, t.cli, t.image); err == nil && !ok {
		err = fmt.Errorf("image %s: %s succeeded but the engine has no such image", t.image, script)
	}
	return img, err
}

// imageBuilder is scripts/build-image, when it can build ref here; else
// missing says why not.
func imageBuilder(ref string) (script, missing string) {
	script = findBuildImage()
	if script == "" {
		return "", fmt.Sprintf("this is not a gregor checkout to build it from: run scripts/build-image %s in one", ref)
	}
	for _, tool := range []string{"docker", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Sprintf("%s needs the %s command to build it, which is not installed", script, tool)
		}
	}
	return script, ""
}

// rebuildImage decides whether an image with these labels is stale for a
// binary at revision (binaryRevision's form); reason follows "image REF "
// in the log. Without a revision (go run, go test, -buildvcs=false)
// nothing can be compared, and the image is reused.
func rebuildImage(labels map[string]string, revision string) (rebuild bool, reason string) {
	built := labels[imageRevisionLabel]
	switch {
	case revision == "" && built == "":
		return false, "reused: this binary records no git revision (go run, go test, -buildvcs=false), nor the image"
	case revision == "":
		return false, "reused: this binary records no git revision (go run, go test, -buildvcs=false) to compare with the image's (" + built + ")"
	case built == "":
		return true, "has no revision label, and this binary is from revision " + revision
	case built != revision:
		return true, fmt.Sprintf("is from revision %s, and this binary is from revision %s", built, revision)
	case strings.HasSuffix(revision, "-dirty"):
		return false, "reused: it is from this binary's revision, " + revision + " (uncommitted changes are not compared: scripts/build-image rebuilds it)"
	}
	return false, "reused: it is from this binary's revision, " + revision
}

// binaryRevision is the git revision this binary was built from, as
// scripts/build-image labels the image; "" when the build recorded none.
func binaryRevision() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	return revisionOf(bi.Settings)
}

// revisionOf is vcs.revision, with "-dirty" when vcs.modified (the tree
// had uncommitted changes or untracked files, as `git status` shows).
func revisionOf(settings []debug.BuildSetting) string {
	var revision string
	modified := false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if revision != "" && modified {
		revision += "-dirty"
	}
	return revision
}

// findBuildImage looks for scripts/build-image in the gregor checkout
// holding the working directory; "" if there is none.
func findBuildImage() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(mod), []byte("module github.com/gregor-dst/gregor\n")) {
			script := filepath.Join(dir, "scripts", "build-image")
			if _, err := os.Stat(script); err == nil {
				return script
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// routes maps each broker's alias address to where this host reaches it:
// its container IP when the host routes there (Linux), else the client
// port published on the loopback. via says which, for the result.
func (t *containerTarget) routes(ctx context.Context) (map[string]string, string, error) {
	routes := map[string]string{}
	direct := true
	for i, ctr := range t.ctrs {
		inspect, err := ctr.Inspect(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("inspecting broker %d's container: %w", i+1, err)
		}
		ep := inspect.NetworkSettings.Networks[t.net.Name]
		if ep == nil || !ep.IPAddress.IsValid() {
			return nil, "", fmt.Errorf("broker %d's container has no address on network %s", i+1, t.net.Name)
		}
		addr := net.JoinHostPort(ep.IPAddress.String(), strconv.Itoa(containerClientPort))
		if direct {
			if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
				c.Close()
			} else {
				direct = false
			}
		}
		routes[fmt.Sprintf("%s:%d", alias(i+1), containerClientPort)] = addr
	}
	if direct {
		return routes, "at their container IPs on the Docker network", nil
	}
	for i, ctr := range t.ctrs {
		addr, err := ctr.PortEndpoint(ctx, clientPort(), "")
		if err != nil {
			return nil, "", fmt.Errorf("broker %d's published client port: %w", i+1, err)
		}
		routes[fmt.Sprintf("%s:%d", alias(i+1), containerClientPort)] = addr
	}
	return routes, "through their client ports published on this host's loopback (the container IPs are not routed here)", nil
}

// aliasDialer dials the brokers' advertised aliases at the addresses
// routes maps them to, and anything else as given.
func aliasDialer(routes map[string]string) kgo.Opt {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return kgo.Dialer(func(ctx context.Context, network, host string) (net.Conn, error) {
		if to, ok := routes[host]; ok {
			host = to
		}
		return d.DialContext(ctx, network, host)
	})
}

// logTail is the last n lines of a container's output, for errors.
func logTail(ctx context.Context, ctr *testcontainers.DockerContainer, n int) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	rc, err := ctr.Logs(ctx)
	if err != nil {
		return "(logs unavailable: " + err.Error() + ")"
	}
	defer rc.Close()
	var lines []string
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, "  "+sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// Teardown removes the containers (stopping them at once: their data goes
// with them) and the network.
func (t *containerTarget) Teardown(ctx context.Context) error {
	errs := make([]error, len(t.ctrs)+1)
	var wg sync.WaitGroup
	for i, ctr := range t.ctrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ctr.Terminate(ctx, testcontainers.StopTimeout(containerStopTimeout)); err != nil {
				errs[i] = fmt.Errorf("removing broker %d's container: %w", i+1, err)
			}
		}()
	}
	wg.Wait()
	t.ctrs = nil
	if t.net != nil {
		if err := t.net.Remove(ctx); err != nil {
			errs[len(errs)-1] = fmt.Errorf("removing network %s: %w", t.net.Name, err)
		}
		t.net = nil
	}
	if t.cli != nil {
		_ = t.cli.Close()
		t.cli = nil
	}
	return errors.Join(errs...)
}
