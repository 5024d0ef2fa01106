package crm

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/crmkit/crmkit/store"
)

// DealStatus is where a deal stands, from its stage's kind.
type DealStatus string

// Deal statuses.
const (
	StatusOpen DealStatus = "open"
	StatusWon  DealStatus = "won"
	StatusLost DealStatus = "lost"
)

// Deal is an opportunity to sell, moving through a pipeline's stages.
type Deal struct {
	Meta `msgpack:",inline"`
	Name string `msgpack:"name" json:"name"`
	// PipelineID defaults to the workspace's default pipeline, StageID to
	// the pipeline's first open stage. A stage may be given by its name
	// too: it is stored as its ID.
	PipelineID string `msgpack:"pipeline_id" json:"pipeline_id"`
	StageID    string `msgpack:"stage_id" json:"stage_id"`
	// Amount is the deal's value; without a currency, the workspace's.
	Amount Money `msgpack:"amount,omitempty" json:"amount,omitzero"`
	// CloseDate is the expected close date.
	CloseDate Date          `msgpack:"close_date,omitempty" json:"close_date,omitzero"`
	OwnerID   string        `msgpack:"owner_id,omitempty" json:"owner_id,omitempty"`
	CompanyID string        `msgpack:"company_id,omitempty" json:"company_id,omitempty"`
	Contacts  []ContactRole `msgpack:"contacts,omitempty" json:"contacts,omitempty"`
	Source    string        `msgpack:"source,omitempty" json:"source,omitempty"`
	// LostReason says why a lost deal was lost.
	LostReason string `msgpack:"lost_reason,omitempty" json:"lost_reason,omitempty"`
	// Status follows the stage; the CRM sets it.
	Status DealStatus `msgpack:"status" json:"status"`
	// ClosedAt is when the deal entered a won or lost stage; zero while
	// open. The CRM sets it (a migration may give it: WithImportedHistory).
	ClosedAt time.Time `msgpack:"closed_at,omitempty" json:"closed_at,omitzero"`
	// StageHistory records every stage the deal entered, oldest first,
	// with when it entered and left, so cycle lengths and stage durations
	// are exact. The CRM maintains it (a migration may give it:
	// WithImportedHistory).
	StageHistory []StageEntry `msgpack:"stage_history" json:"stage_history"`
	Custom       Custom       `msgpack:"custom,omitempty" json:"custom,omitempty"`
}

// ContactRole links a contact to a deal.
type ContactRole struct {
	ContactID string `msgpack:"contact_id" json:"contact_id"`
	Role      string `msgpack:"role,omitempty" json:"role,omitempty"`
}

// StageEntry is one stay of a deal in a stage.
type StageEntry struct {
	PipelineID string    `msgpack:"pipeline_id" json:"pipeline_id"`
	StageID    string    `msgpack:"stage_id" json:"stage_id"`
	EnteredAt  time.Time `msgpack:"entered_at" json:"entered_at"`
	// LeftAt is zero for the current stage.
	LeftAt time.Time `msgpack:"left_at,omitempty" json:"left_at,omitzero"`
}

var kindDeal = &kind[Deal]{
	name: "deal", code: 'd', prefix: "deal_",
	meta:     func(d *Deal) *Meta { return &d.Meta },
	custom:   func(d *Deal) *Custom { return &d.Custom },
	sortName: func(d *Deal) string { return d.Name },
	indexes:  dealIndexes,
}

func prepareDeal(t *txn, d, old *Deal, p *problems) error {
	d.Name = cleanText(p, "name", d.Name, maxShortText)
	if d.Name == "" {
		p.add("name", "is required")
	}
	d.OwnerID = cleanText(p, "owner_id", d.OwnerID, maxShortText)
	d.Source = cleanText(p, "source", d.Source, maxShortText)
	d.LostReason = cleanText(p, "lost_reason", d.LostReason, maxShortText)
	checkDate(p, "close_date", d.CloseDate)
	d.Amount = checkMoney(p, "amount", d.Amount, t.info.Currency, false)

	var pl *Pipeline
	var err error
	if d.PipelineID == "" {
		for e, err := range t.tx.Scan(pipelinesRange(t.w)) {
			if err != nil {
				return err
			}
			var cand Pipeline
			if err := decode(e.Value, &cand); err != nil {
				return err
			}
			if !cand.Deleted() {
				pl = &cand
				break
			}
		}
		if pl == nil {
			p.add("pipeline_id", "the workspace has no pipeline")
			return nil
		}
		d.PipelineID = pl.ID
	} else if pl, err = getLive(t.tx, t.w, kindPipeline, d.PipelineID); err != nil {
		if isNotFoundOrDeleted(err) || isInvalid(err) {
			p.add("pipeline_id", "no pipeline %s in this workspace", d.PipelineID)
			return nil
		}
		return err
	}
	if pl.Currency != "" && d.Amount.Currency != "" && d.Amount.Currency != pl.Currency {
		p.add("amount.currency", "%s differs from the pipeline's currency %s", d.Amount.Currency, pl.Currency)
	}
	if d.StageID == "" {
		st, _ := pl.firstStage(StageOpen)
		d.StageID = st.ID
	}
	st, ok := pl.Stage(d.StageID)
	if !ok {
		if st, ok = pl.StageByName(d.StageID); !ok {
			p.add("stage_id", "no stage %q in pipeline %q; its stages are %s", d.StageID, pl.Name, stageList(pl))
			return nil
		}
		d.StageID = st.ID
	}
	if err := checkRef(t, p, "company_id", kindCompany, d.CompanyID); err != nil {
		return err
	}
	if !checkListLen(p, "contacts", len(d.Contacts)) {
		return nil
	}
	seen := map[string]bool{}
	for i := range d.Contacts {
		f := fmt.Sprintf("contacts[%d]", i)
		cr := &d.Contacts[i]
		cr.Role = cleanText(p, f+".role", cr.Role, maxShortText)
		if cr.ContactID == "" || seen[cr.ContactID] {
			p.add(f+".contact_id", "is empty or linked twice")
			continue
		}
		seen[cr.ContactID] = true
		if err := checkRef(t, p, f+".contact_id", kindContact, cr.ContactID); err != nil {
			return err
		}
	}

	// The CRM owns status, closing time and the stage history, except
	// for a migration's new deals (WithImportedHistory).
	if old == nil && importsHistory(t.ctx) && (len(d.StageHistory) > 0 || !d.ClosedAt.IsZero()) {
		keepImportedHistory(p, d, pl, st, t.now)
	} else if old != nil {
		d.StageHistory = old.StageHistory
		d.ClosedAt = old.ClosedAt
	} else {
		d.StageHistory = nil
		d.ClosedAt = time.Time{}
	}
	if old == nil && len(d.StageHistory) == 0 || old != nil && (old.StageID != d.StageID || old.PipelineID != d.PipelineID) {
		if n := len(d.StageHistory); n > 0 {
			d.StageHistory = append(d.StageHistory[:n-1:n-1], d.StageHistory[n-1])
			d.StageHistory[n-1].LeftAt = t.now
		}
		d.StageHistory = append(d.StageHistory, StageEntry{PipelineID: d.PipelineID, StageID: d.StageID, EnteredAt: t.now})
		d.ClosedAt = time.Time{}
		if st.Kind != StageOpen {
			d.ClosedAt = t.now
		}
	}
	d.Status = DealStatus(st.Kind)
	if d.Status != StatusLost {
		d.LostReason = ""
	}
	return nil
}

func pipelinesRange(w *Workspace) store.Range {
	return store.Range{Prefix: w.k(tagRecord).byte(kindPipeline.code)}
}

func dealIndexes(w *Workspace, d *Deal, ix []indexEntry) []indexEntry {
	ix = append(ix, plainEntry("stage_id", w.stageIndex(d.PipelineID, d.StageID), d.ID))
	if !d.Amount.IsZero() {
		ix = append(ix, plainEntry("amount", w.indexKey('d', "amount").str(d.Amount.Currency).int(d.Amount.Amount), d.ID))
	}
	if d.CompanyID != "" {
		ix = append(ix, plainEntry("company_id", w.indexKey('d', "company").str(d.CompanyID), d.ID))
	}
	for _, c := range d.Contacts {
		ix = append(ix, plainEntry("contacts", w.indexKey('d', "contact").str(c.ContactID), d.ID))
	}
	if d.OwnerID != "" {
		ix = append(ix, plainEntry("owner_id", w.indexKey('d', "owner").str(d.OwnerID), d.ID))
	}
	if d.Status == StatusOpen {
		ix = append(ix, openDealEntry(w, d))
	}
	return conversionEntries(w, d, ix)
}

// openDealEntry is the entry of an open deal in the pipeline aggregate:
// per pipeline, stage, currency, owner and expected close month, a counter
// of the open deals and one of their amounts, kept in the write's
// transaction, so the pipeline report reads a few counters instead of
// every deal. The entry's key ends in the amount and the deal's ID, so a
// change of amount replaces the entry and moves the sum.
func openDealEntry(w *Workspace, d *Deal) indexEntry {
	tuple := key{}.str(d.PipelineID).str(d.StageID).str(d.Amount.Currency).str(d.OwnerID).str(closeMonth(d.CloseDate))
	e := plainEntry("pipeline", append(w.indexKey('d', pipeAggIndex), tuple...).int(d.Amount.Amount), d.ID)
	e.count = append(w.countKey('d', pipeAggIndex), tuple...)
	e.sum = append(w.countKey('d', pipeSumIndex), tuple...)
	e.amount = d.Amount.Amount
	return e
}

// The names of the pipeline aggregate's index and its counters.
const (
	pipeAggIndex = "pipe"
	pipeSumIndex = "pipe.sum"
)

// closeMonth is the expected close month of a deal as "2026-05", or ""
// without a date.
func closeMonth(d Date) string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d", d.Year, int(d.Month))
}

// Deals manages a workspace's deals.
type Deals struct{ o objects[Deal] }

// Deals returns the workspace's deal service.
func (w *Workspace) Deals() *Deals { return &Deals{objects[Deal]{w, kindDeal}} }

// Create validates and stores a new deal in its pipeline's stage.
func (s *Deals) Create(ctx context.Context, d Deal) (Deal, error) { return s.o.create(ctx, d) }

// CreateMany creates many deals; see Contacts.CreateMany.
func (s *Deals) CreateMany(ctx context.Context, ds []Deal) ([]Deal, error) {
	return s.o.createMany(ctx, ds)
}

// UpdateMany applies mutate to each deal of ids, several per
// transaction; see Contacts.UpdateMany. Changing StageID or
// PipelineID moves a deal and records the move at the CRM's clock.
func (s *Deals) UpdateMany(ctx context.Context, ids []string, mutate func(*Deal) error) ([]Deal, error) {
	return s.o.updateMany(ctx, ids, mutate)
}

// Get returns a deal (also when soft-deleted).
func (s *Deals) Get(ctx context.Context, id string) (Deal, error) { return s.o.get(ctx, id) }

// Update applies mutate to the stored deal; see Contacts.Update. Changing
// StageID or PipelineID moves the deal and records the move.
func (s *Deals) Update(ctx context.Context, id string, mutate func(*Deal) error, opts ...UpdateOption) (Deal, error) {
	return s.o.update(ctx, id, mutate, opts...)
}

// Replace saves d in place of the stored deal with d.ID.
func (s *Deals) Replace(ctx context.Context, d Deal) (Deal, error) {
	return s.o.replace(ctx, d.ID, d.Version, d)
}

// Move moves a deal to another stage of its pipeline, named by its ID or
// its name ("Proposal", any case). A stage the pipeline does not have
// fails with a *ValidationError that lists the pipeline's stages.
func (s *Deals) Move(ctx context.Context, id, stage string, opts ...UpdateOption) (Deal, error) {
	return s.Update(ctx, id, func(d *Deal) error {
		d.StageID = stage
		return nil
	}, opts...)
}

// stageList names a pipeline's stages for an error: "Lead (stg_1), ...".
func stageList(pl *Pipeline) string {
	names := make([]string, len(pl.Stages))
	for i, st := range pl.Stages {
		names[i] = fmt.Sprintf("%s (%s)", st.Name, st.ID)
	}
	return strings.Join(names, ", ")
}

// Win moves a deal to its pipeline's won stage.
func (s *Deals) Win(ctx context.Context, id string, opts ...UpdateOption) (Deal, error) {
	return s.close(ctx, id, StageWon, "", opts)
}

// Lose moves a deal to its pipeline's lost stage, recording why.
func (s *Deals) Lose(ctx context.Context, id, reason string, opts ...UpdateOption) (Deal, error) {
	return s.close(ctx, id, StageLost, reason, opts)
}

func (s *Deals) close(ctx context.Context, id string, k StageKind, reason string, opts []UpdateOption) (Deal, error) {
	var out Deal
	_, err := s.o.w.write(ctx, func(t *txn) error {
		var uo updateOptions
		for _, o := range opts {
			o(&uo)
		}
		r, err := s.o.updateIn(t, id, uo.version, func(d *Deal) error {
			pl, err := getLive(t.tx, t.w, kindPipeline, d.PipelineID)
			if err != nil {
				return err
			}
			st, ok := pl.firstStage(k)
			if !ok {
				return notFound("stage", string(k))
			}
			if st.ID != d.StageID {
				d.StageID = st.ID
			}
			d.LostReason = reason
			return nil
		})
		if err == nil {
			out = *r
		}
		return err
	})
	return out, err
}

// Delete soft-deletes a deal.
func (s *Deals) Delete(ctx context.Context, id string, opts ...UpdateOption) error {
	return s.o.setDeleted(ctx, id, true, opts...)
}

// Restore undoes Delete.
func (s *Deals) Restore(ctx context.Context, id string) error { return s.o.setDeleted(ctx, id, false) }

// Erase removes a deal permanently with its index entries, history and
// timeline. A person's erasure request is Contacts.Erase.
func (s *Deals) Erase(ctx context.Context, id string) error { return s.o.erase(ctx, id) }

// List streams deals in the order opts asks (SortCreated, SortUpdated,
// SortName or SortAmount, which groups by currency).
func (s *Deals) List(ctx context.Context, opts ListOptions) iter.Seq2[Deal, error] {
	return s.o.iterate(ctx, opts)
}

// Page returns one page of deals and the cursor to the next.
func (s *Deals) Page(ctx context.Context, opts ListOptions) (Page[Deal], error) {
	return s.o.page(ctx, opts)
}

// InStage streams the live deals in a stage.
func (s *Deals) InStage(ctx context.Context, pipelineID, stageID string) iter.Seq2[Deal, error] {
	return s.o.byIndex(ctx, s.o.w.stageIndex(pipelineID, stageID))
}

// ByCompany streams the live deals of a company.
func (s *Deals) ByCompany(ctx context.Context, companyID string) iter.Seq2[Deal, error] {
	return s.o.byIndex(ctx, s.o.w.indexKey('d', "company").str(companyID))
}

// ByContact streams the live deals a contact is linked to.
func (s *Deals) ByContact(ctx context.Context, contactID string) iter.Seq2[Deal, error] {
	return s.o.byIndex(ctx, s.o.w.indexKey('d', "contact").str(contactID))
}

// StageSummary is one stage's open deals: how many and their value, per
// currency (amounts in different currencies are never added together).
type StageSummary struct {
	Stage  Stage            `json:"stage"`
	Count  int              `json:"count"`
	Totals map[string]int64 `json:"totals"`
}

// Summary counts the live deals in each stage of a pipeline and totals
// their amounts per currency, in stage order.
func (s *Deals) Summary(ctx context.Context, pipelineID string) ([]StageSummary, error) {
	pl, err := s.o.w.Pipelines().Get(ctx, pipelineID)
	if err != nil {
		return nil, err
	}
	out := make([]StageSummary, len(pl.Stages))
	for i, st := range pl.Stages {
		out[i] = StageSummary{Stage: st, Totals: map[string]int64{}}
		for d, err := range s.InStage(ctx, pipelineID, st.ID) {
			if err != nil {
				return nil, err
			}
			out[i].Count++
			if !d.Amount.IsZero() {
				out[i].Totals[d.Amount.Currency] += d.Amount.Amount
			}
		}
	}
	return out, nil
}
