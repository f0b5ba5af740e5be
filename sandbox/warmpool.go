package sandbox

import (
	"context"
	"sort"
	"time"
)

// warmMember is one pooled container. in has its id, port, run directory and
// forwarder, but no generation until a launch claims it.
type warmMember struct {
	in      *instance
	image   string
	runtime string
	ready   bool
	cancel  context.CancelFunc // ends its watchers once claimed or removed
}

// warmPool is guarded by Manager.mu.
type warmPool struct {
	size     int
	idle     map[string][]*warmMember // by image
	byID     map[string]*warmMember
	demand   map[string]warmDemand // dependency image → its last launch
	failedAt map[string]time.Time  // image → when its last warm container failed
	kick     chan struct{}
}

type warmDemand struct {
	runtime string
	at      time.Time
}

func newWarmPool(size int) *warmPool {
	return &warmPool{
		size: size, idle: map[string][]*warmMember{}, byID: map[string]*warmMember{},
		demand: map[string]warmDemand{}, failedAt: map[string]time.Time{},
		kick: make(chan struct{}, 1),
	}
}

func (p *warmPool) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// take removes wm from the pool's lists.
func (p *warmPool) take(wm *warmMember) {
	delete(p.byID, wm.in.rec.ID)
	list := p.idle[wm.image]
	for i, x := range list {
		if x == wm {
			p.idle[wm.image] = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(p.idle[wm.image]) == 0 {
		delete(p.idle, wm.image)
	}
}

// warmTarget is how many warm containers of an image the pool keeps.
type warmTarget struct {
	image, runtime string
	n              int
}

// targets lists what the pool should hold now: size containers of each
// runtime image, and one of each dependency image launched recently.
func (p *warmPool) targets(images map[string]string, now time.Time) []warmTarget {
	var out []warmTarget
	for _, runtime := range sortedKeys(images) {
		if _, ok := preloaders[runtime]; ok {
			out = append(out, warmTarget{image: images[runtime], runtime: runtime, n: p.size})
		}
	}
	var recent []string
	for image, d := range p.demand {
		if now.Sub(d.at) > warmDemandWindow {
			delete(p.demand, image)
			continue
		}
		recent = append(recent, image)
	}
	// The most recently launched first, no more of them than size.
	sort.Slice(recent, func(i, j int) bool { return p.demand[recent[i]].at.After(p.demand[recent[j]].at) })
	if len(recent) > p.size {
		recent = recent[:p.size]
	}
	for _, image := range recent {
		out = append(out, warmTarget{image: image, runtime: p.demand[image].runtime, n: 1})
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
