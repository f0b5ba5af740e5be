package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/go-units"
)

// naive is what a preview runner without previewd's work does: create a
// container from the runtime image with the app's command, copy the files
// in, start it, and poll its address until the app answers. It has the same
// memory and CPU caps as a preview, and the default bridge network, which is
// how the host reaches it.
type naive struct {
	c *client.Client
}

func newNaive() (path, func(), error) {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, nil, err
	}
	return &naive{c: c}, func() { c.Close() }, nil
}

func (*naive) name() string { return "naive" }

func (p *naive) launch(ctx context.Context, a app) (time.Duration, func(), error) {
	start := time.Now()
	memory := int64(256 * units.MiB)
	resp, err := p.c.ContainerCreate(ctx, &container.Config{
		Image:      a.image,
		Entrypoint: a.plan.Command,
		User:       "10001:10001",
		WorkingDir: "/app",
		Env:        []string{"PORT=8000", "HOST=0.0.0.0"},
		Labels:     map[string]string{"io.previewd.bench": "naive"},
	}, &container.HostConfig{
		Resources: container.Resources{Memory: memory, MemorySwap: memory, NanoCPUs: 500_000_000},
	}, nil, nil, "")
	if err != nil {
		return 0, nil, err
	}
	cleanup := func() {
		p.c.ContainerRemove(context.Background(), resp.ID, container.RemoveOptions{Force: true})
	}
	archive, err := tarOf(a.files)
	if err != nil {
		return 0, cleanup, err
	}
	if err := p.c.CopyToContainer(ctx, resp.ID, "/app", archive, container.CopyToContainerOptions{}); err != nil {
		return 0, cleanup, err
	}
	if err := p.c.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		return 0, cleanup, err
	}
	info, err := p.c.ContainerInspect(ctx, resp.ID)
	if err != nil {
		return 0, cleanup, err
	}
	ip := info.NetworkSettings.IPAddress
	if ip == "" {
		return 0, cleanup, fmt.Errorf("container has no bridge address")
	}
	if err := pollHTTP(ctx, "http://"+ip+":8000/", 60*time.Second); err != nil {
		return 0, cleanup, err
	}
	return time.Since(start), cleanup, nil
}

// tarOf archives files, readable by the container's user.
func tarOf(files map[string][]byte) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Uid: 10001, Gid: 10001}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(body); err != nil {
			return nil, err
		}
	}
	return &buf, tw.Close()
}

// pollHTTP asks url every 10 ms until anything answers, as previewd's own
// health check does.
func pollHTTP(ctx context.Context, url string, limit time.Duration) error {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		} else if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("no answer from %s within %s: %w", url, limit, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
