package crm

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// checkCustom validates and converts custom values against the object's
// definitions, and fills in defaults on create. old is the stored record's
// custom values (nil on create): a value of a field that has since been
// removed is dropped if it is unchanged, and refused if it is new.
func (t *txn) checkCustom(object string, c *Custom, old Custom, p *problems) error {
	defs, err := t.fieldDefs(object)
	if err != nil {
		return err
	}
	creating := p.id == ""
	byName := make(map[string]*FieldDef, len(defs))
	for i := range defs {
		byName[defs[i].Name] = &defs[i]
	}
	for name, v := range *c {
		d := byName[name]
		if d == nil {
			if ov, had := old[name]; had && equalValues(ov, v) {
				delete(*c, name)
				continue
			}
			p.add("custom."+name, "unknown field")
			continue
		}
		if isEmptyValue(v) {
			delete(*c, name)
			continue
		}
		cv, reason := convertValue(d, v)
		if reason != "" {
			p.add("custom."+name, "%s", reason)
			continue
		}
		(*c)[name] = cv
	}
	for i := range defs {
		d := &defs[i]
		if _, ok := (*c)[d.Name]; ok {
			continue
		}
		if creating && d.Default != nil {
			if cv, reason := convertValue(d, d.Default); reason == "" {
				if *c == nil {
					*c = Custom{}
				}
				(*c)[d.Name] = cv
				continue
			}
		}
		if _, had := old[d.Name]; d.Required && (creating || had) {
			p.add("custom."+d.Name, "is required")
		}
	}
	return nil
}

func isEmptyValue(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(v) == ""
	case []string:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

// convertValue converts v to the canonical type of d and checks d's rules.
// It returns a reason when v is not acceptable.
func convertValue(d *FieldDef, v any) (any, string) {
	switch d.Type {
	case FieldText, FieldSelect, FieldURL, FieldEmail, FieldPhone:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Sprintf("want text, got %T", v)
		}
		var p problems
		switch d.Type {
		case FieldText:
			s = cleanText(&p, "", s, maxLongText)
		case FieldURL:
			s = cleanURL(&p, "", s)
		case FieldEmail:
			s = cleanEmail(&p, "", s)
		case FieldPhone:
			s = cleanPhoneText(&p, "", s)
		case FieldSelect:
			s = strings.TrimSpace(s)
			if !slices.Contains(d.Options, s) {
				return nil, fmt.Sprintf("%q is not one of %s", s, strings.Join(d.Options, ", "))
			}
		}
		if len(p.list) > 0 {
			return nil, p.list[0].Reason
		}
		if d.Pattern != "" {
			if re, err := regexp.Compile(d.Pattern); err == nil && !re.MatchString(s) {
				return nil, fmt.Sprintf("%q does not match %s", s, d.Pattern)
			}
		}
		if r := checkBounds(d, float64(len([]rune(s))), "length"); r != "" {
			return nil, r
		}
		return s, ""
	case FieldNumber:
		f, ok := toFloat(v)
		if !ok {
			return nil, fmt.Sprintf("want a number, got %T", v)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, "must be a finite number"
		}
		return f, checkBounds(d, f, "value")
	case FieldMoney:
		var m Money
		switch x := v.(type) {
		case Money:
			m = x
		case map[string]any:
			a, ok1 := toFloat(x["amount"])
			c, ok2 := x["currency"].(string)
			if !ok1 || !ok2 || a != math.Trunc(a) {
				return nil, "want {amount: integer minor units, currency: code}"
			}
			m = Money{Amount: int64(a), Currency: c}
		default:
			return nil, fmt.Sprintf("want money, got %T", v)
		}
		var p problems
		m = checkMoney(&p, "", m, "", true)
		if m.Currency == "" || len(p.list) > 0 {
			return nil, "want an amount with an ISO-4217 currency"
		}
		return m, checkBounds(d, float64(m.Amount), "amount")
	case FieldDate:
		var dt Date
		switch x := v.(type) {
		case Date:
			dt = x
		case time.Time:
			dt = DateOf(x)
		case string:
			var err error
			if dt, err = ParseDate(strings.TrimSpace(x)); err != nil {
				return nil, fmt.Sprintf("%q is not a date (YYYY-MM-DD)", x)
			}
		default:
			return nil, fmt.Sprintf("want a date, got %T", v)
		}
		if !dt.valid() {
			return nil, fmt.Sprintf("date must be between %d and %d", minYear, maxYear)
		}
		return dt, ""
	case FieldBool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Sprintf("want true or false, got %T", v)
		}
		return b, ""
	case FieldMultiSelect:
		var list []string
		switch x := v.(type) {
		case []string:
			list = slices.Clone(x)
		case []any:
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Sprintf("want a list of text, got an element of type %T", e)
				}
				list = append(list, s)
			}
		default:
			return nil, fmt.Sprintf("want a list of text, got %T", v)
		}
		if len(list) > maxListLen {
			return nil, fmt.Sprintf("has %d entries, limit is %d", len(list), maxListLen)
		}
		for i, s := range list {
			list[i] = strings.TrimSpace(s)
			if !slices.Contains(d.Options, list[i]) {
				return nil, fmt.Sprintf("%q is not one of %s", s, strings.Join(d.Options, ", "))
			}
		}
		slices.Sort(list)
		return slices.Compact(list), ""
	}
	return nil, fmt.Sprintf("field type %q is not supported", d.Type)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func checkBounds(d *FieldDef, f float64, what string) string {
	if d.Min != nil && f < *d.Min {
		return fmt.Sprintf("%s %v is below the minimum %v", what, f, *d.Min)
	}
	if d.Max != nil && f > *d.Max {
		return fmt.Sprintf("%s %v is above the maximum %v", what, f, *d.Max)
	}
	return ""
}
