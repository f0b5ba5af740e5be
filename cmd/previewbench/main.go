// Command previewbench measures time to first HTTP answer, in one process and
// one run, four ways: the naive Docker path (create a container, copy the
// files in, start it, poll), the app as a plain subprocess with no container,
// previewd with an empty warm pool (cold) and previewd with a ready pool
// (warm). Each launch is timed from its request to the app's first answer;
// it prints p50/p95/p99 per path and framework and the ratio to the naive
// path.
//
// It needs root, the Docker engine, the runtime images (make images) and
// PostgreSQL's binaries (a throwaway cluster is started and removed).
//
//	go run ./cmd/previewbench -n 30
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/previewd/previewd/sandbox/framework"
)

const (
	pythonImage = "previewd/runtime-python:latest"
	nodeImage   = "previewd/runtime-node:latest"
)

// app is one sample app to launch.
type app struct {
	name  string
	files map[string][]byte
	plan  framework.Plan
	image string
}

// path is one way of getting an app to answer.
type path interface {
	name() string
	// launch starts a and returns how long until its first HTTP answer,
	// and a function that removes what it started.
	launch(ctx context.Context, a app) (time.Duration, func(), error)
}

func main() {
	n := flag.Int("n", 30, "launches of each framework on each path")
	fws := flag.String("frameworks", "fastapi,flask,express", "sample apps (testdata/samples/<name>) to launch")
	only := flag.String("paths", "naive,subprocess,cold,warm", "paths to measure")
	samples := flag.String("samples", "testdata/samples", "directory of the sample apps")
	flag.StringVar(&treeDir, "trees", filepath.Join(os.TempDir(), "previewd-trees"),
		"where previewd unpacks the runtime images' trees; empty: previews read the images' own files")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *n, strings.Split(*fws, ","), strings.Split(*only, ","), *samples, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "previewbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, n int, fws, only []string, samples string, out io.Writer) error {
	apps := make([]app, 0, len(fws))
	for _, fw := range fws {
		a, err := loadApp(filepath.Join(samples, fw))
		if err != nil {
			return err
		}
		apps = append(apps, a)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	var paths []path
	var closers []func()
	defer func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}()
	for _, name := range only {
		var p path
		var closeFn func()
		var err error
		switch name {
		case "naive":
			p, closeFn, err = newNaive()
		case "subprocess":
			p, closeFn, err = newSubprocess(ctx, apps)
		case "cold":
			p, closeFn, err = newPreviewd(ctx, "cold", 0, log)
		case "warm":
			p, closeFn, err = newPreviewd(ctx, "warm", 1, log)
		default:
			return fmt.Errorf("unknown path %q (naive, subprocess, cold, warm)", name)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		paths = append(paths, p)
		closers = append(closers, closeFn)
	}

	results := map[string]map[string][]time.Duration{} // path → app → samples
	for _, p := range paths {
		results[p.name()] = map[string][]time.Duration{}
		for _, a := range apps {
			fmt.Fprintf(os.Stderr, "%s %s: ", p.name(), a.name)
			for i := 0; i < n; i++ {
				d, cleanup, err := p.launch(ctx, a)
				if cleanup != nil {
					cleanup()
				}
				if err != nil {
					return fmt.Errorf("%s %s launch %d: %w", p.name(), a.name, i+1, err)
				}
				results[p.name()][a.name] = append(results[p.name()][a.name], d)
				fmt.Fprint(os.Stderr, ".")
			}
			fmt.Fprintln(os.Stderr)
		}
	}
	printTable(out, n, paths, apps, results)
	return nil
}

// loadApp reads a sample app and plans it the way previewd does.
func loadApp(dir string) (app, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		return app{}, err
	}
	plan, err := framework.Detect(files, framework.Auto)
	if err != nil {
		return app{}, fmt.Errorf("%s: %w", dir, err)
	}
	image := pythonImage
	if plan.Runtime == framework.RuntimeNode {
		image = nodeImage
	}
	return app{name: filepath.Base(dir), files: files, plan: plan, image: image}, nil
}

// quantile is the nearest-rank q-quantile of sorted samples.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }

func printTable(out io.Writer, n int, paths []path, apps []app, results map[string]map[string][]time.Duration) {
	fmt.Fprintf(out, "time to first HTTP answer, %d launches each (ms)\n", n)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "path\tapp\tp50\tp95\tp99\tp50/naive\tp99/naive\t")
	for _, p := range paths {
		for _, a := range apps {
			s := slices.Clone(results[p.name()][a.name])
			sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
			p50, p95, p99 := quantile(s, 0.50), quantile(s, 0.95), quantile(s, 0.99)
			r50, r99 := "-", "-"
			if naive := slices.Clone(results["naive"][a.name]); len(naive) > 0 {
				sort.Slice(naive, func(i, j int) bool { return naive[i] < naive[j] })
				r50 = fmt.Sprintf("%.2f", float64(p50)/float64(quantile(naive, 0.5)))
				r99 = fmt.Sprintf("%.2f", float64(p99)/float64(quantile(naive, 0.99)))
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", p.name(), a.name, ms(p50), ms(p95), ms(p99), r50, r99)
		}
	}
	w.Flush()

	fmt.Fprintln(out, "\npreviewd's timings_ms, median per phase")
	w = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	phases := []string{"prepare", "build", "start", "healthy", "total"}
	fmt.Fprintln(w, "path\tapp\t"+strings.Join(phases, "\t")+"\t")
	for _, p := range paths {
		pd, ok := p.(*previewd)
		if !ok {
			continue
		}
		for _, a := range apps {
			fmt.Fprintf(w, "%s\t%s\t", p.name(), a.name)
			for _, phase := range phases {
				v := slices.Clone(pd.phases[a.name][phase])
				slices.Sort(v)
				median := int64(0)
				if len(v) > 0 {
					median = v[(len(v)-1)/2]
				}
				fmt.Fprintf(w, "%d\t", median)
			}
			fmt.Fprintln(w)
		}
	}
	w.Flush()
}
