package automation

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
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
type Scoring struct{ w *crm.Workspace }

// ScoringOf returns the lead scoring service of a workspace.
func ScoringOf(w *crm.Workspace) *Scoring { return &Scoring{w} }

func modelKey(id string) tuple.Key { return ak('g').Str(id) }

func loadModels(sp crm.Space) ([]*compiledModel, error) {
	var out []*compiledModel
	for e, err := range sp.Scan(store.Range{Prefix: ak('g')}) {
		if err != nil {
			return nil, err
		}
		m := new(compiledModel)
		if err := crm.Unmarshal(e.Value, &m.ScoringModel); err != nil {
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
		e, err := filter.Parse(p.Where)
		if err != nil {
			return err
		}
		m.attrs = append(m.attrs, e)
	}
	for _, p := range m.Behaviours {
		e, err := filter.Parse(p.Where)
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
	err := s.w.Update(ctx, func(t *crm.Tx) error {
		sp := t.Space(spaceName)
		if m.ID == "" {
			m.ID, m.CreatedAt = t.NewID("scm_"), t.Now()
		} else if b, err := sp.Get(modelKey(m.ID)); errors.Is(err, crm.ErrNotFound) {
			return notFound("scoring model", m.ID)
		} else if err != nil {
			return err
		} else {
			var old ScoringModel
			if err := crm.Unmarshal(b, &old); err != nil {
				return err
			}
			m.CreatedAt = old.CreatedAt
		}
		if err := checkModel(&t.ReadTx, &m); err != nil {
			return err
		}
		m.UpdatedAt = t.Now()
		b, err := crm.Marshal(&m)
		if err != nil {
			return err
		}
		if err := sp.Set(modelKey(m.ID), b); err != nil {
			return err
		}
		return bumpVersion(t)
	})
	return m, err
}

func checkModel(t *crm.ReadTx, m *ScoringModel) error {
	p := crm.ValidationError{Kind: "scoring model", ID: m.ID}
	m.Name = crm.CheckText(&p, "name", m.Name)
	if m.Name == "" {
		p.Add("name", "is required")
	}
	schema, err := t.Schema(crm.KindContact)
	if err != nil {
		return err
	}
	if typ, ok := schema.FieldType("custom." + m.Field); !ok || typ != filter.TypeNumber {
		p.Add("field", "%q is not a custom number field of contacts", m.Field)
	}
	check := func(list []ScorePoints, field string, s filter.Schema) {
		for i := range list {
			at := fmt.Sprintf("%s[%d].where", field, i)
			e, err := filter.Parse(list[i].Where)
			if err == nil {
				err = filter.Check(e, s)
			}
			if err != nil {
				p.Add(at, "%s", strings.TrimPrefix(err.Error(), "filter: "))
				continue
			}
			list[i].Where = filter.Format(e)
		}
	}
	check(m.Attributes, "attributes", schema)
	check(m.Behaviours, "behaviours", activitySchema)
	checkOffset(&p, "half_life", m.HalfLife, false)
	stages := t.Workspace().LifecycleStages
	for i, th := range m.Thresholds {
		if !slices.Contains(stages, th.Lifecycle) {
			p.Add(fmt.Sprintf("thresholds[%d].lifecycle", i), "%q is not a lifecycle stage of this workspace", th.Lifecycle)
		}
	}
	return p.Err()
}

// List streams the workspace's scoring models.
func (s *Scoring) List(ctx context.Context) iter.Seq2[ScoringModel, error] {
	return func(yield func(ScoringModel, error) bool) {
		var models []*compiledModel
		err := s.w.View(ctx, func(rt *crm.ReadTx) error {
			var err error
			models, err = loadModels(rt.Space(spaceName))
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
	return s.w.Update(ctx, func(t *crm.Tx) error {
		sp := t.Space(spaceName)
		if _, err := sp.Get(modelKey(id)); errors.Is(err, crm.ErrNotFound) {
			return notFound("scoring model", id)
		} else if err != nil {
			return err
		}
		if err := sp.Delete(modelKey(id)); err != nil {
			return err
		}
		return bumpVersion(t)
	})
}

// Recompute brings a contact's scores (every model's) up to date now, with
// decay up to the CRM's clock, and applies the thresholds.
func (s *Scoring) Recompute(ctx context.Context, contactID string) error {
	var models []*compiledModel
	if err := s.w.View(ctx, func(rt *crm.ReadTx) error {
		var err error
		models, err = loadModels(rt.Space(spaceName))
		return err
	}); err != nil {
		return err
	}
	for _, m := range models {
		err := s.w.Update(crm.WithCause(crm.WithSource(ctx, "automation"), m.ID, 1), func(t *crm.Tx) error { return applyScore(t, m, contactID) })
		if err != nil && !errors.Is(err, errSkip) {
			return err
		}
	}
	return nil
}

// score computes a contact's score under m at t.Now().
func score(t *crm.Tx, m *compiledModel, c *crm.Contact) (int64, error) {
	total := 0.0
	for i, e := range m.attrs {
		ok, err := matchRecord(&t.ReadTx, e, c)
		if err != nil {
			return 0, err
		}
		if ok {
			total += float64(m.Attributes[i].Points)
		}
	}
	if len(m.behaviours) > 0 {
		for a, err := range t.Activities().By("contact_ids", c.ID) {
			if err != nil {
				return 0, err
			}
			rec := activityRecord(&a)
			decay := 1.0
			if age := t.Now().Sub(a.OccurredAt); m.HalfLife > 0 && age > 0 {
				decay = math.Exp2(-float64(age) / float64(m.HalfLife))
			}
			for i, e := range m.behaviours {
				if ok, _ := filter.Eval(e, rec, t.Now()); ok {
					total += float64(m.Behaviours[i].Points) * decay
				}
			}
		}
	}
	return int64(math.Round(total)), nil
}

// applyScore writes a contact's score and moves its lifecycle stage by
// the thresholds; errSkip when nothing changed.
func applyScore(t *crm.Tx, m *compiledModel, contactID string) error {
	c, err := t.Contacts().Get(contactID)
	if errors.Is(err, crm.ErrNotFound) {
		return errSkip
	}
	if err != nil {
		return err
	}
	if c.Deleted() {
		return errSkip
	}
	n, err := score(t, m, &c)
	if err != nil {
		return err
	}
	stage := c.Lifecycle
	stages := t.Workspace().LifecycleStages
	pos := slices.Index(stages, stage)
	for _, th := range m.Thresholds {
		if i := slices.Index(stages, th.Lifecycle); n >= th.Score && i > pos {
			stage, pos = th.Lifecycle, i
		}
	}
	if old, ok := toFloat(c.Custom[m.Field]); ok && int64(old) == n && stage == c.Lifecycle {
		return errSkip
	}
	_, err = updateAny(t, crm.KindContact, contactID, func(r any) error {
		x := r.(*crm.Contact)
		if x.Custom == nil {
			x.Custom = crm.Custom{}
		}
		x.Custom[m.Field] = n
		x.Lifecycle = stage
		return nil
	})
	return err
}

// scoreOn recomputes the scores an event may have moved: the contact's
// own, or those of the contacts an activity links to.
func (a *Automation) scoreOn(ctx context.Context, w *crm.Workspace, cfg *automationConfig, ev *crm.Event) error {
	if len(cfg.scoring) == 0 {
		return nil
	}
	var ids []string
	switch {
	case ev.Kind == crm.KindContact && (ev.Type == crm.ContactCreated || ev.Type == crm.ContactUpdated || ev.Type == crm.ContactRestored):
		ids = []string{ev.RecordID}
	case ev.Kind == crm.KindActivity && (ev.Type == crm.ActivityCreated || ev.Type == crm.ActivityUpdated || ev.Type == crm.ActivityDeleted):
		var err error
		if ids, err = targetsOf(&crm.Event{Kind: crm.KindActivity, After: ev.After}, crm.KindContact); err != nil {
			return err
		}
	}
	for _, m := range cfg.scoring {
		if ev.Rule == m.ID {
			continue // its own write
		}
		for _, id := range ids {
			err := a.retry(ctx, func() error {
				err := w.Update(ruleContext(ctx, m.ID, nil, ev.Depth+1), func(t *crm.Tx) error { return applyScore(t, m, id) })
				return err
			})
			if err != nil && ctx.Err() == nil {
				err = a.park(ctx, w, Parked{Kind: ParkedFailed, Rule: m.ID, Record: crm.Ref{Kind: crm.KindContact, ID: id}, Event: eventRef(ev), Error: err.Error(), Attempts: a.attempts})
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}
