package main

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"
)

// lineLimiter paces the app's output to a number of lines per second, shared
// by stdout and stderr. An app that prints faster is slowed down, not cut:
// its writes block once the pipe to the shim is full. This keeps a log flood's
// cost inside the container's own CPU cap instead of in the engine's log
// driver and previewd on the host.
type lineLimiter struct {
	perSec float64
	burst  float64
	notice io.Writer // told once that the output is being slowed down

	mu     sync.Mutex
	tokens float64
	last   time.Time
	told   bool
	sleep  func(time.Duration)
	now    func() time.Time
}

func newLineLimiter(perSec int, notice io.Writer) *lineLimiter {
	l := &lineLimiter{perSec: float64(perSec), burst: float64(perSec), notice: notice, sleep: time.Sleep, now: time.Now}
	l.tokens, l.last = l.burst, l.now()
	return l
}

// wait takes n lines' worth of tokens, sleeping until they are there.
func (l *lineLimiter) wait(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.perSec)
	l.last = now
	l.tokens -= float64(n)
	if l.tokens >= 0 {
		return
	}
	if !l.told {
		l.told = true
		fmt.Fprintf(l.notice, "previewshim: the app prints more than %.0f lines a second; its output is slowed down to that rate (nothing is dropped)\n", l.perSec)
	}
	// Sleeping under the lock makes the other stream wait its turn too.
	l.sleep(time.Duration(-l.tokens / l.perSec * float64(time.Second)))
}

// pacedWriter writes to w at the limiter's pace.
type pacedWriter struct {
	w   io.Writer
	lim *lineLimiter
}

func (p pacedWriter) Write(b []byte) (int, error) {
	if n := bytes.Count(b, []byte{'\n'}); n > 0 {
		p.lim.wait(n)
	}
	return p.w.Write(b)
}
