// Package filter is crmkit's segmentation language: the conditions that
// select contacts, companies and deals for segments, lists, reports and
// automations, such as
//
//	lifecycle = "customer" AND address.country IN ("DE", "AT")
//	  AND NOT tags CONTAINS "vip" AND last_activity_at < now() - 60d
//
// One syntax tree (Expr: *AndExpr, *OrExpr, *NotExpr, *Cond) has three
// faces that convert into one another without loss:
//
//   - text: Parse and Format, for people, URLs and storage;
//   - JSON: ParseJSON and ToJSON, nested groups for UIs and APIs;
//   - code: Where("address.country").In("DE", "AT") with And, Or and Not.
//
// Check validates a tree against a Schema of field types, Eval matches one
// record, and Resolve turns relative times into absolute ones for a query
// planner. The tree's group types are named AndExpr, OrExpr and NotExpr
// because And, Or and Not are the builder functions that make them.
//
// Field names are the JSON names of record fields, with dots for nested
// ones: first_name, emails, lifecycle, tags, address.country, amount,
// custom.score. What each name means, and its type, is up to the caller's
// Record and Schema; package crm supplies both for its records.
//
// Trees are plain values that no function of this package modifies, and
// every function is safe for concurrent use. This package imports only
// the standard library, so that package crm (and anything else) can
// import it.
//
// # Text form
//
// Keywords (AND, OR, NOT, IN, BETWEEN, CONTAINS, STARTS WITH, MATCHES, IS,
// SET) and the literals true, false and null are case-insensitive and
// reserved: a field name of one segment cannot be a keyword (custom.set is
// fine). Field names are case-sensitive. NOT binds tighter than AND, and
// AND tighter than OR: NOT a AND b OR c is ((NOT a) AND b) OR c. Spaces,
// tabs and newlines separate tokens anywhere.
//
//	filter     = or_expr .
//	or_expr    = and_expr { "OR" and_expr } .
//	and_expr   = unary { "AND" unary } .
//	unary      = "NOT" unary | "(" or_expr ")" | condition .
//	condition  = field ( compare value
//	                   | [ "NOT" ] "IN" "(" value { "," value } ")"
//	                   | "BETWEEN" value "AND" value
//	                   | [ "NOT" ] "CONTAINS" value
//	                   | "STARTS" "WITH" value
//	                   | "MATCHES" value
//	                   | "IS" [ "NOT" ] "SET" ) .
//	compare    = "=" | "!=" | "<" | "<=" | ">" | ">=" .
//	field      = name { "." name } .          (no spaces around the dots)
//	name       = letter { letter | digit } .   (ASCII; "_" counts as a letter)
//	value      = string | [ "-" ] number | date | timestamp
//	           | "true" | "false" | "null" | relative .
//	string     = `"` { character | escape } `"` .
//	escape     = `\"` | `\\` | `\/` | `\b` | `\f` | `\n` | `\r` | `\t` | `\u` hex hex hex hex .
//	number     = digits [ "." digits ] [ ( "e" | "E" ) [ "+" | "-" ] digits ] .
//	date       = digit digit digit digit "-" digit digit "-" digit digit .
//	timestamp  = date "T" hh ":" mm ":" ss [ "." digits ] ( "Z" | ( "+" | "-" ) hh ":" mm ) .
//	relative   = anchor "(" ")" [ ( "+" | "-" ) offset ] .
//	anchor     = "now" | "today" | "start_of_week" | "start_of_month"
//	           | "start_of_quarter" | "start_of_year" .
//	offset     = digits ( "s" | "m" | "h" | "d" | "w" ) .   (no space: 60d)
//
// Strings take JSON's escapes (a \u escape of a character beyond the BMP
// is a surrogate pair, as in JSON); raw control characters and invalid
// UTF-8 are refused, so every parsed string is valid UTF-8. Dates and
// timestamps are written without quotes, so a quoted literal is always
// text: a value's type never depends on its content. A timestamp is RFC
// 3339 and is converted to UTC; a date is midnight UTC of that day. Offset
// units are seconds, minutes, hours, days of 24 hours and weeks of 7 days,
// up to MaxOffset; calendar months are not offsets (use start_of_month()
// and friends for month boundaries). Null is allowed only with =, !=, IN
// and NOT IN.
//
// Parse reports the first problem as a *SyntaxError with its line and
// column (in characters, from 1), what was expected and what was found,
// and for the usual mistakes (==, single quotes, an unknown operator) a
// hint; Check suggests close names for an unknown field when the schema
// lists its fields (FieldLister). For address.country IN ("DE",):
//
//	filter: 1:26: expected a value, found ")"
//
// Format prints the canonical form: keywords upper case, literals and
// anchors lower case, single spaces, offsets in their largest exact unit
// (now() - 2w), numbers in the shortest exact decimal form, timestamps in
// UTC, and parentheses around every group that is an operand of another
// (a = 1 OR (b = 2 AND c = 3)). Parse(Format(e)) is Equal to e for every
// e that passes Check(e, nil); parsing never flattens parentheses, so
// a AND (b AND c) keeps its shape.
//
// # JSON form
//
// Groups and conditions nest like HubSpot's filter groups:
//
//	{"and": [
//	  {"field": "lifecycle", "op": "=", "value": "customer"},
//	  {"or": [
//	    {"field": "address.country", "op": "IN", "values": ["DE", "AT"]},
//	    {"field": "amount", "op": "BETWEEN", "values": [1000, 5000]}
//	  ]},
//	  {"not": {"field": "tags", "op": "CONTAINS", "value": "vip"}},
//	  {"field": "emails", "op": "IS SET"},
//	  {"field": "last_activity_at", "op": "<", "value": {"relative": "now() - 60d"}},
//	  {"field": "created_at", "op": ">=", "value": {"date": "2024-05-01"}},
//	  {"field": "closed_at", "op": "<", "value": {"time": "2024-05-01T10:00:00Z"}}
//	]}
//
// "op" is the operator's text (ParseOp also accepts "not_in", "eq", "gte"
// and the like). One-value operators take "value", IN, NOT IN and BETWEEN
// take "values", IS SET and IS NOT SET take neither. Values are JSON
// strings, numbers, bools and null; times are objects with one key:
// "date" (2024-05-01, midnight UTC), "time" (RFC 3339) or "relative" (the
// text form of a relative time). Unknown keys are errors, so typos do not
// pass silently. A group of one operand is read as that operand, and an
// empty group is an error. Errors are *JSONError with the path of the
// problem:
//
//	filter: and[1].or[0].op: unknown operator "=="
//
// # Types
//
// Check(e, schema) reports unknown fields, operators a field's type does
// not support (CONTAINS on a number, < on a bool) and values of the wrong
// type (amount > "abc") as *FieldError, all matching ErrInvalid. The
// types are TypeText, TypeNumber (money amounts are numbers; their unit
// is the schema's choice), TypeBool, TypeDate, TypeTime and TypeList (a
// list of text, such as tags or emails); see Type for the operators of
// each.
//
// # Evaluation
//
// Eval(e, record, now) matches one record. Its rules:
//
// Unset fields. A field is unset when the record does not have it, or its
// value is nil, "", an empty list, a zero time or date, or NaN (see
// Record). Logic is two-valued, not SQL's three-valued: every condition is
// true or false, never unknown. On an unset field the positive operators
// (=, <, <=, >, >=, IN, BETWEEN, CONTAINS, STARTS WITH, MATCHES) are
// false, except that = null and IN (..., null) match it; IS SET is false
// and IS NOT SET true. Each negated operator is exactly NOT of its
// positive one, so !=, NOT IN and NOT CONTAINS are true on an unset field
// (address.country != "DE" includes contacts without a country), and NOT flips
// any result: NOT amount < 100 matches deals without an amount, while
// amount >= 100 does not. NOT tags CONTAINS "vip" and
// tags NOT CONTAINS "vip" are the same filter.
//
// Text. Every text comparison is case-insensitive, under Unicode simple
// case folding (strings.EqualFold's relation): =, IN, the orderings (which
// compare folded code points), CONTAINS, STARTS WITH and MATCHES alike.
// Keywords such as tags and stages are stored in lower case and emails
// compare case-insensitively in the CRM, so "Customer" and "customer"
// mean the same. CONTAINS on text is a substring test. MATCHES matches
// the whole value against a pattern in which * is any run of characters,
// ? one character, and \ makes the next character literal:
// email MATCHES "*@example.com".
//
// Lists. On a list field every positive operator is true when some
// element satisfies it: tags = "vip", tags CONTAINS "vip" (an element
// equals "vip", not a substring of one), tags IN ("a", "b") (has any of
// them), emails MATCHES "*@example.com". The negations are true when no
// element does: tags NOT IN ("a", "b") has none of them.
//
// Numbers compare exactly, also int64 record values beyond 2^53.
//
// Times. A record's time.Time is an instant and compares exactly with the
// filter's instant: < excludes the instant itself, <= and BETWEEN (which
// is inclusive at both ends) include it. A date literal is midnight UTC,
// so created_at = 2024-05-01 matches only that instant; write
// created_at >= 2024-05-01 AND created_at < 2024-05-02 for the day. A
// record's CalendarDate (such as crm.Date) is a day, and the filter's
// value is cut to its UTC date before comparing, so
// close_date <= now() + 30d is "on or before the day 30 days from now"
// and birthday = today() works as written.
//
// Relative times resolve against Eval's now, in UTC: now() is now itself;
// today() is midnight of now's date; start_of_week() midnight of the
// Monday on or before today (ISO weeks); start_of_month(),
// start_of_quarter() and start_of_year() midnight of the first day of
// the month, of January, April, July or October, and of January. The
// offset is added after. Resolve(e, now) rewrites them as absolute
// times, and Eval gives the same answers on the result.
//
// Errors. Eval returns an error matching ErrInvalid when the tree is
// malformed or a record value cannot be compared with the filter's value
// (text with a number, < on a list). It evaluates AND and OR from left to
// right and stops at the first operand that decides the result, so it
// reports problems only in the conditions it reached: Check first.
package filter
