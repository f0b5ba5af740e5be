// Package browser renders a page in a headless Chromium that it starts once
// and keeps, and reports what the page's own browser saw: console errors
// and warnings, uncaught exceptions, requests that failed, and a PNG
// screenshot. Each page is rendered in a fresh incognito browser context
// (no cookies, storage or cache shared with another page), with hard limits
// on time and on the JavaScript heap.
package browser

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Options configure the browser.
type Options struct {
	// ExecPath is Chromium's binary.
	ExecPath string
	// PageTimeout bounds one page, from the first request to the
	// screenshot; 0 is DefaultPageTimeout.
	PageTimeout time.Duration
	// HeapMB caps the JavaScript heap of a page; 0 is DefaultHeapMB.
	HeapMB int
	// RecycleAfter restarts the browser after that many pages, so that
	// whatever the browser process keeps does not grow without end; 0 is
	// DefaultRecycleAfter.
	RecycleAfter int
	// HostRules is Chromium's --host-resolver-rules, e.g. "MAP
	// *.preview.localhost 127.0.0.1"; empty leaves resolving alone.
	HostRules string
	// Width and Height are the viewport's; 0 takes 1280×800.
	Width, Height int
	// MemoryMB and Pids cap the browser's processes together, in a cgroup
	// of their own; 0 takes DefaultMemoryMB and DefaultPids.
	MemoryMB, Pids int
}

// Defaults of Options.
const (
	DefaultPageTimeout  = 10 * time.Second
	DefaultHeapMB       = 128
	DefaultRecycleAfter = 100
	DefaultMemoryMB     = 512
	DefaultPids         = 512
	// settleQuiet is how long no request may be under way before the page
	// counts as rendered, after its load event; settleMax bounds that wait.
	settleQuiet = 150 * time.Millisecond
	settleMax   = 2 * time.Second
	// maxEntries bounds each list of a Page.
	maxEntries = 100
	// maxText bounds one message's text.
	maxText = 2000
)

// ErrUnavailable means there is no Chromium to run.
var ErrUnavailable = errors.New("no chromium on this host")

// Find returns the path of Chromium's binary: path itself when it is not
// empty, else the first of chromium, chromium-browser, google-chrome on
// PATH.
func Find(path string) (string, error) {
	if path != "" {
		return exec.LookPath(path)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrUnavailable
}

// ConsoleMessage is a console call (or a browser message) of level error or
// warning.
type ConsoleMessage struct {
	Level string `json:"level"` // "error" or "warning"
	Text  string `json:"text"`
	URL   string `json:"url,omitempty"`
	Line  int    `json:"line,omitempty"` // 1-based
}

// Exception is an uncaught exception of the page's scripts.
type Exception struct {
	Message string `json:"message"`
	URL     string `json:"url,omitempty"`
	Line    int    `json:"line,omitempty"` // 1-based
	Column  int    `json:"column,omitempty"`
	Stack   string `json:"stack,omitempty"`
}

// FailedRequest is a request that got a status of 400 or more, or no
// answer (blocked, refused, cancelled).
type FailedRequest struct {
	URL    string `json:"url"`
	Method string `json:"method"`
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Page is what rendering one page found.
type Page struct {
	URL            string           `json:"url"`
	Status         int              `json:"status"` // of the document; 0 when it did not load
	Title          string           `json:"title"`
	DurationMS     float64          `json:"duration_ms"`
	Error          string           `json:"error,omitempty"` // the page could not be rendered
	Console        []ConsoleMessage `json:"console"`
	Exceptions     []Exception      `json:"exceptions"`
	FailedRequests []FailedRequest  `json:"failed_requests"`
	Screenshot     []byte           `json:"-"` // PNG of the viewport
}

// Browser is one Chromium process, started on the first page and kept.
// Its methods are safe to call from several goroutines.
type Browser struct {
	opts Options

	mu        sync.Mutex
	ctx       context.Context // the browser's first tab: alive while the browser is
	cancel    context.CancelFunc
	pages     int             // rendered since the browser started
	users     *sync.WaitGroup // pages being rendered on the current browser
	closed    bool
	spare     *spareTab // a tab in a fresh incognito context, ready for the next page
	preparing bool      // a spare is being made
	// background counts what runs on its own: browsers being retired,
	// spares being made, tabs being closed.
	background sync.WaitGroup
	// cg is the cgroup every browser this Browser starts runs in, made
	// with the first; capErr says why there is none.
	cg     *cgroup
	capErr error
}

// spareTab is a tab made ahead of the page it will render: opening a tab in
// a new browser context is most of a page's time on a busy machine.
type spareTab struct {
	browser context.Context // the browser it belongs to
	ctx     context.Context
	close   context.CancelFunc
}

// New returns a browser that starts Chromium at opts.ExecPath when a page
// is first rendered.
func New(opts Options) *Browser {
	if opts.PageTimeout <= 0 {
		opts.PageTimeout = DefaultPageTimeout
	}
	if opts.HeapMB <= 0 {
		opts.HeapMB = DefaultHeapMB
	}
	if opts.RecycleAfter <= 0 {
		opts.RecycleAfter = DefaultRecycleAfter
	}
	if opts.Width <= 0 || opts.Height <= 0 {
		opts.Width, opts.Height = 1280, 800
	}
	if opts.MemoryMB <= 0 {
		opts.MemoryMB = DefaultMemoryMB
	}
	if opts.Pids <= 0 {
		opts.Pids = DefaultPids
	}
	return &Browser{opts: opts}
}

// Close ends the browser process. Pages being rendered fail.
func (b *Browser) Close() {
	b.mu.Lock()
	b.closed = true
	cancel, spare := b.cancel, b.spare
	b.ctx, b.cancel, b.spare = nil, nil, nil
	b.mu.Unlock()
	if spare != nil {
		spare.close()
	}
	if cancel != nil {
		cancel()
	}
	b.background.Wait()
	b.mu.Lock()
	cg := b.cg
	b.cg = nil
	b.mu.Unlock()
	if cg != nil {
		// The browser's last processes may take a moment to be reaped.
		for i := 0; cg.remove() != nil && i < 50; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// Cap says how the browser's memory and processes are capped: the cgroup
// and its limits, or why there is no cap. It is known once the browser has
// started (Warm, or the first page).
func (b *Browser) Cap() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.cg != nil:
		return b.cg.desc
	case b.capErr != nil:
		return "none: " + b.capErr.Error()
	}
	return "not started"
}

// Warm starts the browser and makes a spare tab, so that the first page
// does not wait for them.
func (b *Browser) Warm() error {
	bctx, release, err := b.acquire()
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.pages-- // not a page
	b.mu.Unlock()
	release()
	b.prepareSpare(bctx)
	return nil
}

// newTab opens a tab in a new incognito browser context of the browser bctx.
func newTab(bctx context.Context) (context.Context, context.CancelFunc, error) {
	tab, closeTab := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(tab); err != nil {
		closeTab()
		return nil, nil, fmt.Errorf("open a tab: %w", err)
	}
	return tab, closeTab, nil
}

// takeTab returns the spare tab when it belongs to browser bctx, or a new tab.
func (b *Browser) takeTab(bctx context.Context) (context.Context, context.CancelFunc, error) {
	b.mu.Lock()
	sp := b.spare
	b.spare = nil
	b.mu.Unlock()
	if sp != nil {
		if sp.browser == bctx && sp.ctx.Err() == nil {
			return sp.ctx, sp.close, nil
		}
		sp.close()
	}
	return newTab(bctx)
}

// prepareSpare makes a spare tab for browser bctx in the background, unless
// there is one.
func (b *Browser) prepareSpare(bctx context.Context) {
	b.mu.Lock()
	if b.closed || b.preparing || b.spare != nil || b.ctx != bctx {
		b.mu.Unlock()
		return
	}
	b.preparing = true
	b.background.Add(1)
	b.mu.Unlock()
	go func() { // ends once the tab is open, or its browser is gone
		defer b.background.Done()
		ctx, closeTab, err := newTab(bctx)
		b.mu.Lock()
		b.preparing = false
		keep := err == nil && !b.closed && b.ctx == bctx
		if keep {
			b.spare = &spareTab{browser: bctx, ctx: ctx, close: closeTab}
		}
		b.mu.Unlock()
		if err == nil && !keep {
			closeTab()
		}
	}()
}

// closeInBackground closes a used tab without making the page wait for it.
func (b *Browser) closeInBackground(closeTab context.CancelFunc) {
	b.background.Add(1)
	go func() {
		defer b.background.Done()
		closeTab()
	}()
}

// acquire returns the running browser's context, starting one when there
// is none (or the last one died), and a release to call when the page is
// done.
func (b *Browser) acquire() (context.Context, func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, nil, errors.New("the browser is closed")
	}
	if b.ctx != nil && (b.ctx.Err() != nil || b.pages >= b.opts.RecycleAfter) {
		b.retire()
	}
	if b.ctx == nil {
		if err := b.start(); err != nil {
			return nil, nil, err
		}
	}
	b.pages++
	users := b.users
	users.Add(1)
	return b.ctx, users.Done, nil
}

// retire lets the current browser finish its pages and then ends it; b.mu
// is held.
func (b *Browser) retire() {
	cancel, users, spare := b.cancel, b.users, b.spare
	b.ctx, b.cancel, b.users, b.spare = nil, nil, nil, nil
	b.background.Add(1)
	go func() { // ends once the old browser's pages are done
		defer b.background.Done()
		if spare != nil {
			spare.close()
		}
		users.Wait()
		cancel()
	}()
}

// start launches Chromium; b.mu is held.
func (b *Browser) start() error {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(b.opts.ExecPath),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.WindowSize(b.opts.Width, b.opts.Height),
		chromedp.Flag("js-flags", fmt.Sprintf("--max-old-space-size=%d", b.opts.HeapMB)),
		chromedp.Flag("renderer-process-limit", "4"),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,InterestFeedContentSuggestions"),
		chromedp.Flag("mute-audio", true),
	)
	if os.Geteuid() == 0 {
		// Chromium's own sandbox cannot start as root.
		opts = append(opts, chromedp.NoSandbox)
	}
	if b.opts.HostRules != "" {
		opts = append(opts, chromedp.Flag("host-resolver-rules", b.opts.HostRules))
	}
	if b.cg == nil && b.capErr == nil {
		b.cg, b.capErr = newCgroup(b.opts.MemoryMB, b.opts.Pids)
	}
	if b.cg != nil {
		opts = append(opts, chromedp.ModifyCmdFunc(b.cg.wrap))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// The first Run starts the browser; it must not carry a timeout, which
	// would end the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		return fmt.Errorf("start chromium: %w", err)
	}
	b.ctx = ctx
	b.cancel = func() {
		cancelCtx()
		cancelAlloc()
	}
	b.pages = 0
	b.users = &sync.WaitGroup{}
	return nil
}

// Render loads url in a fresh incognito context, waits until its load
// event and a moment without requests, and reports what happened, with a
// screenshot. cookie, when not nil, is set for url's origin before the
// page loads (HttpOnly: the page's scripts do not see it), and goes only
// with the requests to that origin. The page's own failures are in the
// Page; an error means the browser itself failed.
func (b *Browser) Render(ctx context.Context, url string, cookie *http.Cookie) (Page, error) {
	start := time.Now()
	bctx, release, err := b.acquire()
	if err != nil {
		return Page{}, err
	}
	defer release()
	tab, closeTab, err := b.takeTab(bctx)
	if err != nil {
		return Page{}, err
	}
	// The tab and its browser context go once the page is done; then the
	// next page's tab is made.
	defer b.prepareSpare(bctx)
	defer b.closeInBackground(closeTab)
	ctx, cancel := context.WithTimeout(ctx, b.opts.PageTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, closeTab)
	defer stop()

	rec := newRecorder()
	if err := chromedp.Listen(tab, rec.event); err != nil {
		return Page{}, fmt.Errorf("open a tab: %w", err)
	}
	page := Page{URL: url}
	if cookie != nil {
		setCookie := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, network.SetCookie, network.SetCookieParams{
				Name: cookie.Name, Value: cookie.Value, URL: url, Path: "/", HTTPOnly: ptr(true)})
			return err
		})
		if err := chromedp.Do(tab, setCookie); err != nil {
			return Page{}, fmt.Errorf("set the cookie: %w", err)
		}
	}
	resp, navErr := chromedp.RunResponse(tab, chromedp.Navigate(url))
	if resp != nil {
		page.Status = int(resp.Status)
	}
	if navErr != nil {
		page.Error = "the page did not load: " + navErr.Error()
		if ctx.Err() != nil {
			page.Error = fmt.Sprintf("the page did not load within %s", b.opts.PageTimeout)
		}
	} else {
		rec.settle(ctx)
		if title, err := chromedp.Run(tab, chromedp.Title()); err == nil {
			page.Title = title
		}
		if png, err := chromedp.Run(tab, chromedp.CaptureScreenshot()); err == nil {
			page.Screenshot = png
		} else if ctx.Err() != nil {
			page.Error = fmt.Sprintf("the page did not render within %s", b.opts.PageTimeout)
		}
	}
	page.Console, page.Exceptions, page.FailedRequests = rec.results()
	page.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	return page, nil
}
