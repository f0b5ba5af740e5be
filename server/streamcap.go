package server

import (
	"fmt"
	"net/http"
	"sync"
)

// streamCaps counts this process's open log streams by user and by preview
// and refuses one past either cap: each stream holds a goroutine and polls
// or follows a log, and a few hundred of them slow every other request.
type streamCaps struct {
	perUser, perPreview int // 0 is no cap

	mu       sync.Mutex
	users    map[string]int
	previews map[string]int
}

func newStreamCaps(perUser, perPreview int) *streamCaps {
	return &streamCaps{perUser: perUser, perPreview: perPreview, users: map[string]int{}, previews: map[string]int{}}
}

// acquire takes a stream slot of user and preview; call release when the
// stream ends.
func (c *streamCaps) acquire(user, preview string) (release func(), err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.perPreview > 0 && c.previews[preview] >= c.perPreview {
		return nil, tooManyStreams(fmt.Sprintf("this preview has %d log streams open already; close one first", c.perPreview))
	}
	if c.perUser > 0 && c.users[user] >= c.perUser {
		return nil, tooManyStreams(fmt.Sprintf("you have %d log streams open already; close one first", c.perUser))
	}
	c.users[user]++
	c.previews[preview]++
	var once sync.Once
	return func() { once.Do(func() { c.release(user, preview) }) }, nil
}

func (c *streamCaps) release(user, preview string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.users[user]--; c.users[user] <= 0 {
		delete(c.users, user)
	}
	if c.previews[preview]--; c.previews[preview] <= 0 {
		delete(c.previews, preview)
	}
}

func tooManyStreams(msg string) *apiError {
	return &apiError{status: http.StatusTooManyRequests, code: "too_many_requests", message: msg}
}
