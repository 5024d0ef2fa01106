package crm

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
)

// ScoringModel scores contacts: points for what they are (Attributes,
// conditions on the contact) and for what they do (Behaviours, conditions
// on the activities linked to them: an email opened, a meeting booked, a
// demo requested, a pricing page visited), behaviour points halving every
// HalfLife. The score is kept in a custom number field of contacts and
// recomputed on every change of the contact and every activity logged on
// it; reaching a threshold moves the contact's lifecycle stage forward
// (never back).
type ScoringModel struct {
	ID   string `msgpack:"id" json:"id,omitempty"`
	Name string `msgpack:"name" json:"name"`
	// Field is the contacts' custom number field that holds the score.
	Field      string        `msgpack:"field" json:"field"`
	Attributes []ScorePoints `msgpack:"attributes,omitempty" json:"attributes,omitempty"`
	Behaviours []ScorePoints `msgpack:"behaviours,omitempty" json:"behaviours,omitempty"`
	// HalfLife is how long a behaviour's points take to halve; 0 keeps
	// them whole.
	HalfLife   Offset           `msgpack:"half_life,omitempty" json:"half_life,omitempty"`
	Thresholds []ScoreThreshold `msgpack:"thresholds,omitempty" json:"thresholds,omitempty"`
	CreatedAt  time.Time        `msgpack:"created_at" json:"created_at,omitzero"`
	UpdatedAt  time.Time        `msgpack:"updated_at" json:"updated_at,omitzero"`
}

// ScorePoints gives Points to a contact (attributes) or to each of its
// activities (behaviours) that matches Where.
type ScorePoints struct {
	Where  string `msgpack:"where" json:"where"`
	Points int64  `msgpack:"points" json:"points"`
}

// ScoreThreshold moves a contact whose score reaches Score to Lifecycle,
// unless it is already at or past that stage.
type ScoreThreshold struct {
	Score     int64  `msgpack:"score" json:"score"`
	Lifecycle string `msgpack:"lifecycle" json:"lifecycle"`
}

type compiledModel struct {
	ScoringModel
	attrs, behaviours []filter.Expr
}

// Scoring manages a workspace's lead scoring models.
type Scoring struct{ w *Workspace }

// Scoring returns the workspace's lead scoring service.
func (w *Workspace) Scoring() *Scoring { return &Scoring{w} }

func (w *Workspace) modelKey(id string) key { return w.ak('g').str(id) }

func loadModels(tx store.Reader, w *Workspace) ([]*compiledModel, error) {
	var out []*compiledModel
	for e, err := range tx.Scan(store.Range{Prefix: w.ak('g')}) {
		if err != nil {
			return nil, err
		}
		m := new(compiledModel)
		if err := decode(e.Value, &m.ScoringModel); err != nil {
			return nil, err
		}
		if err := m.compile(); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (m *compiledModel) compile() error {
	m.attrs, m.behaviours = nil, nil
	for _, p := range m.Attributes {
		e, err := parseCached(p.Where)
		if err != nil {
			return err
		}
		m.attrs = append(m.attrs, e)
	}
	for _, p := range m.Behaviours {
		e, err := parseCached(p.Where)
		if err != nil {
			return err
		}
		m.behaviours = append(m.behaviours, e)
	}
	return nil
}

// Save validates and stores a model (a new one when its ID is empty).
// Scores are recomputed as contacts change; Recompute brings one contact
// up to date at once.
func (s *Scoring) Save(ctx context.Context, m ScoringModel) (ScoringModel, error) {
	_, err := s.w.write(ctx, func(t *txn) error {
		if err := t.checkWorkspace(); err != nil {
			return err
		}
		if m.ID == "" {
			m.ID, m.CreatedAt = t.newID("scm_"), t.now
		} else if b, err := t.tx.Get(t.w.modelKey(m.ID)); errors.Is(err, store.ErrNotFound) {
			return notFound("scoring model", m.ID)
		} else if err != nil {
			return err
		} else {
			var old ScoringModel
			if err := decode(b, &old); err != nil {
				return err
			}
			m.CreatedAt = old.CreatedAt
		}
		if err := checkModel(t, &m); err != nil {
			return err
		}
		m.UpdatedAt = t.now
		b, err := encode(&m)
		if err != nil {
			return err
		}
		if err := t.tx.Set(t.w.modelKey(m.ID), b); err != nil {
			return err
		}
		return bumpVersion(t)
	})
	return m, err
}

func checkModel(t *txn, m *ScoringModel) error {
	p := problems{kind: "scoring model", id: m.ID}
	m.Name = cleanText(&p, "name", m.Name, maxShortText)
	if m.Name == "" {
		p.add("name", "is required")
	}
	schema, _, err := loadSchema(t.tx, t.w, "contact")
	if err != nil {
		return err
	}
	if typ, ok := schema.FieldType("custom." + m.Field); !ok || typ != filter.TypeNumber {
		p.add("field", "%q is not a custom number field of contacts", m.Field)
	}
	check := func(list []ScorePoints, field string, s filter.Schema) {
		for i := range list {
			at := fmt.Sprintf("%s[%d].where", field, i)
			e, err := filter.Parse(list[i].Where)
			if err == nil {
				err = filter.Check(e, s)
			}
			if err != nil {
				p.add(at, "%s", strings.TrimPrefix(err.Error(), "filter: "))
				continue
			}
			list[i].Where = filter.Format(e)
		}
	}
	check(m.Attributes, "attributes", schema)
	check(m.Behaviours, "behaviours", activitySchema)
	checkOffset(&p, "half_life", m.HalfLife, false)
	for i, th := range m.Thresholds {
		if !slices.Contains(t.info.LifecycleStages, th.Lifecycle) {
			p.add(fmt.Sprintf("thresholds[%d].lifecycle", i), "%q is not a lifecycle stage of this workspace", th.Lifecycle)
		}
	}
	return p.err()
}

// List streams the workspace's scoring models.
func (s *Scoring) List(ctx context.Context) iter.Seq2[ScoringModel, error] {
	return func(yield func(ScoringModel, error) bool) {
		var models []*compiledModel
		err := s.w.read(ctx, func(tx store.Tx) error {
			var err error
			models, err = loadModels(tx, s.w)
			return err
		})
		if err != nil {
			yield(ScoringModel{}, err)
			return
		}
		for _, m := range models {
			if !yield(m.ScoringModel, nil) {
				return
			}
		}
	}
}

// Delete removes a model; the scores it wrote stay.
func (s *Scoring) Delete(ctx context.Context, id string) error {
	_, err := s.w.write(ctx, func(t *txn) error {
		if _, err := t.tx.Get(t.w.modelKey(id)); errors.Is(err, store.ErrNotFound) {
			return notFound("scoring model", id)
		} else if err != nil {
			return err
		}
		if err := t.tx.Delete(t.w.modelKey(id)); err != nil {
			return err
		}
		return bumpVersion(t)
	})
	return err
}

// Recompute brings a contact's scores (every model's) up to date now, with
// decay up to the CRM's clock, and applies the thresholds.
func (s *Scoring) Recompute(ctx context.Context, contactID string) error {
	var models []*compiledModel
	if err := s.w.read(ctx, func(tx store.Tx) error {
		var err error
		models, err = loadModels(tx, s.w)
		return err
	}); err != nil {
		return err
	}
	for _, m := range models {
		_, err := s.w.write(withCause(WithSource(ctx, "automation"), m.ID, 1), func(t *txn) error { return applyScore(t, m, contactID) })
		if err != nil && !errors.Is(err, errSkip) {
			return err
		}
	}
	return nil
}

// score computes a contact's score under m at t.now.
func score(t *txn, m *compiledModel, c *Contact) (int64, error) {
	total := 0.0
	for i, e := range m.attrs {
		ok, err := matchRecord(t.tx, t.w, t.now, e, c)
		if err != nil {
			return 0, err
		}
		if ok {
			total += float64(m.Attributes[i].Points)
		}
	}
	if len(m.behaviours) > 0 {
		prefix := t.w.indexKey('a', "link").byte('c').str(c.ID)
		err := eachIndexed(t.tx, t.w, kindActivity, prefix, func(a *Activity) {
			rec := activityRecord(a)
			decay := 1.0
			if age := t.now.Sub(a.OccurredAt); m.HalfLife > 0 && age > 0 {
				decay = math.Exp2(-float64(age) / float64(m.HalfLife))
			}
			for i, e := range m.behaviours {
				if ok, _ := filter.Eval(e, rec, t.now); ok {
					total += float64(m.Behaviours[i].Points) * decay
				}
			}
		})
		if err != nil {
			return 0, err
		}
	}
	return int64(math.Round(total)), nil
}

// applyScore writes a contact's score and moves its lifecycle stage by
// the thresholds; errSkip when nothing changed.
func applyScore(t *txn, m *compiledModel, contactID string) error {
	if err := t.checkWorkspace(); err != nil {
		return err
	}
	c, err := get(t.tx, t.w, kindContact, contactID)
	if errors.Is(err, ErrNotFound) {
		return errSkip
	}
	if err != nil {
		return err
	}
	if c.Deleted() {
		return errSkip
	}
	n, err := score(t, m, c)
	if err != nil {
		return err
	}
	stage := c.Lifecycle
	pos := slices.Index(t.info.LifecycleStages, stage)
	for _, th := range m.Thresholds {
		if i := slices.Index(t.info.LifecycleStages, th.Lifecycle); n >= th.Score && i > pos {
			stage, pos = th.Lifecycle, i
		}
	}
	if old, ok := toFloat(c.Custom[m.Field]); ok && int64(old) == n && stage == c.Lifecycle {
		return errSkip
	}
	_, err = updateAny(t, "contact", contactID, func(r any) error {
		x := r.(*Contact)
		if x.Custom == nil {
			x.Custom = Custom{}
		}
		x.Custom[m.Field] = n
		x.Lifecycle = stage
		return nil
	})
	return err
}

// scoreOn recomputes the scores an event may have moved: the contact's
// own, or those of the contacts an activity links to.
func (a *Automation) scoreOn(ctx context.Context, w *Workspace, cfg *automationConfig, ev *Event) error {
	if len(cfg.scoring) == 0 {
		return nil
	}
	var ids []string
	switch {
	case ev.Kind == "contact" && (ev.Type == ContactCreated || ev.Type == ContactUpdated || ev.Type == ContactRestored):
		ids = []string{ev.RecordID}
	case ev.Kind == "activity" && (ev.Type == ActivityCreated || ev.Type == ActivityUpdated || ev.Type == ActivityDeleted):
		var err error
		if ids, err = targetsOf(&Event{Kind: "activity", After: ev.After}, "contact"); err != nil {
			return err
		}
	}
	for _, m := range cfg.scoring {
		if ev.Rule == m.ID {
			continue // its own write
		}
		for _, id := range ids {
			err := a.retry(ctx, func() error {
				_, err := w.write(ruleContext(ctx, m.ID, ev.Depth+1), func(t *txn) error { return applyScore(t, m, id) })
				return err
			})
			if err != nil && ctx.Err() == nil {
				err = a.park(ctx, w, Parked{Kind: ParkedFailed, Rule: m.ID, Record: Ref{Kind: "contact", ID: id}, Event: eventRef(ev), Error: err.Error(), Attempts: a.attempts})
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}
