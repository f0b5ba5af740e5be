package sandbox

import (
	"reflect"
	"testing"
	"time"
)

func TestWarmTargets(t *testing.T) {
	now := time.Now()
	p := newWarmPool(2)
	p.demand = map[string]warmDemand{
		"previewd/deps-python:old":    {runtime: "python", at: now.Add(-warmDemandWindow - time.Second)},
		"previewd/deps-python:recent": {runtime: "python", at: now.Add(-time.Minute)},
		"previewd/deps-node:newest":   {runtime: "node", at: now.Add(-time.Second)},
		"previewd/deps-python:third":  {runtime: "python", at: now.Add(-2 * time.Minute)},
	}
	images := map[string]string{"python": "py:latest", "node": "node:latest", "ruby": "ruby:latest"}
	got := p.targets(images, now)
	want := []warmTarget{
		{image: "node:latest", runtime: "node", n: 2},
		{image: "py:latest", runtime: "python", n: 2},
		// Recent dependency images, newest first, no more of them than the
		// pool size; a runtime with no preloader gets none.
		{image: "previewd/deps-node:newest", runtime: "node", n: 1},
		{image: "previewd/deps-python:recent", runtime: "python", n: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("targets =\n  %+v\nwant\n  %+v", got, want)
	}
	if _, ok := p.demand["previewd/deps-python:old"]; ok {
		t.Errorf("demand older than the window was kept")
	}
}

func TestRestartBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 5: 16 * time.Second, 6: 30 * time.Second, 10: 30 * time.Second} {
		if got := restartBackoff(n); got != want {
			t.Errorf("restartBackoff(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestWarmable(t *testing.T) {
	for env, want := range map[string]bool{"DEBUG": true, "PYTHONPATH": false, "NODE_OPTIONS": false, "LD_PRELOAD": false, "APP_NODE_X": true} {
		if got := warmable(map[string]string{env: "1"}); got != want {
			t.Errorf("warmable(%s) = %v, want %v", env, got, want)
		}
	}
}
