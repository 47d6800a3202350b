package real

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"syscall"

	"github.com/gregor-dst/gregor/env"
)

// kindError is an OS or net error classified as one of env's error
// values. Its message is the original's, which already names the
// operation and path or address; errors.Is matches both the env value and
// the original (syscall.ENOSPC, fs.ErrNotExist, …).
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

func withKind(kind, err error) error { return &kindError{kind: kind, err: err} }

// fsKinds maps OS errors onto env's, first match wins. A directory where
// a file is expected (EISDIR) or a file where a directory is (ENOTDIR)
// means "no file of that name": directories are not entries of env.FS.
var fsKinds = []struct{ os, env error }{
	{syscall.ENOSPC, env.ErrNoSpace},
	{syscall.EDQUOT, env.ErrNoSpace},
	{syscall.EIO, env.ErrIO},
	{fs.ErrNotExist, env.ErrNotExist},
	{fs.ErrExist, env.ErrExist},
	{fs.ErrClosed, env.ErrClosed},
	{syscall.EISDIR, env.ErrNotExist},
	{syscall.ENOTDIR, env.ErrNotExist},
}

// fsError classifies an error of the os package; nil stays nil.
func fsError(err error) error {
	if err == nil {
		return nil
	}
	for _, k := range fsKinds {
		if errors.Is(err, k.os) {
			return withKind(k.env, err)
		}
	}
	return err
}

// dialError classifies a failed dial as env.Network promises: refused,
// timed out, or no such host. Anything else the kernel says about an
// unreachable peer counts as a timeout (a dead host), and what remains as
// refused.
func dialError(err error) error {
	var dnsErr *net.DNSError
	var addrErr *net.AddrError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return withKind(env.ErrRefused, err)
	case errors.As(err, &dnsErr) && !dnsErr.IsTimeout:
		return withKind(env.ErrUnknownHost, err)
	case errors.As(err, &addrErr):
		return withKind(env.ErrUnknownHost, err)
	case isTimeout(err),
		errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.EHOSTDOWN):
		return withKind(env.ErrTimeout, err)
	}
	return withKind(env.ErrRefused, err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// readEnd classifies why a connection's reader stopped. report is false
// when the loop already knows (this side closed the socket, or the drain
// after Close timed out); otherwise err is what Closed gets: nil for the
// peer's orderly close at a frame boundary, else a reset.
func readEnd(err error) (closedErr error, report bool) {
	switch {
	case errors.Is(err, io.EOF):
		return nil, true
	case errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrDeadlineExceeded):
		return nil, false
	case errors.Is(err, errBadFrame):
		return err, true
	}
	return withKind(env.ErrReset, err), true
}
