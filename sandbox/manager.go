// Package sandbox runs previews: throwaway, hardened sandboxes on pooled host
// ports, built from previewd's runtime images. It holds their lifecycle and
// talks to the engine that runs them through a backend.Backend.
package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/backend"
	"github.com/previewd/previewd/sandbox/cause"
)

// Records is what the sandbox needs from the store.
type Records interface {
	GenerationFiles(ctx context.Context, id string, revision int) ([]db.File, error)
	InsertPreview(ctx context.Context, p *db.Preview, session db.Session) error
	CreateSession(ctx context.Context, session db.Session) error
	Preview(ctx context.Context, id string) (db.Preview, error)
	LivePreview(ctx context.Context, generationID string) (db.Preview, error)
	LivePreviews(ctx context.Context, runnerID string) ([]db.Preview, error)
	SetPreviewContainer(ctx context.Context, id, containerID, image string, rt db.Runtime) error
	MarkPreviewRunning(ctx context.Context, id string, timings db.Timings) (db.Preview, error)
	RecordRestart(ctx context.Context, id string) (int, error)
	SetOOMKills(ctx context.Context, id string, n int) error
	FinishPreview(ctx context.Context, id string, f db.Finish) (bool, error)
	MissingPreviews(ctx context.Context, ids []string) ([]string, error)
	DeleteGeneration(ctx context.Context, owner, id string) error
	AppendLogs(ctx context.Context, lines []db.LogLine) error
	LastLogSeq(ctx context.Context, previewID string) (int64, error)
	DeleteLogs(ctx context.Context, previewID string, through int64) (int64, error)
	LogSegments(ctx context.Context, previewID string, width int64) ([]db.LogSegment, error)
	OutputEnds(ctx context.Context, previewID string) ([]db.OutputEnd, error)
	SetPreviewReloading(ctx context.Context, id string, rev int) error
	RecordReload(ctx context.Context, id string, rev int) error
	RecordReloadFailure(ctx context.Context, id string, f db.ReloadFailure) error
	EndReload(ctx context.Context, id string) error
}

var _ Records = (*db.Store)(nil)

// ErrCapacity means no preview can start now: no free port, or the concurrent
// preview limit is reached.
var ErrCapacity = errors.New("capacity exhausted")

// ErrCapsTooHigh means a launch asked for more than the server's maxima.
var ErrCapsTooHigh = errors.New("requested resources exceed the server's maxima")

// Config configures the Manager.
type Config struct {
	RunnerID string
	Host     string            // address the pooled ports are bound on
	RunRoot  string            // host directory of the dependency installs' directories
	Images   map[string]string // runtime name ("python", "node") → its default image reference
	// Runtimes are, by runtime name, more images an app may run on: one
	// whose framework versions satisfy the app's constraints is picked
	// (see runtimes.go). Images' own entry need not be listed.
	Runtimes       map[string][]string
	Defaults       Caps
	Max            Caps
	MaxPreviews    int
	StartTimeout   time.Duration
	MaxUptime      time.Duration
	IdleTimeout    time.Duration // a running preview with no proxied request for this long expires; 0 disables
	SweepEvery     time.Duration // how often orphan containers are looked for
	OrphanGrace    time.Duration // how old an unclaimed container must be to be removed
	SessionTimeout time.Duration
	StopGrace      time.Duration
	WorkdirMB      int
	TmpMB          int
	LogMaxBytes    int64
	NoFile         int64
	LogMaxLines    int   // stored log lines per preview; 0 means 100,000
	LogStoreBytes  int64 // stored log bytes per preview; 0 means 20 MiB
	// WarmPool is how many warm containers to keep per runtime image; 0
	// turns the warm pool off.
	WarmPool int
	// OutputLinesPerSec paces each preview's output (stdout and stderr
	// together) in its container: an app printing faster is slowed down.
	// 0 leaves it unpaced.
	OutputLinesPerSec int
	// Fault, when set, is asked before each container step ("create",
	// "start", "health") and fails that step with its error. Tests use it to
	// prove that every failure path cleans up; it is nil in production.
	Fault func(step string) error
	// StartCPUs is the CPU cap a preview starts with, until its app first
	// answers (or, in the warm pool, while it waits); then its own cap
	// applies. 0, or less than the preview's cap, means no boost.
	StartCPUs float64
	// Deps is how dependency installs run (see depsbuild.go).
	Deps DepsConfig
}

// shortCall bounds a request/response call to the backend that the
// lifecycle makes with a context of its own.
const shortCall = 30 * time.Second

// Manager launches, watches and stops previews.
type Manager struct {
	cfg     Config
	backend backend.Backend
	records Records
	ports   *PortPool
	metrics *Metrics
	images  *imageCache
	log     *slog.Logger
	// migrations keeps Django apps' migrated databases (see migrations.go).
	migrations *migrationCache

	base   context.Context // outlives requests: launches with wait=false, watchers
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	live map[string]*instance // by preview id
	pool *warmPool            // nil when off; guarded by mu

	launching keyedMutex // by generation id
	started   time.Time  // when NewManager made this manager
}

// keyedMutex is a mutex per key, held only while someone uses it.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu    sync.Mutex
	users int
}

// lock locks key and returns its unlock.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.users++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.users--; e.users == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// NewManager returns a Manager that runs previews on b. Close it to stop its
// background work; running previews are left alone for the next start to
// adopt.
func NewManager(cfg Config, b backend.Backend, records Records, ports *PortPool, metrics *Metrics, log *slog.Logger) (*Manager, error) {
	if err := os.MkdirAll(cfg.RunRoot, 0o711); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = 30 * time.Second
	}
	// No install of this process can be as old as its timeout.
	if err := removeStaleBuilds(cfg.RunRoot, cfg.Deps.timeout()); err != nil {
		log.Warn("could not remove old build directories", "err", err)
	}
	base, cancel := context.WithCancel(context.Background())
	m := &Manager{
		cfg: cfg, backend: b, records: records, ports: ports, metrics: metrics, log: log,
		images: newImageCache(b, cfg), migrations: newMigrationCache(cfg.RunRoot),
		base: base, cancel: cancel,
		live:    map[string]*instance{},
		started: time.Now(),
	}
	if cfg.WarmPool > 0 {
		m.pool = newWarmPool(cfg.WarmPool)
	}
	metrics.setWarm(cfg.Images, m.pool)
	metrics.setPortsCapacity(ports.Size())
	return m, nil
}

// Closed says what Close left behind.
type Closed struct {
	// Previews is how many previews were left running, for the next
	// previewd with this runner id to adopt.
	Previews int
	// WarmRemoved and WarmFailed count the warm pool's unclaimed containers
	// removed, and those whose removal failed (left running).
	WarmRemoved, WarmFailed int
}

// Close stops every watcher and in-flight launch goroutine and waits for
// them. Previews keep running; the warm pool's unclaimed containers are
// removed.
func (m *Manager) Close() Closed {
	m.cancel()
	var closed Closed
	m.mu.Lock()
	for _, in := range m.live {
		in.forward.Close()
	}
	closed.Previews = len(m.live)
	m.mu.Unlock()
	closed.WarmRemoved, closed.WarmFailed = m.closePool()
	for _, in := range m.snapshot() {
		in.logs.Load().shutdown()
	}
	m.wg.Wait()
	return closed
}

// fault returns the injected failure of step, if any.
func (m *Manager) fault(step string) error {
	if m.cfg.Fault == nil {
		return nil
	}
	if err := m.cfg.Fault(step); err != nil {
		return fmt.Errorf("injected fault in %s: %w", step, err)
	}
	return nil
}

// Ping checks that the engine answers.
func (m *Manager) Ping(ctx context.Context) error { return m.backend.Ping(ctx) }

// Config returns the manager's configuration.
func (m *Manager) Config() Config { return m.cfg }

// PortRange returns the pool's first and last port and how many are free.
func (m *Manager) PortRange() (start, end, free int) {
	start, end = m.ports.Range()
	return start, end, m.ports.Size() - m.ports.InUse()
}

// LaunchRequest asks for a preview of a generation.
type LaunchRequest struct {
	Generation db.Generation
	Caps       Caps // zero fields take the defaults
	Env        map[string]string
	TTL        time.Duration // zero takes MaxUptime
	Wait       bool
	// RestartMax is how many times the app is restarted after it crashes
	// once running, with backoff, before the preview fails as a crash loop.
	RestartMax int
	// Healthy, when set, is called once the app answers and the preview is
	// recorded running. It is called on the launch's goroutine: it must
	// not block.
	Healthy func(db.Preview)
}

// Launched is the answer to a launch.
type Launched struct {
	Preview          db.Preview
	SessionToken     string
	SessionExpiresAt time.Time
	Existing         bool // the generation already had a live preview
}

// LaunchError is a launch that failed because of the app: it crashed, exited,
// was killed for memory, or did not answer in time.
type LaunchError struct {
	PreviewID string
	Reason    string
	ExitCode  *int
	OOMKilled bool
	LogTail   []string
	Cause     *cause.Cause // why, as data; nil when previewd could not tell
	// Revision is set when an update of a running preview to this
	// revision failed; the preview serves the one before.
	Revision int

	timedOut bool // the app did not answer HTTP within the start time-out
	build    bool // installing the app's dependencies failed
	conflict bool // a version the app asks for, no runtime or index has
}

func (e *LaunchError) Error() string { return "launch failed: " + e.Reason }

// ResolveCaps fills zero fields with the defaults and refuses values above the
// maxima or below sane minima.
func (m *Manager) ResolveCaps(c Caps) (Caps, error) {
	if c.MemoryMB == 0 {
		c.MemoryMB = m.cfg.Defaults.MemoryMB
	}
	if c.CPUs == 0 {
		c.CPUs = m.cfg.Defaults.CPUs
	}
	if c.Pids == 0 {
		c.Pids = m.cfg.Defaults.Pids
	}
	switch {
	case c.MemoryMB > m.cfg.Max.MemoryMB:
		return c, fmt.Errorf("%w: memory_mb %d is above the maximum %d", ErrCapsTooHigh, c.MemoryMB, m.cfg.Max.MemoryMB)
	case c.CPUs > m.cfg.Max.CPUs:
		return c, fmt.Errorf("%w: cpus %g is above the maximum %g", ErrCapsTooHigh, c.CPUs, m.cfg.Max.CPUs)
	case c.Pids > m.cfg.Max.Pids:
		return c, fmt.Errorf("%w: pids %d is above the maximum %d", ErrCapsTooHigh, c.Pids, m.cfg.Max.Pids)
	case c.MemoryMB < 32 || c.CPUs < 0.01 || c.Pids < 16:
		return c, fmt.Errorf("%w: memory_mb must be at least 32, cpus at least 0.01 and pids at least 16", ErrCapsTooHigh)
	}
	return c, nil
}

// Launch starts a preview of the generation, or returns the live one it
// already has. With Wait it returns once the app answers HTTP, or a
// *LaunchError; without, it returns at once with the preview starting.
func (m *Manager) Launch(ctx context.Context, req LaunchRequest) (Launched, error) {
	start := time.Now()
	caps, err := m.ResolveCaps(req.Caps)
	if err != nil {
		return Launched{}, err
	}
	ttl := req.TTL
	if ttl <= 0 || ttl > m.cfg.MaxUptime {
		ttl = m.cfg.MaxUptime
	}
	token, session := m.newSession("")
	prep := m.prepare(ctx, req, caps)
	if err := m.refuseForeignSources(ctx, req, prep); err != nil {
		return Launched{}, err
	}

	for attempt := 0; ; attempt++ {
		// Launches of one generation take turns between the look for a live
		// preview and its insert, so that concurrent ones do not each take
		// a port and a preview slot only to lose the insert. Across
		// processes the schema's unique index still decides.
		unlock := m.launching.lock(req.Generation.ID)
		if _, err := m.records.LivePreview(ctx, req.Generation.ID); !errors.Is(err, db.ErrNotFound) {
			unlock()
			if err != nil {
				return Launched{}, err
			}
			existing, err := m.existing(ctx, req, token, session)
			if errors.Is(err, db.ErrNotFound) && attempt < 3 {
				continue // it ended meanwhile: launch anew
			}
			return existing, err
		}
		in, err := m.reserve(req.Generation, caps, ttl, prep)
		if err == nil {
			in.rec.RestartMax = req.RestartMax
			// The files read for the launch are this revision's, and so
			// are those a restart reads again, whatever patches come.
			in.rec.Revision = req.Generation.Revision
		}
		if err != nil {
			unlock()
			return Launched{}, err
		}
		session.PreviewID = in.rec.ID
		err = m.records.InsertPreview(ctx, &in.rec, session)
		unlock()
		if err == nil {
			in.recorded.Store(true)
			return m.run(ctx, in, req, token, session.ExpiresAt, start)
		}
		m.unreserve(in)
		switch {
		case errors.Is(err, db.ErrConflict) && attempt < 3:
			continue // a concurrent launch won: answer with its preview
		case errors.Is(err, db.ErrPortTaken) && attempt < 3:
			continue // another process holds that port: take another
		default:
			return Launched{}, err
		}
	}
}

// existing answers a launch of a generation that already has a live preview,
// with a new session for the caller. It returns db.ErrNotFound when there is none.
func (m *Manager) existing(ctx context.Context, req LaunchRequest, token string, session db.Session) (Launched, error) {
	p, err := m.records.LivePreview(ctx, req.Generation.ID)
	if err != nil {
		return Launched{}, err
	}
	if req.Wait && p.Status == db.StatusStarting {
		p, err = m.waitLaunched(ctx, p.ID)
		if err != nil {
			return Launched{}, err
		}
		if !p.Live() {
			if err := m.deletedMeanwhile(ctx, p); err != nil {
				return Launched{}, err // the caller launches anew and finds no generation
			}
			return Launched{}, launchErrorOf(p)
		}
	}
	session.PreviewID = p.ID
	if err := m.records.CreateSession(ctx, session); err != nil {
		return Launched{}, err
	}
	return Launched{Preview: p, SessionToken: token, SessionExpiresAt: session.ExpiresAt, Existing: true}, nil
}

// waitLaunched waits until a starting preview is running or has ended.
func (m *Manager) waitLaunched(ctx context.Context, id string) (db.Preview, error) {
	m.mu.Lock()
	in := m.live[id]
	m.mu.Unlock()
	if in != nil {
		select {
		case <-in.launched:
		case <-ctx.Done():
			return db.Preview{}, ctx.Err()
		}
		return m.records.Preview(ctx, id)
	}
	// Launched by another previewd process: poll its record.
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		p, err := m.records.Preview(ctx, id)
		if err != nil || p.Status != db.StatusStarting {
			return p, err
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return db.Preview{}, ctx.Err()
		}
	}
}

func launchErrorOf(p db.Preview) *LaunchError {
	return &LaunchError{PreviewID: p.ID, Reason: p.Error, ExitCode: p.ExitCode, OOMKilled: p.OOMKilled, LogTail: p.LogTail, Cause: storedCause(p.Cause)}
}

// newSession makes a random session token (256 bits) and its stored form.
func (m *Manager) newSession(previewID string) (string, db.Session) {
	raw := make([]byte, 32)
	rand.Read(raw)
	token := hex.EncodeToString(raw)
	return token, db.Session{TokenHash: HashToken(token), PreviewID: previewID, ExpiresAt: time.Now().Add(m.cfg.SessionTimeout).UTC()}
}

// HashToken is how session tokens are stored and looked up.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// instance looks up a preview this manager runs.
func (m *Manager) instance(id string) *instance {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.live[id]
}

// ErrNoApp is DialApp's error when no preview of this manager has the port.
var ErrNoApp = errors.New("no preview of this previewd listens on that port")

// DialApp connects to the app of the preview on host port port the way the
// port itself would, minus the relay: straight to the shim's socket. It
// returns ErrNoApp when no preview of this manager has the port (one being
// torn down, or a previewd that shares the host), and the caller dials the
// port instead.
func (m *Manager) DialApp(ctx context.Context, port int) (net.Conn, error) {
	m.mu.Lock()
	var f backend.Forwarder
	for _, in := range m.live {
		if in.rec.Port == port {
			f = in.forward
			break
		}
	}
	m.mu.Unlock()
	if f == nil {
		return nil, ErrNoApp
	}
	return f.Dial(ctx)
}

// snapshot returns the instances this manager holds now.
func (m *Manager) snapshot() []*instance {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*instance, 0, len(m.live))
	for _, in := range m.live {
		out = append(out, in)
	}
	return out
}
