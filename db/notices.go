package db

import (
	"fmt"
	"sync"
	"time"

	"github.com/lib/pq"
)

// logChannel is the PostgreSQL notification channel on which AppendLogs
// announces stored lines; the payload is the preview's id.
const logChannel = "previewd_logs"

// LogNotices tells log streams that lines of their preview were stored, by
// any previewd on the same database: each AppendLogs sends a notification
// (PostgreSQL LISTEN/NOTIFY, delivered at commit), and LogNotices listens on
// one connection of its own. A stream waits on its preview's channel instead
// of reading the store on a timer.
type LogNotices struct {
	listener *pq.Listener

	mu      sync.Mutex
	waiters map[string]map[chan struct{}]struct{} // preview id → wake channels
	done    chan struct{}
}

// ListenLogs connects to the database at url and listens for stored lines.
// The connection is re-established by itself when it drops; every waiter is
// woken then, since notices sent in between are lost.
func ListenLogs(url string) (*LogNotices, error) {
	n := &LogNotices{waiters: map[string]map[chan struct{}]struct{}{}, done: make(chan struct{})}
	n.listener = pq.NewListener(url, 100*time.Millisecond, 10*time.Second, nil)
	if err := n.listener.Listen(logChannel); err != nil {
		n.listener.Close()
		return nil, fmt.Errorf("listen for stored log lines: %w", err)
	}
	go n.run()
	return n, nil
}

func (n *LogNotices) run() {
	defer close(n.done)
	for note := range n.listener.Notify {
		if note == nil {
			// The connection was re-established: what was sent while it
			// was down is lost, so everyone reads the store.
			n.wakeAll()
			continue
		}
		n.wake(note.Extra)
	}
}

// Wait returns a channel that receives (without blocking the sender) each
// time lines of the preview are stored, and a func that stops the waiting.
func (n *LogNotices) Wait(previewID string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	n.mu.Lock()
	set := n.waiters[previewID]
	if set == nil {
		set = map[chan struct{}]struct{}{}
		n.waiters[previewID] = set
	}
	set[ch] = struct{}{}
	n.mu.Unlock()
	return ch, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		delete(set, ch)
		if len(set) == 0 {
			delete(n.waiters, previewID)
		}
	}
}

func (n *LogNotices) wake(previewID string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.waiters[previewID] {
		signal(ch)
	}
}

func (n *LogNotices) wakeAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, set := range n.waiters {
		for ch := range set {
			signal(ch)
		}
	}
}

// signal wakes a waiter once; a wake-up already pending stands for this one.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Close stops listening and waits for the listener's goroutine.
func (n *LogNotices) Close() error {
	err := n.listener.Close()
	<-n.done
	return err
}
