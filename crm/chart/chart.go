// Package chart renders report figures as standalone SVG documents: a
// funnel, bars and stacked bars by period. The SVG has no scripts, fonts
// or links to fetch, so a command line tool can write it to a file, a web
// page can inline it and an email can attach it.
//
// It sits beside crm (crm's reports call it) and imports only the
// standard library.
package chart

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
)

// Bar is one labelled value.
type Bar struct {
	Label string
	Value float64
}

// Series is one named layer of a stacked bar chart: its value in each
// category.
type Series struct {
	Name   string
	Values []float64
}

// Palette is the fill colours, used in order.
var Palette = []string{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"}

const (
	width    = 640
	rowH     = 36
	margin   = 16
	titleH   = 32
	labelW   = 180
	valueW   = 90
	barAreaW = width - 2*margin - labelW - valueW
)

// svg writes an SVG document, keeping the first write error.
type svg struct {
	w   *bufio.Writer
	err error
}

func (s *svg) printf(format string, args ...any) {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, format, args...)
	}
}

func (s *svg) begin(w, h int, title string) {
	s.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n", w, h, w, h)
	s.printf(`<title>%s</title>`+"\n", esc(title))
	s.printf(`<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", w, h)
	s.printf(`<text class="title" x="%d" y="%d" font-size="16" font-weight="bold">%s</text>`+"\n", margin, margin+6, esc(title))
}

func (s *svg) end() error {
	s.printf("</svg>\n")
	if s.err != nil {
		return s.err
	}
	return s.w.Flush()
}

func esc(t string) string { return html.EscapeString(t) }

// num formats a value for a label: integers without decimals, others with
// two.
func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func px(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func maxOf(vals []float64) float64 {
	m := 0.0
	for _, v := range vals {
		if v > m && !math.IsInf(v, 1) {
			m = v
		}
	}
	return m
}

// scale returns a bar's length for v on a axis of full length for max;
// negative, NaN and infinite values draw nothing.
func scale(v, max, full float64) float64 {
	if max <= 0 || !(v > 0) || math.IsInf(v, 1) {
		return 0
	}
	return v / max * full
}

// Bars writes a horizontal bar chart: one bar per item, top to bottom,
// with its label on the left and its value on the right.
func Bars(w io.Writer, title string, bars []Bar) error {
	s := &svg{w: bufio.NewWriter(w)}
	h := titleH + margin*2 + rowH*len(bars)
	s.begin(width, h, title)
	vals := make([]float64, len(bars))
	for i, b := range bars {
		vals[i] = b.Value
	}
	m := maxOf(vals)
	for i, b := range bars {
		y := titleH + margin + i*rowH
		l := scale(b.Value, m, barAreaW)
		s.printf(`<text class="label" x="%d" y="%d">%s</text>`+"\n", margin, y+rowH/2+4, esc(b.Label))
		s.printf(`<rect class="bar" x="%d" y="%d" width="%s" height="%d" fill="%s"><title>%s: %s</title></rect>`+"\n",
			margin+labelW, y+4, px(l), rowH-8, Palette[0], esc(b.Label), num(b.Value))
		s.printf(`<text class="value" x="%s" y="%d">%s</text>`+"\n", px(float64(margin+labelW)+l+6), y+rowH/2+4, num(b.Value))
	}
	return s.end()
}

// Funnel writes a funnel: one centred bar per step, its width in
// proportion to its value, labelled with the step's name, value and the
// share of the first step's value it keeps.
func Funnel(w io.Writer, title string, steps []Bar) error {
	s := &svg{w: bufio.NewWriter(w)}
	h := titleH + margin*2 + rowH*len(steps)
	s.begin(width, h, title)
	vals := make([]float64, len(steps))
	for i, b := range steps {
		vals[i] = b.Value
	}
	m := maxOf(vals)
	full := float64(width - 2*margin - labelW)
	for i, b := range steps {
		y := titleH + margin + i*rowH
		l := scale(b.Value, m, full)
		x := float64(margin+labelW) + (full-l)/2
		s.printf(`<text class="label" x="%d" y="%d">%s</text>`+"\n", margin, y+rowH/2+4, esc(b.Label))
		s.printf(`<rect class="step" x="%s" y="%d" width="%s" height="%d" fill="%s"><title>%s: %s</title></rect>`+"\n",
			px(x), y+2, px(l), rowH-4, Palette[i%len(Palette)], esc(b.Label), num(b.Value))
		share := ""
		if len(steps) > 0 && steps[0].Value > 0 {
			share = fmt.Sprintf(" (%.0f%%)", 100*b.Value/steps[0].Value)
		}
		s.printf(`<text class="value" x="%s" y="%d" text-anchor="middle">%s%s</text>`+"\n",
			px(float64(margin+labelW)+full/2), y+rowH/2+4, num(b.Value), share)
	}
	return s.end()
}

// StackedBars writes vertical bars, one per category (periods, say, in
// order), each stacking the series' values bottom up, with a legend of
// the series. A series with fewer values than categories counts 0 for
// the rest.
func StackedBars(w io.Writer, title string, categories []string, series []Series) error {
	s := &svg{w: bufio.NewWriter(w)}
	const plotH = 240
	legendH := 20 * len(series)
	h := titleH + margin*3 + plotH + 20 + legendH
	s.begin(width, h, title)
	totals := make([]float64, len(categories))
	for _, se := range series {
		for i := range categories {
			if i < len(se.Values) && se.Values[i] > 0 {
				totals[i] += se.Values[i]
			}
		}
	}
	m := maxOf(totals)
	top := titleH + margin
	base := float64(top + plotH)
	slot := float64(width-2*margin) / math.Max(1, float64(len(categories)))
	barW := slot * 0.7
	s.printf(`<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#333333"/>`+"\n", margin, px(base), width-margin, px(base))
	for i, c := range categories {
		x := float64(margin) + slot*float64(i) + (slot-barW)/2
		y := base
		for j, se := range series {
			v := 0.0
			if i < len(se.Values) {
				v = se.Values[i]
			}
			l := scale(v, m, plotH)
			if l == 0 {
				continue
			}
			y -= l
			s.printf(`<rect class="segment" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s %s: %s</title></rect>`+"\n",
				px(x), px(y), px(barW), px(l), Palette[j%len(Palette)], esc(c), esc(se.Name), num(v))
		}
		s.printf(`<text class="total" x="%s" y="%s" text-anchor="middle" font-size="11">%s</text>`+"\n", px(x+barW/2), px(y-4), num(totals[i]))
		s.printf(`<text class="label" x="%s" y="%s" text-anchor="middle" font-size="11">%s</text>`+"\n", px(x+barW/2), px(base+16), esc(c))
	}
	for j, se := range series {
		y := int(base) + 20 + margin + 20*j
		s.printf(`<rect class="legend" x="%d" y="%d" width="12" height="12" fill="%s"/>`+"\n", margin, y-10, Palette[j%len(Palette)])
		s.printf(`<text class="legend-label" x="%d" y="%d">%s</text>`+"\n", margin+18, y, esc(se.Name))
	}
	return s.end()
}
