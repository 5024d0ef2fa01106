package crmio

import (
	"fmt"
	"slices"
	"strings"
)

// fieldFor returns the field a mapping target names.
func (im *importer[T]) fieldFor(target string) *field[T] {
	for _, f := range im.k.fields {
		if f.name == target {
			return f
		}
	}
	for _, f := range im.k.stamps {
		if f.name == target {
			return f
		}
	}
	if f, ok := im.extra[target]; ok {
		return f
	}
	var f *field[T]
	if name, ok := strings.CutPrefix(target, "custom."); ok {
		if d, ok := im.custom[name]; ok {
			f = customField(d, im.k.custom)
		}
	} else if sys, ok := strings.CutPrefix(target, "external_id."); ok && sys != "" && im.k.extIDs != nil {
		f = externalIDField(sys, im.k.extIDs)
	}
	if f != nil {
		im.extra[target] = f
	}
	return f
}

// bind checks that column col may feed field target; it returns nil and
// records why when the column is ignored.
func (im *importer[T]) bind(col, target string) (*field[T], error) {
	if target == "" || target == "-" {
		return nil, nil
	}
	f := im.fieldFor(target)
	if f == nil {
		if im.explicit {
			return nil, fmt.Errorf("%w: column %q: %s has no field %q", ErrMapping, col, im.k.name, target)
		}
		im.ignore(col)
		return nil, nil
	}
	if f.readOnly {
		im.ignore(col)
		return nil, nil
	}
	if other, dup := im.bound[f]; dup && !f.multi && other != col {
		if im.explicit {
			return nil, fmt.Errorf("%w: columns %q and %q both map to %s, which holds one value", ErrMapping, other, col, f.name)
		}
		im.ignore(col)
		return nil, nil
	}
	if _, dup := im.bound[f]; !dup {
		im.bound[f] = col
	}
	for _, p := range f.paths {
		if _, ok := im.paths[p]; !ok {
			im.paths[p] = col
		}
	}
	return f, nil
}

// The columns WriteRejects adds to the rows of a rejects file.
const (
	lineColumn  = "_line"
	errorColumn = "_error"
)

// rejectsColumn reports whether col is a _line or _error column of a
// rejects file, which an import skips quietly (unless the mapping maps it
// to a field): it is not data, not an unknown column, and the next
// rejects file writes its own.
func (im *importer[T]) rejectsColumn(col string) bool {
	if col != lineColumn && col != errorColumn {
		return false
	}
	target := im.mapping[col]
	return !im.explicit || target == "" || target == "-"
}

// stripRejectsColumns returns the fields of a CSV row (or the header)
// without the _line and _error columns of a rejects file.
func (im *importer[T]) stripRejectsColumns(raw []string) []string {
	if len(im.rejectsCols) == 0 || raw == nil {
		return raw
	}
	out := make([]string, 0, len(raw))
	for i, f := range raw {
		if !slices.Contains(im.rejectsCols, i) {
			out = append(out, f)
		}
	}
	return out
}

func (im *importer[T]) ignore(col string) {
	if !im.ignored[col] {
		im.ignored[col] = true
		im.res.Ignored = append(im.res.Ignored, col)
	}
}

// compile binds the CSV header's columns to fields.
func (im *importer[T]) compile(header []string) error {
	if im.explicit {
		for col := range im.mapping {
			if !slices.Contains(header, col) {
				return fmt.Errorf("%w: the mapping names column %q, which the file does not have", ErrMapping, col)
			}
		}
	}
	for i, col := range header {
		if im.rejectsColumn(col) {
			im.rejectsCols = append(im.rejectsCols, i)
			continue
		}
		target, ok := im.mapping[col]
		if !ok {
			im.ignore(col)
			continue
		}
		f, err := im.bind(col, target)
		if err != nil {
			return err
		}
		if f != nil {
			im.bindings = append(im.bindings, binding[T]{col: col, idx: i, f: f})
		}
	}
	slices.SortStableFunc(im.bindings, func(a, b binding[T]) int { return boolInt(a.f.late) - boolInt(b.f.late) })
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// jsonBindings returns the bindings of a JSON row's keys, flattening
// nested objects that are not bound themselves.
func (im *importer[T]) jsonBindings(row *Row) ([]binding[T], []cell, error) {
	var bs []binding[T]
	var cells []cell
	var walk func(path string, c cell) error
	walk = func(path string, c cell) error {
		ck := path
		if c.kind == cObject {
			ck += "\x00{}"
		}
		b, seen := im.jsonBind[ck]
		if !seen {
			target, ok := "", false
			if im.explicit {
				target, ok = im.mapping[path]
			} else {
				target = guessField(objectInfos()[im.k.name], nil, normHeader(path))
				if name, isCustom := strings.CutPrefix(target, "custom."); isCustom {
					if _, defined := im.custom[name]; !defined {
						target = ""
					}
				}
				if target == "" {
					for name, d := range im.custom {
						if normHeader(name) == normHeader(path) || (d.Label != "" && normHeader(d.Label) == normHeader(path)) {
							target = "custom." + name
						}
					}
				}
				ok = target != ""
			}
			if f := im.fieldFor(target); ok && f != nil && c.kind == cObject && !f.object && !im.explicit {
				ok = false // look inside the object instead
			}
			if ok {
				f, err := im.bind(path, target)
				if err != nil {
					return err
				}
				if f != nil {
					b = &binding[T]{col: path, f: f}
					if !im.explicit {
						if im.mapping == nil {
							im.mapping = Mapping{}
							im.res.Mapping = im.mapping
						}
						im.mapping[path] = f.name
					}
				}
			} else if c.kind != cObject {
				im.ignore(path)
			}
			im.jsonBind[ck] = b
		}
		if b != nil {
			bs = append(bs, *b)
			cells = append(cells, c)
			return nil
		}
		if c.kind == cObject {
			keys := make([]string, 0, len(c.obj))
			for k := range c.obj {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				if err := walk(path+"."+k, jsonCell(c.obj[k])); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for i, key := range row.keys {
		if im.rejectsColumn(key) {
			continue
		}
		if err := walk(key, row.cells[i]); err != nil {
			return nil, nil, err
		}
	}
	// Late fields last.
	idx := make([]int, len(bs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return boolInt(bs[a].f.late) - boolInt(bs[b].f.late) })
	sb, sc := make([]binding[T], len(bs)), make([]cell, len(bs))
	for i, j := range idx {
		sb[i], sc[i] = bs[j], cells[j]
	}
	return sb, sc, nil
}

// build parses a row into a record.
func (im *importer[T]) build(row *Row) (rec T, rc *rowCtx, set []*field[T], nonEmpty bool, err error) {
	rc = &rowCtx{o: &im.o, rv: im.rv}
	bs, cells := im.bindings, row.cells
	if im.o.Format == JSONL {
		if bs, cells, err = im.jsonBindings(row); err != nil {
			return rec, rc, nil, false, err
		}
	}
	for i, b := range bs {
		c := cells[b.idx]
		if im.o.Format == JSONL {
			c = cells[i]
		}
		if c.empty() {
			if im.o.Overwrite {
				set = append(set, b.f)
			}
			continue
		}
		nonEmpty = true
		rc.col, rc.paths = b.col, b.f.paths
		b.f.parse(rc, &rec, c)
		set = append(set, b.f)
	}
	return rec, rc, set, nonEmpty, nil
}
