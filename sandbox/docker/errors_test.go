package docker

import (
	"errors"
	"fmt"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/client"

	"github.com/previewd/previewd/sandbox/backend"
)

// TestEngineErr: what the engine does not have is backend.ErrNotFound, with
// the engine's own message and still an errdefs not-found; a connection
// failure is backend.ErrEngineUnavailable.
func TestEngineErr(t *testing.T) {
	gone := errdefs.ErrNotFound.WithMessage("No such container: abc")
	err := fmt.Errorf("inspect container abc: %w", engineErr(gone))
	if !errors.Is(err, backend.ErrNotFound) || !errdefs.IsNotFound(err) || err.Error() != "inspect container abc: No such container: abc" {
		t.Errorf("not found: %q (backend %v, errdefs %v)", err, errors.Is(err, backend.ErrNotFound), errdefs.IsNotFound(err))
	}
	if err := engineErr(errors.New("boom")); errors.Is(err, backend.ErrNotFound) || errors.Is(err, backend.ErrEngineUnavailable) {
		t.Errorf("another error classified: %v", err)
	}
	if err := engineErr(client.ErrorConnectionFailed("unix:///nowhere.sock")); !errors.Is(err, backend.ErrEngineUnavailable) {
		t.Errorf("connection failure: %v", err)
	}
	if engineErr(nil) != nil {
		t.Error("nil is an error")
	}
}
