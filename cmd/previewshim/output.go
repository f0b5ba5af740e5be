package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// maxQueuedOutput bounds the app's output read but not yet written
	// (bytes). The shim empties the app's pipes as soon as it writes, so
	// that what it printed is put in one queue in the order it printed it;
	// past this bound it stops reading and the app's writes block, as
	// pacing intends. A burst at start-up (thousands of lines) fits, and an
	// app that exits leaves no more to write than two full pipes did.
	maxQueuedOutput = 128 << 10
	// outputReadSize is the most one read of a pipe takes.
	outputReadSize = 32 << 10
	// outputGrace is how long the shim reads on after the app exited: a
	// process it left behind may hold its pipes open.
	outputGrace = 2 * time.Second
	// handoffWait bounds how long a write to one stream waits for the
	// engine to read what was written to the other (see handoff).
	handoffWait = 100 * time.Millisecond
	// handoffSettle is a pause after the engine has read the last write:
	// it logs the lines of one read one after another, and a line of the
	// other stream read meanwhile would land among them.
	handoffSettle = 2 * time.Millisecond
)

// lineLimiter paces the app's output to a number of lines per second, shared
// by stdout and stderr. An app that prints faster is slowed down, not cut:
// once the shim holds maxQueuedOutput of its output, its writes block. This
// keeps a log flood's cost inside the container's own CPU cap instead of in
// the engine's log driver and previewd on the host.
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
	l.sleep(time.Duration(-l.tokens / l.perSec * float64(time.Second)))
}

// outputPacer relays the app's stdout and stderr to the shim's own at the
// limiter's pace, keeping the order the app printed in across both streams.
//
// Pacing each stream as it is read would not: a reader that waits for tokens
// leaves its pipe full while the other stream's lines, printed later, are
// read and written first. So one loop reads both pipes as soon as the app
// writes to either, putting each read in one queue (its place there is its
// time stamp), and one writer empties that queue in order, paced.
type outputPacer struct {
	lim        *lineLimiter
	maxQueued  int
	chunkLines int // the most lines written at once, so output flows evenly

	mu     sync.Mutex
	cond   sync.Cond
	queue  []outputChunk
	queued int  // bytes in queue
	read   bool // the read loop ended
	stop   atomic.Bool
	child  []*os.File // the write ends, for the child only
	done   chan struct{}

	// ordered is the write end of the pipe the runtime images' stdio hooks
	// write framed output to (see frameHeader); orderedIno is its inode.
	ordered    *os.File
	orderedIno uint64
}

// frameHeader is the size of a frame's header on the ordered pipe: the
// stream (1 stdout, 2 stderr) and the data's length, big-endian. The
// runtimes write frames of at most PIPE_BUF bytes, header included, so a
// pipe write puts a frame in whole whichever processes share the pipe.
const (
	frameHeader  = 3
	maxFrameSize = 4096
)

// outputChunk is one read of one of the app's streams.
type outputChunk struct {
	src int // which stream: its index in readLoop's sources
	dst io.Writer
	b   []byte
}

func newOutputPacer(lim *lineLimiter) *outputPacer {
	p := &outputPacer{
		lim:        lim,
		maxQueued:  maxQueuedOutput,
		chunkLines: max(1, int(lim.perSec/20)),
		done:       make(chan struct{}),
	}
	p.cond.L = &p.mu
	return p
}

// start makes the pipes for the app's stdout and stderr, which go on to
// stdout and stderr, and starts relaying them. It returns the write ends to
// give the app; closeChildEnds closes them here once the app has them.
//
// A third pipe carries both streams in one order, as frames: the runtime
// images' stdio hooks write what the app prints through Python's
// sys.stdout and sys.stderr or Node's process.stdout and process.stderr
// there (orderedEnd gives it to the child), so that a stderr line keeps its
// place among stdout lines however fast they come. Two pipes cannot keep
// it: what fills both between two reads has no order. Writes that bypass
// the hooks still arrive on the first two.
func (p *outputPacer) start(stdout, stderr io.Writer) (outW, errW *os.File, err error) {
	var pipes [3][2]int
	for i := range pipes {
		if err := unix.Pipe2(pipes[i][:], unix.O_CLOEXEC); err != nil {
			for _, q := range pipes[:i] {
				unix.Close(q[0])
				unix.Close(q[1])
			}
			return nil, nil, fmt.Errorf("output pipe: %w", err)
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(pipes[2][1], &st); err != nil {
		for _, q := range pipes {
			unix.Close(q[0])
			unix.Close(q[1])
		}
		return nil, nil, fmt.Errorf("output pipe: %w", err)
	}
	outW, errW = os.NewFile(uintptr(pipes[0][1]), "stdout"), os.NewFile(uintptr(pipes[1][1]), "stderr")
	p.ordered, p.orderedIno = os.NewFile(uintptr(pipes[2][1]), "stdio"), st.Ino
	p.child = []*os.File{outW, errW, p.ordered}
	go p.readLoop([]outputSource{ // ends when all pipes end, or at finish
		{src: -1, fd: pipes[2][0], framed: []io.Writer{stdout, stderr}},
		{src: 0, fd: pipes[0][0], dst: stdout},
		{src: 1, fd: pipes[1][0], dst: stderr},
	})
	go p.write() // ends once the loop ended and the queue is empty
	return outW, errW, nil
}

// orderedEnd returns the ordered pipe's write end for the child, and the
// environment variable that tells the hook its fd (the child's
// fd number of that file) and inode.
func (p *outputPacer) orderedEnd(fd int) (*os.File, string) {
	return p.ordered, fmt.Sprintf("PREVIEWD_STDIO=%d:%d", fd, p.orderedIno)
}

// closeChildEnds closes the app's ends of the pipes in the shim, so that the
// read loop sees the end when the app (and what it spawned) closes them.
func (p *outputPacer) closeChildEnds() {
	for _, f := range p.child {
		f.Close()
	}
	p.child = nil
}

// outputSource is the read end of one of the app's streams, or (framed
// set) of the ordered pipe, whose frames go to framed[stream-1].
type outputSource struct {
	src    int
	fd     int
	dst    io.Writer
	framed []io.Writer
	rest   []byte // the start of a frame that the last read cut
}

// readLoop reads both pipes as the app writes to them and queues what it
// reads. One loop polling both, rather than a reader for each, sees a write
// to either at once, so the order of the reads is the order of the writes
// up to the time one round takes. It closes the pipes when it returns.
func (p *outputPacer) readLoop(srcs []outputSource) {
	defer func() {
		for _, s := range srcs {
			unix.Close(s.fd)
		}
		p.mu.Lock()
		p.read = true
		p.cond.Broadcast()
		p.mu.Unlock()
	}()
	buf := make([]byte, outputReadSize)
	fds := make([]unix.PollFd, len(srcs))
	for len(srcs) > 0 && !p.stop.Load() {
		for i, s := range srcs {
			fds[i] = unix.PollFd{Fd: int32(s.fd), Events: unix.POLLIN}
		}
		// The timeout only lets finish stop a loop that a process the
		// app left behind keeps going.
		n, err := unix.Poll(fds[:len(srcs)], 100)
		if errors.Is(err, unix.EINTR) || n == 0 {
			continue
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "previewshim: poll the app's output: %v\n", err)
			return
		}
		open := srcs[:0]
		for i, s := range srcs {
			if fds[i].Revents == 0 {
				open = append(open, s)
				continue
			}
			n, err := unix.Read(s.fd, buf)
			if n > 0 && s.framed != nil {
				s.rest = p.pushFrames(append(s.rest, buf[:n]...), s.framed)
			} else if n > 0 {
				p.push(outputChunk{s.src, s.dst, bytes.Clone(buf[:n])})
			}
			if n == 0 || err != nil && !errors.Is(err, unix.EINTR) && !errors.Is(err, unix.EAGAIN) {
				unix.Close(s.fd) // at its end
				continue
			}
			open = append(open, s)
		}
		srcs = open
	}
}

// pushFrames queues the data of each whole frame in b and returns what is
// left of b: the start of a frame still being read. A malformed frame (not
// written by a hook) goes to stderr as it is, so nothing is lost.
func (p *outputPacer) pushFrames(b []byte, dsts []io.Writer) []byte {
	for len(b) >= frameHeader {
		stream, size := int(b[0]), int(b[1])<<8|int(b[2])
		if stream < 1 || stream > len(dsts) || size > maxFrameSize-frameHeader {
			p.push(outputChunk{len(dsts) - 1, dsts[len(dsts)-1], bytes.Clone(b)})
			return nil
		}
		if len(b) < frameHeader+size {
			break
		}
		p.push(outputChunk{stream - 1, dsts[stream-1], bytes.Clone(b[frameHeader : frameHeader+size])})
		b = b[frameHeader+size:]
	}
	return bytes.Clone(b)
}

// push queues c, first waiting for room: the app's writes block meanwhile.
// A chunk of the same stream as the last one queued joins it, so that a run
// of one-line frames is written as one.
func (p *outputPacer) push(c outputChunk) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.queued >= p.maxQueued {
		p.cond.Wait()
	}
	if n := len(p.queue); n > 0 && p.queue[n-1].src == c.src && len(p.queue[n-1].b) < outputReadSize {
		p.queue[n-1].b = append(p.queue[n-1].b, c.b...)
	} else {
		p.queue = append(p.queue, c)
	}
	p.queued += len(c.b)
	p.cond.Broadcast()
}

// write writes the queue out in order, at most chunkLines lines at a time,
// each after the limiter's wait.
func (p *outputPacer) write() {
	defer close(p.done)
	var last io.Writer
	lastSrc := -1
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.read {
			p.cond.Wait()
		}
		if len(p.queue) == 0 {
			p.mu.Unlock()
			return
		}
		c := &p.queue[0]
		part, lines := cutLines(c.b, p.chunkLines)
		dst, src := c.dst, c.src
		if c.b = c.b[len(part):]; len(c.b) == 0 {
			p.queue[0] = outputChunk{}
			p.queue = p.queue[1:]
		}
		p.queued -= len(part)
		p.cond.Broadcast()
		p.mu.Unlock()
		if lines > 0 {
			p.lim.wait(lines)
		}
		if lastSrc >= 0 && src != lastSrc {
			handoff(last)
		}
		last, lastSrc = dst, src
		// A failed write to the engine's log cannot be reported anywhere
		// better than it; go on so that the app is not blocked for good.
		_, _ = dst.Write(part)
	}
}

// finish is called once the app has exited: it lets the read loop reach
// the end of the pipes for up to grace (a process the app left behind may
// hold them), and returns once what was read is written, at the pace.
func (p *outputPacer) finish(grace time.Duration) {
	t := time.AfterFunc(grace, func() { p.stop.Store(true) })
	<-p.done
	t.Stop()
}

// handoff waits, up to handoffWait, until the engine has read what was
// written to w, a pipe. The engine reads the container's stdout and stderr
// each on its own and stamps a line when it reads it: a line written to the
// other stream before it has read this one could be stamped first. Writers
// that are not pipes pass at once.
func handoff(w io.Writer) {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return
	}
	deadline := time.Now().Add(handoffWait)
	for {
		n, err := unix.IoctlGetInt(int(f.Fd()), unix.SIOCINQ) // FIONREAD: bytes in the pipe
		if err != nil || time.Now().After(deadline) {
			return
		}
		if n == 0 {
			time.Sleep(handoffSettle)
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// cutLines returns the start of b up to and including its n-th newline (all
// of b if it has fewer), and how many newlines that holds.
func cutLines(b []byte, n int) ([]byte, int) {
	end, lines := 0, 0
	for lines < n {
		i := bytes.IndexByte(b[end:], '\n')
		if i < 0 {
			return b, lines
		}
		end += i + 1
		lines++
	}
	return b[:end], lines
}
