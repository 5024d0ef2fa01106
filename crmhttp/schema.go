package crmhttp

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
)

// schemaTypes are the Go types of the OpenAPI document's schemas, whose
// JSON Schemas are reflected from their json tags (jsonSchema). The other
// names of the route table are described by hand in schemaOf.
var schemaTypes = map[string]reflect.Type{
	"Contact":              reflect.TypeFor[crm.Contact](),
	"Company":              reflect.TypeFor[crm.Company](),
	"Deal":                 reflect.TypeFor[crm.Deal](),
	"Activity":             reflect.TypeFor[crm.Activity](),
	"Purchase":             reflect.TypeFor[crm.Purchase](),
	"Pipeline":             reflect.TypeFor[crm.Pipeline](),
	"FieldDef":             reflect.TypeFor[crm.FieldDef](),
	"Segment":              reflect.TypeFor[crm.Segment](),
	"WorkspaceInfo":        reflect.TypeFor[crm.WorkspaceInfo](),
	"ContactPage":          reflect.TypeFor[crm.Page[crm.Contact]](),
	"CompanyPage":          reflect.TypeFor[crm.Page[crm.Company]](),
	"DealPage":             reflect.TypeFor[crm.Page[crm.Deal]](),
	"ActivityPage":         reflect.TypeFor[crm.Page[crm.Activity]](),
	"PurchasePage":         reflect.TypeFor[crm.Page[crm.Purchase]](),
	"PipelinePage":         reflect.TypeFor[crm.Page[crm.Pipeline]](),
	"TimelinePage":         reflect.TypeFor[crm.Page[crm.TimelineEntry]](),
	"RecordPage":           reflect.TypeFor[crm.Page[any]](),
	"FieldDefs":            reflect.TypeFor[FieldDefs](),
	"Segments":             reflect.TypeFor[Segments](),
	"SegmentPatch":         reflect.TypeFor[SegmentPatch](),
	"Count":                reflect.TypeFor[Count](),
	"Completion":           reflect.TypeFor[Completion](),
	"StageMove":            reflect.TypeFor[StageMove](),
	"LossReason":           reflect.TypeFor[LossReason](),
	"BatchResults":         reflect.TypeFor[BatchResults](),
	"SearchResults":        reflect.TypeFor[SearchResults](),
	"Duplicates":           reflect.TypeFor[Duplicates](),
	"MergeRequest":         reflect.TypeFor[MergeRequest](),
	"ImportResult":         reflect.TypeFor[ImportResult](),
	"ImportProgress":       reflect.TypeFor[ImportProgress](),
	"Problem":              reflect.TypeFor[Problem](),
	"PipelineReport":       reflect.TypeFor[report.PipelineReport](),
	"ForecastReport":       reflect.TypeFor[report.ForecastReport](),
	"ConversionReport":     reflect.TypeFor[report.ConversionReport](),
	"LeadConversionReport": reflect.TypeFor[report.LeadConversionReport](),
	"ChurnReport":          reflect.TypeFor[report.ChurnReport](),
	"RevenueReport":        reflect.TypeFor[report.RevenueReport](),
	"OperationsReport":     reflect.TypeFor[report.OperationsReport](),
}

// inputSchemas are the record types a request body also takes: their
// request schema ("ContactInput") requires nothing, since the CRM fills in
// what a body leaves out and says what is missing (422).
var inputSchemas = map[string]bool{"Contact": true, "Company": true, "Deal": true, "Activity": true,
	"Purchase": true, "Pipeline": true, "FieldDef": true, "Segment": true}

var (
	timeType      = reflect.TypeFor[time.Time]()
	durationType  = reflect.TypeFor[time.Duration]()
	dateType      = reflect.TypeFor[crm.Date]()
	kindType      = reflect.TypeFor[crm.Kind]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
)

// jsonSchema is the JSON Schema (2020-12, as OpenAPI 3.1 takes it) of the
// JSON encoding/json writes for values of t: objects with the properties
// of the json tags (embedded structs inlined), required unless omitempty
// or omitzero can leave them out; arrays; times as date-time strings;
// null where a nil pointer, slice or map writes null. A type with its own
// MarshalJSON that is not known here is any value ({}). With input, no
// property is required.
func jsonSchema(t reflect.Type, input bool) map[string]any {
	g := schemaGen{input: input, path: map[reflect.Type]bool{}}
	return g.of(t)
}

type schemaGen struct {
	input bool
	path  map[reflect.Type]bool // the struct types being described, against recursion
}

func (g *schemaGen) of(t reflect.Type) map[string]any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case durationType:
		return map[string]any{"type": "integer", "description": "nanoseconds"}
	case dateType:
		return map[string]any{"type": []any{"string", "null"}, "format": "date"}
	case kindType:
		return map[string]any{"type": "string", "enum": kindNames()}
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface &&
		(t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType)) {
		return map[string]any{} // a JSON form of its own
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.String && t.Implements(textType) {
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Pointer:
		return nullable(g.of(t.Elem()))
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": []any{"string", "null"}, "contentEncoding": "base64"}
		}
		return map[string]any{"type": []any{"array", "null"}, "items": g.of(t.Elem())}
	case reflect.Array:
		return map[string]any{"type": "array", "items": g.of(t.Elem()), "minItems": t.Len(), "maxItems": t.Len()}
	case reflect.Map:
		return map[string]any{"type": []any{"object", "null"}, "additionalProperties": g.of(t.Elem())}
	case reflect.Struct:
		if g.path[t] {
			return map[string]any{} // a type that holds itself
		}
		g.path[t] = true
		defer delete(g.path, t)
		props := map[string]any{}
		var required []string
		g.fields(t, props, &required)
		s := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	}
	return map[string]any{}
}

// fields adds the properties of struct t's fields, and those of its
// embedded structs as encoding/json inlines them.
func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.of(ft)
		omit := strings.Contains(","+opts+",", ",omitzero,") ||
			(strings.Contains(","+opts+",", ",omitempty,") && ft.Kind() != reflect.Struct)
		if !omit && !g.input {
			*required = append(*required, name)
		}
	}
}

// nullable lets s be null too.
func nullable(s map[string]any) map[string]any {
	switch t := s["type"].(type) {
	case string:
		s["type"] = []any{t, "null"}
	case []any:
		for _, x := range t {
			if x == "null" {
				return s
			}
		}
		s["type"] = append(t, "null")
	}
	return s
}

// kindNames are the names a crm.Kind is written as.
func kindNames() []any {
	var names []any
	for _, k := range append(crm.RecordKinds(), crm.KindSegment, crm.KindWorkspace, crm.AnyKind) {
		names = append(names, k.String())
	}
	return names
}
