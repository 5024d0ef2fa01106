package crmio

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// formatCell writes an exported value as CSV text.
func formatCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []string:
		return joinList(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case crm.Money:
		return x.String()
	case crm.Date:
		return x.String()
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format(time.RFC3339Nano)
	case time.Duration:
		if x == 0 {
			return ""
		}
		return x.String()
	case map[string]string:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = k + ":" + x[k]
		}
		return joinList(keys)
	}
	return fmt.Sprint(v)
}

// jsonValue converts an exported value for JSON Lines, or reports that
// it is empty and is left out.
func jsonValue(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case string:
		return x, x != ""
	case []string:
		return x, len(x) > 0
	case crm.Money:
		return x, !x.IsZero()
	case crm.Date:
		return x.String(), !x.IsZero()
	case time.Time:
		if x.IsZero() {
			return nil, false
		}
		return x.UTC().Format(time.RFC3339Nano), true
	case time.Duration:
		return x.String(), x != 0
	case map[string]string:
		return x, len(x) > 0
	}
	return v, true
}
