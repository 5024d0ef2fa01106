package crmio

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// jsonCell converts a decoded JSON value (decoded with UseNumber).
func jsonCell(v any) cell {
	switch x := v.(type) {
	case nil:
		return cell{kind: cNull, json: true}
	case string:
		return cell{s: x, json: true}
	case json.Number:
		return cell{s: string(x), json: true}
	case bool:
		return cell{s: strconv.FormatBool(x), json: true}
	case []any:
		list := make([]string, 0, len(x))
		for _, e := range x {
			switch e := e.(type) {
			case string:
				list = append(list, e)
			case nil:
			default:
				list = append(list, jsonCell(e).text())
			}
		}
		return cell{kind: cList, list: list, json: true}
	case map[string]any:
		return cell{kind: cObject, obj: x, json: true}
	}
	return cell{s: fmt.Sprint(v), json: true}
}

func (rd *Reader) parseJSON(rec []byte, line int) *Row {
	rec = rd.decode(rec)
	text := strings.TrimRight(string(rec), "\r\n")
	row := &Row{Line: line, Raw: []string{text}, json: true}
	if i := firstInvalidUTF8(rec); i >= 0 && rd.opts.Encoding == UTF8 {
		row.Problem = &Problem{Reason: fmt.Sprintf("not valid UTF-8 (byte 0x%02X at offset %d of the line); if the file is Latin-1 or Windows-1252, import it with that Encoding", rec[i], i)}
		return row
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		row.Problem = &Problem{Reason: "not a JSON object: " + strings.TrimPrefix(err.Error(), "json: ")}
		return row
	}
	if obj == nil {
		row.Problem = &Problem{Reason: "not a JSON object: null"}
		return row
	}
	if _, err := dec.Token(); err != io.EOF {
		row.Problem = &Problem{Reason: "not a JSON object: text after the object"}
		return row
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	row.keys = keys
	row.cells = make([]cell, len(keys))
	for i, k := range keys {
		c := jsonCell(obj[k])
		if c.kind == cText && len(c.s) > rd.opts.MaxFieldBytes {
			row.Problem = &Problem{Column: k, Reason: fmt.Sprintf("the field is %d bytes, limit is %d", len(c.s), rd.opts.MaxFieldBytes)}
			row.cells = nil
			return row
		}
		if !rd.opts.KeepFormulaGuard && c.kind == cText {
			c.s = unguardCell(c.s)
		}
		row.cells[i] = c
	}
	return row
}
