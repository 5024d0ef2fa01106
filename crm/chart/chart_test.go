package chart_test

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"testing"

	"github.com/crmkit/crmkit/crm/chart"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// node is an SVG element, parsed generically.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []node     `xml:",any"`
}

func (n node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n node) float(t *testing.T, name string) float64 {
	f, err := strconv.ParseFloat(n.attr(name), 64)
	require.NoError(t, err, name)
	return f
}

// parse checks the document is well-formed SVG and returns its root.
func parse(t *testing.T, b []byte) node {
	t.Helper()
	var root node
	require.NoError(t, xml.Unmarshal(b, &root))
	assert.Equal(t, "svg", root.XMLName.Local)
	assert.Equal(t, "http://www.w3.org/2000/svg", root.XMLName.Space)
	assert.NotContains(t, string(b), "href", "standalone: nothing to fetch")
	assert.NotContains(t, string(b), "<script")
	return root
}

func byClass(n node, class string) []node {
	var out []node
	for _, c := range n.Nodes {
		if c.attr("class") == class {
			out = append(out, c)
		}
	}
	return out
}

func texts(ns []node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Text)
	}
	return out
}

func TestFunnel(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, chart.Funnel(&buf, "Funnel <Q1>", []chart.Bar{{"Prospecting", 200}, {"Engaging", 100}, {"Won & done", 50}}))
	root := parse(t, buf.Bytes())
	assert.Equal(t, []string{"Funnel <Q1>"}, texts(byClass(root, "title")))
	steps := byClass(root, "step")
	require.Len(t, steps, 3)
	w0, w1, w2 := steps[0].float(t, "width"), steps[1].float(t, "width"), steps[2].float(t, "width")
	assert.InDelta(t, w0/2, w1, 0.2, "widths are proportional")
	assert.InDelta(t, w0/4, w2, 0.2)
	// Centred: equal margins on both sides.
	assert.InDelta(t, steps[0].float(t, "x")+w0/2, steps[2].float(t, "x")+w2/2, 0.2)
	assert.Equal(t, []string{"Prospecting", "Engaging", "Won & done"}, texts(byClass(root, "label")))
	assert.Equal(t, []string{"200 (100%)", "100 (50%)", "50 (25%)"}, texts(byClass(root, "value")))
}

func TestBarsEdgeValues(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, chart.Bars(&buf, "Stages", []chart.Bar{{"a", 10}, {"b", 0}, {"c", -5}, {"d", 2.5}}))
	root := parse(t, buf.Bytes())
	bars := byClass(root, "bar")
	require.Len(t, bars, 4)
	assert.Greater(t, bars[0].float(t, "width"), 0.0)
	assert.Zero(t, bars[1].float(t, "width"))
	assert.Zero(t, bars[2].float(t, "width"), "negative values draw nothing")
	assert.InDelta(t, bars[0].float(t, "width")/4, bars[3].float(t, "width"), 0.2)
	assert.Equal(t, []string{"10", "0", "-5", "2.50"}, texts(byClass(root, "value")))

	buf.Reset()
	require.NoError(t, chart.Bars(&buf, "Empty", nil), "no bars is an empty chart")
	assert.Empty(t, byClass(parse(t, buf.Bytes()), "bar"))
}

func TestStackedBars(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, chart.StackedBars(&buf, "Won by month", []string{"2026-01", "2026-02", "2026-03"}, []chart.Series{
		{Name: "won", Values: []float64{30, 0, 10}},
		{Name: "weighted", Values: []float64{10, 0}},
	}))
	root := parse(t, buf.Bytes())
	segs := byClass(root, "segment")
	require.Len(t, segs, 3, "zero and missing values draw no segment")
	// January stacks 30 then 10 on top: same x, the second above.
	assert.Equal(t, segs[0].attr("x"), segs[1].attr("x"))
	assert.InDelta(t, segs[0].float(t, "y"), segs[1].float(t, "y")+segs[1].float(t, "height"), 0.2)
	assert.InDelta(t, 3*segs[1].float(t, "height"), segs[0].float(t, "height"), 0.3)
	assert.Equal(t, []string{"40", "0", "10"}, texts(byClass(root, "total")))
	assert.Equal(t, []string{"2026-01", "2026-02", "2026-03"}, texts(byClass(root, "label")))
	assert.Equal(t, []string{"won", "weighted"}, texts(byClass(root, "legend-label")))
}
