package crm

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/crmkit/crmkit/store"
)

// StageKind says whether a stage is open or closes the deal.
type StageKind string

// Stage kinds: deals in open stages are in the pipeline; won and lost
// stages are terminal.
const (
	StageOpen StageKind = "open"
	StageWon  StageKind = "won"
	StageLost StageKind = "lost"
)

// Stage is one step of a pipeline.
type Stage struct {
	// ID is assigned by the CRM when empty and never changes, so renaming a
	// stage keeps its deals and history.
	ID   string `msgpack:"id" json:"id"`
	Name string `msgpack:"name" json:"name"`
	// Probability is the chance, in percent, that a deal in this stage is
	// won: it weights the pipeline in forecasts. Won stages are 100 and
	// lost stages 0.
	Probability int       `msgpack:"probability" json:"probability"`
	Kind        StageKind `msgpack:"kind" json:"kind"`
}

// Pipeline is an ordered list of stages that deals move through.
type Pipeline struct {
	Meta   `msgpack:",inline"`
	Name   string  `msgpack:"name" json:"name"`
	Stages []Stage `msgpack:"stages" json:"stages"`
	// Currency, if set, is the only currency deals in the pipeline may use.
	Currency string `msgpack:"currency,omitempty" json:"currency,omitempty"`
}

// Stage returns the stage with the given ID.
func (p *Pipeline) Stage(id string) (Stage, bool) {
	i := slices.IndexFunc(p.Stages, func(s Stage) bool { return s.ID == id })
	if i < 0 {
		return Stage{}, false
	}
	return p.Stages[i], true
}

// StageByName returns the stage with the given name.
func (p *Pipeline) StageByName(name string) (Stage, bool) {
	i := slices.IndexFunc(p.Stages, func(s Stage) bool { return foldName(s.Name) == foldName(name) })
	if i < 0 {
		return Stage{}, false
	}
	return p.Stages[i], true
}

// firstStage returns the first stage of the given kind.
func (p *Pipeline) firstStage(k StageKind) (Stage, bool) {
	for _, s := range p.Stages {
		if s.Kind == k {
			return s, true
		}
	}
	return Stage{}, false
}

// DefaultPipeline returns the sales pipeline a new workspace starts with.
func DefaultPipeline() Pipeline {
	return Pipeline{Name: "Sales", Stages: []Stage{
		{Name: "Qualification", Probability: 10, Kind: StageOpen},
		{Name: "Needs analysis", Probability: 25, Kind: StageOpen},
		{Name: "Proposal", Probability: 50, Kind: StageOpen},
		{Name: "Negotiation", Probability: 75, Kind: StageOpen},
		{Name: "Closed won", Probability: 100, Kind: StageWon},
		{Name: "Closed lost", Probability: 0, Kind: StageLost},
	}}
}

var kindPipeline = &kind[Pipeline]{
	name: "pipeline", code: 'l', prefix: "pip_",
	meta:     func(p *Pipeline) *Meta { return &p.Meta },
	sortName: func(p *Pipeline) string { return p.Name },
	indexes:  func(_ *Workspace, _ *Pipeline, ix []indexEntry) []indexEntry { return ix },
}

func preparePipeline(t *txn, pl, old *Pipeline, p *problems) error {
	pl.Name = cleanText(p, "name", pl.Name, maxShortText)
	if pl.Name == "" {
		p.add("name", "is required")
	}
	if pl.Currency != "" {
		pl.Currency = checkCurrency(p, "currency", pl.Currency)
	}
	if len(pl.Stages) == 0 || len(pl.Stages) > maxListLen {
		p.add("stages", "a pipeline needs 1 to %d stages", maxListLen)
	}
	names := map[string]bool{}
	ids := map[string]bool{}
	kinds := map[StageKind]int{}
	for i := range pl.Stages {
		s := &pl.Stages[i]
		f := fmt.Sprintf("stages[%d]", i)
		if s.ID == "" {
			s.ID = t.newID("stg_")
		}
		if ids[s.ID] {
			p.add(f+".id", "stage %s appears twice", s.ID)
		}
		ids[s.ID] = true
		s.Name = cleanText(p, f+".name", s.Name, maxShortText)
		if s.Name == "" || names[foldName(s.Name)] {
			p.add(f+".name", "%q is empty or used by another stage", s.Name)
		}
		names[foldName(s.Name)] = true
		if s.Kind == "" {
			s.Kind = StageOpen
		}
		switch s.Kind {
		case StageWon:
			s.Probability = 100
		case StageLost:
			s.Probability = 0
		case StageOpen:
			if s.Probability < 0 || s.Probability > 100 {
				p.add(f+".probability", "%d is not a percentage (0 to 100)", s.Probability)
			}
		default:
			p.add(f+".kind", "%q is not open, won or lost", s.Kind)
		}
		kinds[s.Kind]++
	}
	if kinds[StageOpen] == 0 || kinds[StageWon] == 0 || kinds[StageLost] == 0 {
		p.add("stages", "a pipeline needs at least one open, one won and one lost stage")
	}
	if old == nil {
		return nil
	}
	// A stage that holds deals can only go through RemoveStage, which says
	// where its deals go.
	for _, s := range old.Stages {
		if ids[s.ID] {
			continue
		}
		n, err := countPrefix(t.tx, t.w.stageIndex(old.ID, s.ID), 1)
		if err != nil {
			return err
		}
		if n > 0 {
			p.add("stages", "stage %q holds deals: remove it with RemoveStage, naming where its deals go", s.Name)
		}
	}
	return nil
}

// countPrefix counts keys under prefix, stopping at limit (0: no limit).
func countPrefix(tx store.Reader, prefix key, limit int) (int, error) {
	n := 0
	for _, err := range tx.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
		if err != nil {
			return n, err
		}
		n++
		if limit > 0 && n >= limit {
			break
		}
	}
	return n, nil
}

func (w *Workspace) stageIndex(pipelineID, stageID string) key {
	return w.indexKey('d', "stage").str(pipelineID).str(stageID)
}

func (t *txn) createPipeline(pl Pipeline) (Pipeline, error) {
	return objects[Pipeline]{t.w, kindPipeline}.createIn(t, pl)
}

// Pipelines manages a workspace's pipelines.
type Pipelines struct{ o objects[Pipeline] }

// Pipelines returns the workspace's pipeline service.
func (w *Workspace) Pipelines() *Pipelines { return &Pipelines{objects[Pipeline]{w, kindPipeline}} }

// Create validates and stores a new pipeline; stages without an ID get one.
func (s *Pipelines) Create(ctx context.Context, p Pipeline) (Pipeline, error) {
	return s.o.create(ctx, p)
}

// Get returns a pipeline.
func (s *Pipelines) Get(ctx context.Context, id string) (Pipeline, error) { return s.o.get(ctx, id) }

// Default returns the workspace's oldest live pipeline, the one deals go to
// when they name none.
func (s *Pipelines) Default(ctx context.Context) (Pipeline, error) {
	for p, err := range s.List(ctx) {
		return p, err
	}
	return Pipeline{}, notFound("pipeline", "default")
}

// List streams the live pipelines, oldest first.
func (s *Pipelines) List(ctx context.Context) iter.Seq2[Pipeline, error] {
	return s.o.iterate(ctx, ListOptions{})
}

// Update applies mutate to a pipeline: rename it, rename, reorder or add
// stages, change probabilities. Removing a stage that holds deals is
// refused; use RemoveStage.
func (s *Pipelines) Update(ctx context.Context, id string, mutate func(*Pipeline) error, opts ...UpdateOption) (Pipeline, error) {
	return s.o.update(ctx, id, mutate, opts...)
}

// AddStage inserts a stage at position (0 is first; past the end appends).
func (s *Pipelines) AddStage(ctx context.Context, pipelineID string, st Stage, position int) (Pipeline, error) {
	return s.Update(ctx, pipelineID, func(p *Pipeline) error {
		st.ID = ""
		position = max(0, min(position, len(p.Stages)))
		p.Stages = slices.Insert(p.Stages, position, st)
		return nil
	})
}

// RenameStage renames a stage; its deals and history stay with it.
func (s *Pipelines) RenameStage(ctx context.Context, pipelineID, stageID, name string) (Pipeline, error) {
	return s.Update(ctx, pipelineID, func(p *Pipeline) error {
		i := slices.IndexFunc(p.Stages, func(s Stage) bool { return s.ID == stageID })
		if i < 0 {
			return notFound("stage", stageID)
		}
		p.Stages[i].Name = name
		return nil
	})
}

// ReorderStages sets the order of the stages: order must name every stage
// exactly once.
func (s *Pipelines) ReorderStages(ctx context.Context, pipelineID string, order []string) (Pipeline, error) {
	return s.Update(ctx, pipelineID, func(p *Pipeline) error {
		if len(order) != len(p.Stages) {
			return &ValidationError{Kind: "pipeline", ID: pipelineID, Fields: []FieldError{{"stages", fmt.Sprintf("the order names %d stages, the pipeline has %d", len(order), len(p.Stages))}}}
		}
		out := make([]Stage, 0, len(order))
		for _, id := range order {
			st, ok := p.Stage(id)
			if !ok || slices.ContainsFunc(out, func(s Stage) bool { return s.ID == id }) {
				return &ValidationError{Kind: "pipeline", ID: pipelineID, Fields: []FieldError{{"stages", fmt.Sprintf("stage %s is unknown or named twice", id)}}}
			}
			out = append(out, st)
		}
		p.Stages = out
		return nil
	})
}

// RemoveStage removes a stage. If deals are in it, moveTo must name
// another stage of the same pipeline, and every such deal moves there (its
// stage history records the move) in the same transaction.
func (s *Pipelines) RemoveStage(ctx context.Context, pipelineID, stageID, moveTo string) (Pipeline, error) {
	var out Pipeline
	_, err := s.o.w.write(ctx, func(t *txn) error {
		pl, err := getLive(t.tx, t.w, kindPipeline, pipelineID)
		if err != nil {
			return err
		}
		if _, ok := pl.Stage(stageID); !ok {
			return notFound("stage", stageID)
		}
		var ids []string
		for e, err := range t.tx.Scan(store.Range{Prefix: t.w.stageIndex(pipelineID, stageID), KeysOnly: true}) {
			if err != nil {
				return err
			}
			id, err := idFromIndexKey(e.Key, len(kindDeal.prefix)+idLength)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		if len(ids) > 0 {
			if _, ok := pl.Stage(moveTo); !ok || moveTo == stageID {
				return &ValidationError{Kind: "pipeline", ID: pipelineID, Fields: []FieldError{{"move_to", fmt.Sprintf("stage holds %d deals: name another stage of the pipeline for them", len(ids))}}}
			}
		}
		deals := objects[Deal]{t.w, kindDeal}
		for _, id := range ids {
			if _, err := deals.updateIn(t, id, 0, func(d *Deal) error {
				d.StageID = moveTo
				return nil
			}); err != nil && !errors.Is(err, ErrDeleted) {
				return err
			}
		}
		r, err := objects[Pipeline]{t.w, kindPipeline}.updateIn(t, pipelineID, 0, func(p *Pipeline) error {
			p.Stages = slices.DeleteFunc(p.Stages, func(s Stage) bool { return s.ID == stageID })
			return nil
		})
		if err == nil {
			out = *r
		}
		return err
	})
	return out, err
}

// Delete soft-deletes a pipeline. Deals keep pointing at it.
func (s *Pipelines) Delete(ctx context.Context, id string) error {
	return s.o.setDeleted(ctx, id, true)
}
