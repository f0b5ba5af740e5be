package sandbox

import (
	"context"
	"time"

	"github.com/previewd/previewd/sandbox/backend"
)

// statsReadTimeout bounds an on-demand sample: past it the status answers
// without figures rather than wait on a slow engine.
const statsReadTimeout = 2 * time.Second

// Stats is a resource sample of a running preview.
type Stats = backend.Stats

// readStats takes a sample of a running preview now, from one engine
// reading. CPU use needs two; here the second is the container's start (no
// CPU used then), so cpu_percent is the average since the container
// started, until the stream's first sample. A second reading of the engine
// would be more current but takes about a second on Docker 20.10 (the first
// one-shot reading of a container comes at once, the next ones do not).
func (m *Manager) readStats(in *instance) (*Stats, error) {
	ctx, cancel := context.WithTimeout(in.ctx, statsReadTimeout)
	defer cancel()
	st, err := m.backend.StatsOnce(ctx, in.handle())
	if err != nil {
		return nil, err
	}
	if state, err := m.backend.State(ctx, in.handle()); err == nil && !state.StartedAt.IsZero() {
		if up := st.At.Sub(state.StartedAt).Seconds(); up > 0 {
			st.CPUPercent = st.CPUSeconds / up * 100
		}
	}
	return &st, nil
}
