package crm

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // time zones resolve on systems without a zone database

	"github.com/crmkit/crmkit/store"
)

// CRM is the entry point: a CRM over one store, serving any number of
// workspaces. It is safe for concurrent use. Open one per store and share it.
type CRM struct {
	st      store.Store
	clock   func() time.Time
	log     *slog.Logger
	ids     idGen
	retries int
	hooks   *Hooks
	// hooksOff skips before- and after-hooks altogether; benchmarks set it
	// for the baseline that hook dispatch is measured against.
	hooksOff bool
	stats    stats
	locks    sync.Map // workspace ID -> *sync.Mutex
	handles  sync.Map // workspace ID -> *Workspace, for background work
	// appends is set when the store numbers logs itself (store.Appender).
	appends bool
	// contention holds, per workspace ID, until when (Unix nanoseconds)
	// its writes take turns (see write).
	contention sync.Map
	// commitSignal fires after every commit, to wake watchers and
	// dispatchers.
	commitSignal signal
	// policies caches the workspaces' decoded access policies.
	policies policyCache
}

// Option configures a CRM.
type Option func(*CRM)

// WithClock sets the clock the CRM reads the time from: timestamps, due
// dates and reports. Tests pass a fake clock to control time. The default is
// time.Now.
func WithClock(now func() time.Time) Option { return func(c *CRM) { c.clock = now } }

// WithLogger sets where the CRM logs (failed after-hooks, retries). The
// default discards everything.
func WithLogger(l *slog.Logger) Option { return func(c *CRM) { c.log = l } }

// WithConflictRetries sets how many times a write that lost a concurrency
// conflict is run again before ErrConflict is returned (default 20). Writes
// that pin a version are retried too, and then fail on the version check.
func WithConflictRetries(n int) Option { return func(c *CRM) { c.retries = n } }

// New returns a CRM over st. The CRM does not own st: close the store after
// you are done with the CRM.
func New(st store.Store, opts ...Option) *CRM {
	c := &CRM{st: st, clock: time.Now, retries: 20, hooks: new(Hooks)}
	for _, o := range opts {
		o(c)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	_ = st.View(context.Background(), func(tx store.Tx) error {
		_, c.appends = tx.(store.Appender)
		return nil
	})
	return c
}

func (c *CRM) workspaceLock(id string) *sync.Mutex {
	if mu, ok := c.locks.Load(id); ok {
		return mu.(*sync.Mutex)
	}
	mu, _ := c.locks.LoadOrStore(id, new(sync.Mutex))
	return mu.(*sync.Mutex)
}

func (c *CRM) notify() { c.commitSignal.fire() }

// Stats are counters of the CRM's background work since it was created.
type Stats struct {
	// AfterHookFailures counts after-hook handlers that failed.
	AfterHookFailures int64
	// DeliveryFailures counts failed consumer calls that were retried.
	DeliveryFailures int64
	// DeadLetters counts events moved to a dead-letter list.
	DeadLetters int64
	// Conflicts counts writes that lost a conflict with a concurrent
	// write and were run again.
	Conflicts int64
}

type stats struct {
	afterFailures    atomic.Int64
	deliveryFailures atomic.Int64
	deadLetters      atomic.Int64
	conflicts        atomic.Int64
}

// Stats returns the CRM's counters.
func (c *CRM) Stats() Stats {
	return Stats{
		AfterHookFailures: c.stats.afterFailures.Load(),
		DeliveryFailures:  c.stats.deliveryFailures.Load(),
		DeadLetters:       c.stats.deadLetters.Load(),
		Conflicts:         c.stats.conflicts.Load(),
	}
}

func (c *CRM) now() time.Time { return c.clock().UTC().Round(time.Microsecond) }

// Now returns the CRM's clock (WithClock) in UTC, to the microsecond the
// records' stamps keep.
func (c *CRM) Now() time.Time { return c.now() }

// Logger returns the logger the CRM and the packages built on it log to
// (WithLogger).
func (c *CRM) Logger() *slog.Logger { return c.log }

// NextCommit returns a channel closed after the next transaction this
// CRM commits, for background work that waits for news (a dispatcher, an
// automation) instead of only polling. Commits of other processes sharing
// the store do not close it.
func (c *CRM) NextCommit() <-chan struct{} { return c.commitSignal.wait() }

// WorkspaceInfo describes a workspace: one tenant of the host application,
// whose records no other workspace can see.
type WorkspaceInfo struct {
	// ID is chosen by the host application (its tenant ID): 1 to 64
	// letters, digits, '-', '_' or '.'.
	ID string `msgpack:"id" json:"id"`
	// Name is a display name.
	Name string `msgpack:"name" json:"name"`
	// LifecycleStages are the contact lifecycle stages, in order. Empty
	// means DefaultLifecycleStages.
	LifecycleStages []string `msgpack:"lifecycle_stages" json:"lifecycle_stages"`
	// Currency is the workspace's default ISO-4217 currency code, used when
	// an amount is given without one. Empty means "USD".
	Currency string `msgpack:"currency" json:"currency"`
	// TimeZone is the IANA name of the workspace's time zone
	// ("Europe/Berlin"), in which reports cut days, weeks, months and
	// quarters. Empty means UTC.
	TimeZone string `msgpack:"time_zone,omitempty" json:"time_zone,omitempty"`
	// PhoneRegion is the ISO 3166-1 country ("DE") in which phone numbers
	// written without a country code are read ("030 12345678" is
	// +493012345678 in "DE"); a phone's own Region overrides it. Empty
	// means such numbers are refused: they must start with + and a
	// country code.
	PhoneRegion string    `msgpack:"phone_region,omitempty" json:"phone_region,omitempty"`
	CreatedAt   time.Time `msgpack:"created_at" json:"created_at"`
}

// Location returns the workspace's time zone: UTC when TimeZone is empty
// (or names a zone this system does not know, which CreateWorkspace and
// UpdateWorkspace refuse).
func (i WorkspaceInfo) Location() *time.Location {
	if i.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(i.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// DefaultLifecycleStages are the contact lifecycle stages of a new
// workspace, from first touch to churn.
var DefaultLifecycleStages = []string{
	"subscriber", "lead", "marketing_qualified", "sales_qualified",
	"opportunity", "customer", "evangelist", "churned",
}

// CreateWorkspace creates a workspace with a default sales pipeline and
// returns a handle to it. It fails with a *ValidationError if the ID is
// malformed, or taken (the error then also matches ErrWorkspaceExists).
// A workspace created with the ID of a deleted one starts empty.
func (c *CRM) CreateWorkspace(ctx context.Context, info WorkspaceInfo) (*Workspace, error) {
	if err := checkWorkspaceInfo(&info); err != nil {
		return nil, err
	}
	info.CreatedAt = c.now()
	w := &Workspace{crm: c, info: info}
	_, err := w.write(ctx, func(t *txn) error {
		k := workspaceRegistryKey(info.ID)
		if _, err := t.tx.Get(k); err == nil {
			return &ValidationError{Kind: "workspace", ID: info.ID, Fields: []FieldError{{"id", "already exists"}}, also: ErrWorkspaceExists}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		space, err := allocSpace(t.tx)
		if err != nil {
			return err
		}
		e := &wsEntry{WorkspaceInfo: info, Space: space, Format: workspaceFormat}
		w.space, w.prefix = space, spacePrefix(space)
		if err := writeEntry(t.tx, e); err != nil {
			return err
		}
		t.info = &e.WorkspaceInfo
		_, err = t.createPipeline(DefaultPipeline())
		return err
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

func checkWorkspaceInfo(info *WorkspaceInfo) error {
	p := problems{kind: "workspace", id: info.ID}
	if !validWorkspaceID(info.ID) {
		p.add("id", "must be 1 to 64 letters, digits, '-', '_' or '.'")
	}
	info.Name = cleanText(&p, "name", info.Name, maxShortText)
	if len(info.LifecycleStages) == 0 {
		info.LifecycleStages = DefaultLifecycleStages
	}
	info.LifecycleStages = cleanKeywords(&p, "lifecycle_stages", info.LifecycleStages)
	if info.Currency == "" {
		info.Currency = "USD"
	}
	info.Currency = checkCurrency(&p, "currency", info.Currency)
	info.PhoneRegion = checkCountry(&p, "phone_region", info.PhoneRegion)
	info.TimeZone = strings.TrimSpace(info.TimeZone)
	if _, err := time.LoadLocation(info.TimeZone); err != nil || strings.EqualFold(info.TimeZone, "local") {
		p.add("time_zone", "%q is not an IANA time zone name such as \"Europe/Berlin\"", info.TimeZone)
	}
	return p.err()
}

// EnsureWorkspace returns a handle to workspace info.ID, creating it with
// info when it does not exist: the call a host application makes at
// start-up or on a tenant's first request. The settings of an existing
// workspace are left as they are. Processes that race to create it all
// get a handle to the one that was created.
func (c *CRM) EnsureWorkspace(ctx context.Context, info WorkspaceInfo) (*Workspace, error) {
	for {
		w, err := c.Workspace(ctx, info.ID)
		if !errors.Is(err, ErrNotFound) {
			return w, err
		}
		w, err = c.CreateWorkspace(ctx, info)
		if !errors.Is(err, ErrWorkspaceExists) {
			return w, err
		}
		if err := ctx.Err(); err != nil {
			return nil, store.ContextError(ctx)
		}
	}
}

// UpdateWorkspace changes a workspace's name, lifecycle stages, default
// currency, time zone or phone region. Its ID and creation time cannot change. Contacts keep a
// lifecycle stage that is no longer listed until they are next written.
func (c *CRM) UpdateWorkspace(ctx context.Context, id string, mutate func(*WorkspaceInfo) error) (WorkspaceInfo, error) {
	var out WorkspaceInfo
	w, err := c.Workspace(ctx, id)
	if err != nil {
		return out, err
	}
	_, err = w.write(ctx, func(t *txn) error {
		e, err := t.entry()
		if err != nil {
			return err
		}
		info := e.WorkspaceInfo
		info.LifecycleStages = append([]string(nil), info.LifecycleStages...)
		if err := mutate(&info); err != nil {
			return err
		}
		info.ID, info.CreatedAt = e.ID, e.CreatedAt
		if err := checkWorkspaceInfo(&info); err != nil {
			return err
		}
		out = info
		e2 := *e
		e2.WorkspaceInfo = info
		return writeEntry(t.tx, &e2)
	})
	return out, err
}

// Workspace returns a handle to an existing workspace, or an error matching
// ErrNotFound. A workspace written by an older version is first migrated
// to the current layout (see Resume).
func (c *CRM) Workspace(ctx context.Context, id string) (*Workspace, error) {
	for range 2 {
		var e *wsEntry
		err := c.st.View(ctx, func(tx store.Tx) error {
			var err error
			e, err = readEntry(tx, id)
			return err
		})
		if err != nil {
			return nil, err
		}
		if e.Space != 0 {
			if e, err = c.upgradeFormat(ctx, e); err != nil {
				return nil, err
			}
			return c.handleOf(e), nil
		}
		if err := c.migrate(ctx, id); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("crm: workspace %s: %w", id, ErrConflict)
}

// Workspaces streams every workspace in ID order.
func (c *CRM) Workspaces(ctx context.Context) iter.Seq2[WorkspaceInfo, error] {
	return func(yield func(WorkspaceInfo, error) bool) {
		for e, err := range c.workspaceEntries(ctx) {
			if err != nil {
				yield(WorkspaceInfo{}, err)
				return
			}
			if !yield(e.WorkspaceInfo, nil) {
				return
			}
		}
	}
}

// workspaceEntries streams the registry in ID order.
func (c *CRM) workspaceEntries(ctx context.Context) iter.Seq2[*wsEntry, error] {
	return func(yield func(*wsEntry, error) bool) {
		err := c.st.View(ctx, func(tx store.Tx) error {
			for e, err := range tx.Scan(store.Range{Prefix: key{nsGlobal, 'w'}}) {
				if err != nil {
					return err
				}
				entry := new(wsEntry)
				if err := decode(e.Value, entry); err != nil {
					return err
				}
				if !yield(entry, nil) {
					return errStop
				}
			}
			return nil
		})
		if err != nil && err != errStop {
			yield(nil, err)
		}
	}
}

// DeleteWorkspace erases a workspace and every record, index and history
// entry in it, permanently. The workspace is gone the moment it is
// unregistered (its ID may be used again at once, and starts empty); its
// keys are then purged in steps. If the purge is interrupted, Resume (or
// the next DeleteWorkspace) finishes it.
func (c *CRM) DeleteWorkspace(ctx context.Context, id string) error {
	err := c.st.Update(ctx, func(tx store.Tx) error {
		e, err := readEntry(tx, id)
		if err != nil {
			return err
		}
		return unregister(tx, e)
	})
	if err != nil {
		return err
	}
	c.handles.Delete(id)
	c.notify()
	_, err = c.purge(ctx)
	return err
}

// deletePrefix deletes every key under prefix in batches.
func (c *CRM) deletePrefix(ctx context.Context, prefix []byte) (int64, error) {
	var total int64
	for {
		var keys [][]byte
		err := c.st.View(ctx, func(tx store.Tx) error {
			for e, err := range tx.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
				if err != nil {
					return err
				}
				keys = append(keys, append([]byte(nil), e.Key...))
				if len(keys) == 10000 {
					break
				}
			}
			return nil
		})
		if err != nil || len(keys) == 0 {
			return total, err
		}
		err = c.st.Batch(ctx, func(w store.Writer) error {
			for _, k := range keys {
				if err := w.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += int64(len(keys))
	}
}

// errStop ends a scan early from inside a store callback.
var errStop = errors.New("stop")

func validWorkspaceID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.') {
			return false
		}
	}
	return true
}

// Workspace is a handle to one workspace. Every read and write through it
// is confined to the workspace's keys: it cannot see or change another
// workspace's records, whatever IDs it is given. It is safe for concurrent
// use.
type Workspace struct {
	crm    *CRM
	info   WorkspaceInfo
	space  uint64 // the workspace's key space (see registry.go)
	prefix key
}

// ID returns the workspace's ID.
func (w *Workspace) ID() string { return w.info.ID }

// Info returns the workspace's description.
func (w *Workspace) Info() WorkspaceInfo { return w.info }

func (w *Workspace) String() string { return fmt.Sprintf("workspace %s", w.info.ID) }

// k returns a new key under the workspace prefix.
func (w *Workspace) k(tag byte) key {
	k := make(key, len(w.prefix), len(w.prefix)+48)
	copy(k, w.prefix)
	return append(k, tag)
}
