package crmio

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// DefaultDateLayout is the layout tried for dates written with slashes
// when ImportOptions.DateLayout is empty: day first, as most of the world
// writes them (02/01/2006 is the 2nd of January). Set
// ImportOptions.DateLayout to "01/02/2006" for files written month first.
const DefaultDateLayout = "02/01/2006"

// dateLayouts are the unambiguous layouts every date and time field
// accepts, before the configurable one.
var dateLayouts = []string{
	"2006-01-02", "2006/01/02", "2006-1-2", "02.01.2006", "2.1.2006",
	"2 Jan 2006", "02 Jan 2006", "2 January 2006", "Jan 2, 2006", "January 2, 2006",
	"Jan 2 2006", "2-Jan-2006", "02-Jan-2006",
}

var timeLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05",
	"2006-01-02 15:04", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05 -0700 MST",
	"2006-01-02 15:04:05.999999999",
}

// ParseDate parses a calendar date. It accepts ISO 8601 ("2006-01-02"),
// RFC 3339 timestamps (the date in the timestamp's zone), dotted day-first
// dates ("02.01.2006"), dates with month names ("2 Jan 2006", "Jan 2,
// 2006") and dates in layout, the layout of the file's slashed dates; ""
// means DefaultDateLayout (day first). Single-digit days and months are
// accepted in layout too ("2/1/2006").
func ParseDate(s, layout string) (crm.Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return crm.Date{}, nil
	}
	if layout == "" {
		layout = DefaultDateLayout
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return crm.DateOf(t), nil
		}
	}
	for _, l := range layoutVariants(layout) {
		if t, err := time.Parse(l, s); err == nil {
			return crm.DateOf(t), nil
		}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return crm.DateOf(t), nil
		}
	}
	return crm.Date{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD or %s)", s, layoutName(layout))
}

// parseTime parses a point in time: RFC 3339, ISO dates and times without
// a zone (taken in loc), and any date ParseDate accepts (midnight in loc).
func parseTime(s, layout string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if layout == "" {
		layout = DefaultDateLayout
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	for _, l := range layoutVariants(layout) {
		for _, suffix := range []string{" 15:04", " 15:04:05", " 3:04 PM", " 3:04:05 PM"} {
			if t, err := time.ParseInLocation(l+suffix, s, loc); err == nil {
				return t, nil
			}
		}
	}
	if d, err := ParseDate(s, layout); err == nil {
		return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time (want RFC 3339, YYYY-MM-DD HH:MM or %s HH:MM)", s, layoutName(layout))
}

// layoutVariants returns layout and its form with single-digit days and
// months.
func layoutVariants(layout string) []string {
	short := strings.NewReplacer("02", "2", "01", "1").Replace(layout)
	if short == layout {
		return []string{layout}
	}
	return []string{layout, short}
}

// layoutName writes a Go layout the way people read it: DD/MM/YYYY.
func layoutName(layout string) string {
	return strings.NewReplacer("2006", "YYYY", "01", "MM", "02", "DD", "15", "HH", "04", "MM", "05", "SS").Replace(layout)
}

// parseDuration parses a Go duration ("1h30m"), a clock duration
// ("1:30:00", "1:30" as hours and minutes) or a number of seconds.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 || n > float64(math.MaxInt64/int64(time.Second)) {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	parts := strings.Split(s, ":")
	if len(parts) == 2 || len(parts) == 3 {
		var d time.Duration
		units := []time.Duration{time.Hour, time.Minute, time.Second}
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || (i > 0 && n > 59) {
				return 0, fmt.Errorf("%q is not a duration", s)
			}
			d += time.Duration(n) * units[i]
		}
		return d, nil
	}
	return 0, fmt.Errorf("%q is not a duration (want seconds, 1h30m or H:MM:SS)", s)
}
