package filter

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is the kind of a Value.
type Kind uint8

// Value kinds. The zero Value is KindInvalid, so a forgotten value is
// reported rather than read as null.
const (
	KindInvalid  Kind = iota // not a value: the zero Value, or a builder argument of an unsupported type
	KindNull                 // null: matches unset fields under =, !=, IN and NOT IN
	KindString               // text
	KindNumber               // float64
	KindBool                 // true or false
	KindTime                 // an instant, held in UTC; a date is its midnight UTC
	KindRelative             // an anchor such as now() or start_of_month() plus an offset
)

var kindNames = [...]string{"invalid", "null", "text", "number", "bool", "time", "relative time"}

// String returns the kind's name: "null", "text", "number", "bool",
// "time", "relative time" or "invalid".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Limits of literal values. Times outside the years 0000 to 9999 have no
// text form, and offsets are bounded so that adding one to any such time
// cannot overflow.
const (
	// Week is seven days, the largest unit of a relative offset.
	Week = 7 * Day
	// Day is 24 hours: offsets count UTC days, which have no daylight
	// saving changes.
	Day = 24 * time.Hour
	// MaxOffset is the largest offset (either sign) of a relative time,
	// about 191 years.
	MaxOffset = 10000 * Week
)

// Value is a typed literal of a filter: text, a number, a bool, an instant
// (dates are instants at midnight UTC), a relative time, or null. Values
// are immutable and built with the constructors below, which keep them
// canonical (times in UTC, offsets in whole seconds), so two values that
// print the same are Equal.
type Value struct {
	kind   Kind
	str    string // KindString: the text; KindInvalid: why the value is invalid
	num    float64
	b      bool
	t      time.Time
	anchor Anchor
	offset time.Duration
}

// StringValue returns a text value.
func StringValue(s string) Value { return Value{kind: KindString, str: s} }

// NumberValue returns a number value. NaN and the infinities are not
// numbers a filter can hold: they yield an invalid value.
func NumberValue(f float64) Value {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return invalidValue(fmt.Sprintf("%v is not a finite number", f))
	}
	return Value{kind: KindNumber, num: f}
}

// BoolValue returns true or false.
func BoolValue(b bool) Value { return Value{kind: KindBool, b: b} }

// TimeValue returns the instant t, converted to UTC. Times outside the
// years 0000 to 9999 (in UTC) yield an invalid value.
func TimeValue(t time.Time) Value {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return invalidValue(fmt.Sprintf("year %d is outside 0000 to 9999", y))
	}
	return Value{kind: KindTime, t: t}
}

// DateValue returns the date as an instant at midnight UTC, written
// 2024-05-01 in the text form. Out-of-range months and days are normalised
// as time.Date does.
func DateValue(year int, month time.Month, day int) Value {
	return TimeValue(time.Date(year, month, day, 0, 0, 0, 0, time.UTC))
}

// RelativeValue returns the time anchor+offset, resolved against the
// evaluation's now: RelativeValue(Now, -60*Day) is now() - 60d. The offset
// must be a whole number of seconds no larger than MaxOffset; otherwise the
// value is invalid.
func RelativeValue(anchor Anchor, offset time.Duration) Value {
	switch {
	case !anchor.valid():
		return invalidValue(fmt.Sprintf("unknown time anchor %d", int(anchor)))
	case offset%time.Second != 0:
		return invalidValue(fmt.Sprintf("offset %v is not a whole number of seconds", offset))
	case offset > MaxOffset || offset < -MaxOffset:
		return invalidValue(fmt.Sprintf("offset %v is larger than %v", offset, MaxOffset))
	}
	return Value{kind: KindRelative, anchor: anchor, offset: offset}
}

// Ago returns now() - d, for "within the last 30 days" filters:
// Where("last_activity_at").Ge(Ago(30*Day)).
func Ago(d time.Duration) Value { return RelativeValue(Now, -d) }

// NullValue returns null.
func NullValue() Value { return Value{kind: KindNull} }

// CalendarDate is a record value (or builder argument) that is a calendar
// date without a time of day, such as crm.Date. Eval compares it by date;
// see the package documentation.
type CalendarDate interface {
	// Time returns the date's midnight; its year, month and day (in its
	// own location) are the date.
	Time() time.Time
	// IsZero reports whether the date is unset.
	IsZero() bool
}

// ValueOf converts a Go value to a Value: nil is null; string, bool, every
// integer and float type, time.Time, CalendarDate and Value convert as
// expected. Other types, and values that no Value can hold (NaN, years
// beyond 9999), return an error matching ErrInvalid.
func ValueOf(v any) (Value, error) {
	val := valueOf(v)
	if val.kind == KindInvalid {
		return Value{}, &FieldError{Reason: val.problem()}
	}
	return val, nil
}

// valueOf is ValueOf returning an invalid Value instead of an error.
func valueOf(v any) Value {
	switch x := v.(type) {
	case nil:
		return NullValue()
	case Value:
		return x
	case string:
		return StringValue(x)
	case bool:
		return BoolValue(x)
	case time.Time:
		return TimeValue(x)
	case CalendarDate:
		y, m, d := x.Time().Date()
		return DateValue(y, m, d)
	}
	if f, ok := toFloat(v); ok {
		return NumberValue(f)
	}
	return invalidValue(fmt.Sprintf("a value of type %T is not supported", v))
}

// toFloat converts any Go number to float64.
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
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

func invalidValue(reason string) Value { return Value{kind: KindInvalid, str: reason} }

// Kind returns the value's kind.
func (v Value) Kind() Kind { return v.kind }

// AsString returns the text of a text value.
func (v Value) AsString() (string, bool) { return v.str, v.kind == KindString }

// AsNumber returns the number of a number value.
func (v Value) AsNumber() (float64, bool) { return v.num, v.kind == KindNumber }

// AsBool returns the truth of a bool value.
func (v Value) AsBool() (bool, bool) { return v.b, v.kind == KindBool }

// AsTime returns the instant (in UTC) of a time value.
func (v Value) AsTime() (time.Time, bool) { return v.t, v.kind == KindTime }

// AsRelative returns the anchor and offset of a relative time.
func (v Value) AsRelative() (Anchor, time.Duration, bool) {
	return v.anchor, v.offset, v.kind == KindRelative
}

// Resolve returns a relative time as the absolute time it means at now;
// other values are returned unchanged.
func (v Value) Resolve(now time.Time) Value {
	if v.kind != KindRelative {
		return v
	}
	return TimeValue(v.anchor.At(now).Add(v.offset))
}

// Equal reports whether v and w are the same literal.
func (v Value) Equal(w Value) bool {
	if v.kind != w.kind {
		return false
	}
	switch v.kind {
	case KindString, KindInvalid:
		return v.str == w.str
	case KindNumber:
		return v.num == w.num
	case KindBool:
		return v.b == w.b
	case KindTime:
		return v.t.Equal(w.t)
	case KindRelative:
		return v.anchor == w.anchor && v.offset == w.offset
	}
	return true // null
}

// String returns the value in the text syntax: "quoted text", 12.5, true,
// null, 2024-05-01, 2024-05-01T10:00:00Z, now() - 60d. An invalid value
// prints as <invalid: reason>, which does not parse.
func (v Value) String() string {
	var b strings.Builder
	writeValue(&b, v)
	return b.String()
}

// problem returns why v cannot appear in a filter, or "".
func (v Value) problem() string {
	switch v.kind {
	case KindInvalid:
		if v.str == "" {
			return "missing value"
		}
		return v.str
	case KindString:
		if !utf8.ValidString(v.str) {
			return "text is not valid UTF-8"
		}
	case KindNumber, KindBool, KindTime, KindRelative, KindNull:
	default:
		return fmt.Sprintf("unknown value kind %d", int(v.kind))
	}
	return ""
}
