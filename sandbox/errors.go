package sandbox

import (
	"errors"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/client"
)

// ErrEngineUnavailable means the Docker engine cannot be reached.
var ErrEngineUnavailable = errors.New("docker engine unavailable")

// isGone reports whether a teardown error means there is nothing left to tear
// down: the container is already gone or already stopped, or another remove of
// it is in progress (the engine reports that as a conflict).
func isGone(err error) bool {
	return err == nil || errdefs.IsNotFound(err) || errdefs.IsNotModified(err) || errdefs.IsConflict(err)
}

// engineErr marks connection failures as ErrEngineUnavailable so that callers
// can answer 503 without looking at engine errors themselves.
func engineErr(err error) error {
	if err != nil && client.IsErrConnectionFailed(err) {
		return errors.Join(ErrEngineUnavailable, err)
	}
	return err
}
