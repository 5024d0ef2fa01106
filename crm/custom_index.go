package crm

import (
	"fmt"
	"github.com/crmkit/crmkit/crm/filter"
	"math"
)

// customIndexes appends the index entries of a record's unique and indexed
// custom fields.
func (t *txn) customIndexes(object string, code byte, id string, c Custom, ix []indexEntry) ([]indexEntry, error) {
	if len(c) == 0 {
		return ix, nil
	}
	defs, err := t.fieldDefs(object)
	if err != nil {
		return nil, err
	}
	for i := range defs {
		d := &defs[i]
		v, ok := c[d.Name]
		if !ok || !(d.Unique || d.Indexed) {
			continue
		}
		field := "custom." + d.Name
		vals := []any{v}
		if l, ok := v.([]string); ok {
			vals = vals[:0]
			for _, s := range l {
				vals = append(vals, s)
			}
		}
		for _, v := range vals {
			if d.Unique {
				ix = append(ix, uniqueEntry(field, appendValueKey(t.w.uniqueKey(code, field), v), id))
			}
			if d.Indexed {
				ix = append(ix, plainEntry(field, appendValueKey(t.w.indexKey(code, field), v), id))
			}
		}
	}
	return ix, nil
}

// appendValueKey appends an order-preserving encoding of a field value.
// Text is case-folded as filters fold it (filter.Fold), so uniqueness,
// lookups and filters agree on which texts are the same.
func appendValueKey(k key, v any) key {
	switch x := v.(type) {
	case string:
		return k.str(filter.Fold(x))
	case float64:
		bits := math.Float64bits(x)
		if x >= 0 {
			bits ^= 1 << 63
		} else {
			bits = ^bits
		}
		return k.uint(bits)
	case bool:
		if x {
			return k.byte(1)
		}
		return k.byte(0)
	case Money:
		return k.str(x.Currency).int(x.Amount)
	case Date:
		return k.int(int64(x.Year*10000 + int(x.Month)*100 + x.Day))
	}
	return k.str(fmt.Sprint(v))
}

func (t *txn) dropFieldIndexes(object, name string, unique, indexed bool) error {
	code := customKinds[object]
	if unique {
		if err := deleteRange(t.tx, t.w.uniqueKey(code, "custom."+name)); err != nil {
			return err
		}
	}
	if indexed {
		return deleteRange(t.tx, t.w.indexKey(code, "custom."+name))
	}
	return nil
}
