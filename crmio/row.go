package crmio

import (
	"encoding/json"
	"strings"
)

// Row is one row of a file: a CSV record under the header, or a JSON
// Lines object.
type Row struct {
	// Line is the physical line the row starts on, counting from 1 and
	// counting the newlines inside quoted fields, as an editor shows it.
	Line int
	// Raw is the row as read: the CSV fields, or the JSON line as one
	// element. It is what a reject writes back.
	Raw []string
	// Problem is set when the row could not be read: bad quoting, a wrong
	// number of fields, invalid UTF-8, a field or row too large, malformed
	// JSON. Such a row has no usable values.
	Problem *Problem

	keys  []string // CSV: the header (shared); JSONL: the object's keys
	cells []cell
	json  bool
	end   int64  // input offset after the row
	crc   uint32 // CRC-32C of the input up to end
}

// Columns returns the row's column names: the CSV header, or the keys of
// the JSON object in sorted order.
func (r *Row) Columns() []string { return r.keys }

// Get returns the value of a column ("" if there is none). A JSON value
// that is not a string is returned in its JSON form, and a nested key
// may be named with dots ("address.city").
func (r *Row) Get(column string) string {
	for i, k := range r.keys {
		if k == column && i < len(r.cells) {
			return r.cells[i].text()
		}
	}
	if head, rest, ok := strings.Cut(column, "."); ok {
		for i, k := range r.keys {
			if k == head && i < len(r.cells) && r.cells[i].kind == cObject {
				if v, ok := lookupPath(r.cells[i].obj, rest); ok {
					return jsonCell(v).text()
				}
			}
		}
	}
	return ""
}

// Set replaces the value of a column, for a Transform that repairs a
// row; for a JSON Lines row it also adds a key. It reports whether the
// value was set (false for a column a CSV file does not have).
func (r *Row) Set(column, value string) bool {
	for i, k := range r.keys {
		if k == column && i < len(r.cells) {
			r.cells[i] = cell{s: value, json: r.json}
			return true
		}
	}
	if !r.json || r.Problem != nil {
		return false
	}
	r.keys = append(r.keys, column)
	r.cells = append(r.cells, cell{s: value, json: true})
	return true
}

func lookupPath(obj map[string]any, path string) (any, bool) {
	head, rest, more := strings.Cut(path, ".")
	v, ok := obj[head]
	if !ok {
		return nil, false
	}
	if !more {
		return v, true
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	return lookupPath(m, rest)
}

// cell is one value of a row: text (all of CSV), or a JSON value.
type cell struct {
	s    string
	kind cellKind
	list []string
	obj  map[string]any
	json bool
}

type cellKind uint8

const (
	cText cellKind = iota
	cNull
	cList
	cObject
)

func (c cell) empty() bool {
	switch c.kind {
	case cNull:
		return true
	case cList:
		return len(c.list) == 0
	case cObject:
		return len(c.obj) == 0
	}
	return strings.TrimSpace(c.s) == ""
}

// text returns the cell as text: lists joined with "; ", objects as JSON.
func (c cell) text() string {
	switch c.kind {
	case cList:
		return strings.Join(c.list, "; ")
	case cObject:
		b, _ := json.Marshal(c.obj)
		return string(b)
	}
	return c.s
}
