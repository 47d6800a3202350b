package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/gregor-dst/gregor/bench"
)

// What the Testcontainers targets (gregor-container, kafka) share: finding
// the Docker engine, and making sure an image is there, or saying why the
// target is skipped.

const (
	// dockerAnswerTimeout bounds the engine health check: an engine that
	// does not answer a ping in this time is as good as absent.
	dockerAnswerTimeout = 10 * time.Second
	// pullIdleTimeout abandons a pull that reports nothing for this long,
	// so a machine without a registry skips at once, while a long
	// download that keeps reporting progress is let run.
	pullIdleTimeout = 20 * time.Second
)

var prepareOnce sync.Once

// prepareTestcontainers runs before the first use of testcontainers-go:
// without a registry the reaper (Ryuk) image cannot be pulled, so it is
// disabled unless the environment says otherwise (the targets remove their
// containers and networks in Teardown; after a SIGKILL, `docker ps --filter
// label=org.testcontainers=true` lists what is left), and the library's
// banner and per-container log lines are silenced (errors are returned).
func prepareTestcontainers() {
	prepareOnce.Do(func() {
		if _, set := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !set {
			_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
		}
		tclog.SetDefault(tclog.NewNoopLogger())
	})
}

// dockerEngine connects to the engine testcontainers-go would use
// (DOCKER_HOST, ~/.testcontainers.properties, the default socket) and checks
// that it answers. With no engine it returns a *bench.SkipError.
func dockerEngine(ctx context.Context) (cli *testcontainers.DockerClient, serverVersion client.ServerVersionResult, err error) {
	prepareTestcontainers()
	defer func() {
		// testcontainers-go panics when it finds no Docker host at all.
		if r := recover(); r != nil {
			cli, err = nil, noEngine(fmt.Errorf("%v", r))
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, dockerAnswerTimeout)
	defer cancel()
	cli, err = testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, serverVersion, noEngine(err)
	}
	if serverVersion, err = cli.ServerVersion(ctx, client.ServerVersionOptions{}); err != nil {
		_ = cli.Close()
		return nil, serverVersion, noEngine(err)
	}
	return cli, serverVersion, nil
}

// noEngine is the skip for a missing engine, on one line.
func noEngine(err error) error {
	return bench.Skip("no Docker engine: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
}

// imageHere inspects ref in the engine's image store; ok is false when the
// engine does not have it.
func imageHere(ctx context.Context, cli *testcontainers.DockerClient, ref string) (image.InspectResponse, bool, error) {
	res, err := cli.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return res.InspectResponse, true, nil
	case cerrdefs.IsNotFound(err):
		return image.InspectResponse{}, false, nil
	}
	return image.InspectResponse{}, false, fmt.Errorf("inspecting image %s: %w", ref, err)
}

// ensurePulled returns ref's inspection, pulling it first if the engine
// does not have it. When it can be neither found nor pulled it returns a
// *bench.SkipError "image REF not available: REASON".
func ensurePulled(ctx context.Context, cli *testcontainers.DockerClient, ref string, log io.Writer) (image.InspectResponse, error) {
	info, ok, err := imageHere(ctx, cli, ref)
	if err != nil || ok {
		return info, err
	}
	fmt.Fprintf(log, "pulling %s (not in the engine's image store)\n", ref)
	if err := pull(ctx, cli, ref); err != nil {
		if ctx.Err() != nil {
			return info, ctx.Err()
		}
		return info, bench.Skip("image %s not available: %v", ref, err)
	}
	info, ok, err = imageHere(ctx, cli, ref)
	if err == nil && !ok {
		err = bench.Skip("image %s not available: the pull ended without it", ref)
	}
	return info, err
}

// pull pulls ref, giving up when the engine reports nothing for
// pullIdleTimeout.
func pull(ctx context.Context, cli *testcontainers.DockerClient, ref string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var idle atomic.Bool
	watchdog := time.AfterFunc(pullIdleTimeout, func() { idle.Store(true); cancel() })
	defer watchdog.Stop()
	idleErr := func(err error) error {
		if idle.Load() {
			return fmt.Errorf("the engine reported no pull progress for %s", pullIdleTimeout)
		}
		return err
	}
	resp, err := cli.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return idleErr(err)
	}
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return idleErr(err)
		}
		if msg.Error != nil {
			return errors.New(msg.Error.Message)
		}
		watchdog.Reset(pullIdleTimeout)
	}
	return idleErr(ctx.Err())
}

// moduleVersion is the version of a module this binary was built with.
func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "unknown"
}

// shortID is an image or container id cut to Docker's 12 hex digits.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	return id[:min(12, len(id))]
}

// targetParams reads a target spec's "name:key=value,…" parameters,
// accepting only the given keys.
func targetParams(spec string, keys ...string) (map[string]string, error) {
	_, args, _ := strings.Cut(spec, ":")
	p := map[string]string{}
	if args == "" {
		return p, nil
	}
	for _, kv := range strings.Split(args, ",") {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok || k == "":
			return nil, fmt.Errorf("target %q: parameter %q is not key=value", spec, kv)
		case !slices.Contains(keys, k):
			return nil, fmt.Errorf("target %q: unknown parameter %q (%s)", spec, k, strings.Join(keys, ", "))
		}
		p[k] = v
	}
	return p, nil
}
