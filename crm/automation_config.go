package crm

import (
	"errors"
	"fmt"

	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
)

// automationConfig is a workspace's rules, scoring models and sequences,
// parsed, cached until their version changes.
type automationConfig struct {
	version   uint64
	rules     map[string]*compiledRule
	byEvent   map[EventType][]*compiledRule
	timeRules map[string][]*compiledRule // by object
	schedules []*compiledRule
	scoring   []*compiledModel
	sequences map[string]*Sequence
}

type compiledRule struct {
	Rule
	where filter.Expr
	// stored is set when where reads only the record's stored fields, so
	// an event's snapshot answers it without a transaction.
	stored bool
}

func readVersion(tx store.Reader, w *Workspace) (uint64, error) {
	b, err := tx.Get(w.ak('v'))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil || len(b) != 8 {
		return 0, errors.Join(err, fmt.Errorf("crm: corrupt automation version of workspace %s", w.info.ID))
	}
	return binaryUint(b), nil
}

// bumpVersion marks the workspace's automation as changed.
func bumpVersion(t *txn) error {
	v, err := readVersion(t.tx, t.w)
	if err != nil {
		return err
	}
	return t.tx.Set(t.w.ak('v'), key{}.uint(v+1))
}

// config returns the workspace's automation, read in tx.
func (a *Automation) config(tx store.Reader, w *Workspace) (*automationConfig, error) {
	v, err := readVersion(tx, w)
	if err != nil {
		return nil, err
	}
	if c, ok := a.configs.Load(w.info.ID); ok && c.(*automationConfig).version == v {
		return c.(*automationConfig), nil
	}
	cfg, err := loadConfig(tx, w)
	if err != nil {
		return nil, err
	}
	cfg.version = v
	a.configs.Store(w.info.ID, cfg)
	return cfg, nil
}

func loadConfig(tx store.Reader, w *Workspace) (*automationConfig, error) {
	cfg := &automationConfig{
		rules: map[string]*compiledRule{}, byEvent: map[EventType][]*compiledRule{},
		timeRules: map[string][]*compiledRule{}, sequences: map[string]*Sequence{},
	}
	for e, err := range tx.Scan(store.Range{Prefix: w.ak('r')}) {
		if err != nil {
			return nil, err
		}
		cr := new(compiledRule)
		if err := decode(e.Value, &cr.Rule); err != nil {
			return nil, err
		}
		if cr.Where != "" {
			if cr.where, err = parseCached(cr.Where); err != nil {
				return nil, err
			}
		}
		cr.stored = cr.where == nil || cr.Object == "activity" || storedOnly(cr.where, &Schema{object: cr.Object})
		cfg.rules[cr.ID] = cr
		if cr.Disabled {
			continue
		}
		switch tr := cr.Trigger; {
		case tr.Event != "":
			cfg.byEvent[tr.Event] = append(cfg.byEvent[tr.Event], cr)
		case tr.Time != nil:
			cfg.timeRules[cr.Object] = append(cfg.timeRules[cr.Object], cr)
		case tr.Schedule != nil:
			cfg.schedules = append(cfg.schedules, cr)
		}
	}
	models, err := loadModels(tx, w)
	if err != nil {
		return nil, err
	}
	cfg.scoring = models
	for e, err := range tx.Scan(store.Range{Prefix: w.ak('q')}) {
		if err != nil {
			return nil, err
		}
		s := new(Sequence)
		if err := decode(e.Value, s); err != nil {
			return nil, err
		}
		cfg.sequences[s.ID] = s
	}
	return cfg, nil
}
