package docker

import (
	"errors"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/client"

	"github.com/previewd/previewd/sandbox/backend"
)

// isGone reports whether a teardown error means there is nothing left to tear
// down: the container is already gone or already stopped, or another remove of
// it is in progress (the engine reports that as a conflict).
func isGone(err error) bool {
	return err == nil || errdefs.IsNotFound(err) || errdefs.IsNotModified(err) || errdefs.IsConflict(err)
}

// engineErr marks connection failures as backend.ErrEngineUnavailable, and
// what the engine does not have as backend.ErrNotFound, so that the
// lifecycle tells them apart without looking at engine errors itself.
func engineErr(err error) error {
	switch {
	case err == nil:
		return nil
	case client.IsErrConnectionFailed(err):
		return errors.Join(backend.ErrEngineUnavailable, err)
	case errdefs.IsNotFound(err):
		return notFound{err}
	}
	return err
}

// notFound is an engine error that is also backend.ErrNotFound, with the
// engine's message.
type notFound struct{ error }

func (e notFound) Is(target error) bool { return target == backend.ErrNotFound }

func (e notFound) Unwrap() error { return e.error }
