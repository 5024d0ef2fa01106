package automation

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// automationConfig is a workspace's rules, scoring models and sequences,
// parsed, cached until their version changes.
type automationConfig struct {
	version   uint64
	rules     map[string]*compiledRule
	byEvent   map[crm.EventType][]*compiledRule
	timeRules map[crm.Kind][]*compiledRule // by object
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

func readVersion(rt *crm.ReadTx) (uint64, error) {
	b, err := rt.Space(spaceName).Get(ak('v'))
	if errors.Is(err, crm.ErrNotFound) {
		return 0, nil
	}
	if err != nil || len(b) != 8 {
		return 0, errors.Join(err, fmt.Errorf("automation: corrupt version of workspace %s", rt.Workspace().ID))
	}
	return binary.BigEndian.Uint64(b), nil
}

// bumpVersion marks the workspace's automation as changed.
func bumpVersion(t *crm.Tx) error {
	v, err := readVersion(&t.ReadTx)
	if err != nil {
		return err
	}
	return t.Space(spaceName).Set(ak('v'), tuple.Key{}.Uint(v+1))
}

// config returns the workspace's automation, read in tx.
func (a *Automation) config(rt *crm.ReadTx) (*automationConfig, error) {
	v, err := readVersion(rt)
	if err != nil {
		return nil, err
	}
	ws := rt.Workspace().ID
	if c, ok := a.configs.Load(ws); ok && c.(*automationConfig).version == v {
		return c.(*automationConfig), nil
	}
	cfg, err := loadConfig(rt)
	if err != nil {
		return nil, err
	}
	cfg.version = v
	a.configs.Store(ws, cfg)
	return cfg, nil
}

func loadConfig(rt *crm.ReadTx) (*automationConfig, error) {
	sp := rt.Space(spaceName)
	cfg := &automationConfig{
		rules: map[string]*compiledRule{}, byEvent: map[crm.EventType][]*compiledRule{},
		timeRules: map[crm.Kind][]*compiledRule{}, sequences: map[string]*Sequence{},
	}
	for e, err := range sp.Scan(store.Range{Prefix: ak('r')}) {
		if err != nil {
			return nil, err
		}
		cr := new(compiledRule)
		if err := crm.Unmarshal(e.Value, &cr.Rule); err != nil {
			return nil, err
		}
		if cr.Where != "" {
			if cr.where, err = filter.Parse(cr.Where); err != nil {
				return nil, err
			}
		}
		cr.stored = cr.where == nil || cr.Object == crm.KindActivity || crm.StoredOnly(cr.Object, cr.where)
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
	models, err := loadModels(sp)
	if err != nil {
		return nil, err
	}
	cfg.scoring = models
	for e, err := range sp.Scan(store.Range{Prefix: ak('q')}) {
		if err != nil {
			return nil, err
		}
		s := new(Sequence)
		if err := crm.Unmarshal(e.Value, s); err != nil {
			return nil, err
		}
		cfg.sequences[s.ID] = s
	}
	return cfg, nil
}
