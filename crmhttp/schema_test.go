package crmhttp

import (
	"reflect"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
)

type schemaInner struct {
	N int `json:"n"`
}

type schemaBase struct {
	ID string `json:"id"`
}

type schemaSample struct {
	schemaBase
	Name     string            `json:"name"`
	Note     string            `json:"note,omitempty"`
	Inner    schemaInner       `json:"inner,omitempty"` // omitempty does not leave a struct out
	Ptr      *schemaInner      `json:"ptr,omitempty"`
	List     []string          `json:"list"`
	Map      map[string]int    `json:"map,omitempty"`
	At       time.Time         `json:"at,omitzero"`
	Any      any               `json:"any"`
	Skip     string            `json:"-"`
	Untagged float64           // described by its Go name
	hidden   string            // unexported: not in the JSON
	Self     *schemaSample     `json:"self,omitempty"`
	Nested   map[string][]bool `json:"nested"`
}

func TestJSONSchema(t *testing.T) {
	s := jsonSchema(reflect.TypeFor[schemaSample](), false)
	assert.Equal(t, "object", s["type"])
	assert.ElementsMatch(t, []string{"id", "name", "inner", "list", "any", "Untagged", "nested"}, s["required"])
	props := s["properties"].(map[string]any)
	assert.NotContains(t, props, "Skip")
	assert.NotContains(t, props, "hidden")
	assert.Equal(t, map[string]any{"type": "string"}, props["id"], "embedded fields are inlined")
	assert.Equal(t, map[string]any{"type": "string", "format": "date-time"}, props["at"])
	assert.Equal(t, []any{"object", "null"}, props["ptr"].(map[string]any)["type"])
	assert.Equal(t, map[string]any{"type": []any{"array", "null"}, "items": map[string]any{"type": "string"}}, props["list"])
	assert.Equal(t, map[string]any{"type": "integer"}, props["map"].(map[string]any)["additionalProperties"])
	assert.Equal(t, map[string]any{}, props["any"])
	assert.Equal(t, map[string]any{"type": "number"}, props["Untagged"])
	assert.Equal(t, map[string]any{}, props["self"], "a type holding itself is described once, then as any value")

	_ = schemaSample{hidden: "x"}.hidden // a field the JSON leaves out
	in := jsonSchema(reflect.TypeFor[schemaSample](), true)
	assert.NotContains(t, in, "required", "an input requires nothing")
}

func TestKindSchemaListsTheKinds(t *testing.T) {
	s := jsonSchema(reflect.TypeFor[crm.Ref](), false)
	kind := s["properties"].(map[string]any)["kind"].(map[string]any)
	assert.Equal(t, "string", kind["type"])
	assert.Contains(t, kind["enum"], "contact")
	assert.Contains(t, kind["enum"], "workspace")
	assert.NotContains(t, kind["enum"], "contacts", "a plural is not a kind's name")
}
