package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress draws a one-line progress bar with the rate on standard error:
//
//	import  [##########----------]  50%  12,000 rows  8,350 rows/s
//
// Without a known total it draws the count and the rate only. It draws
// nothing unless standard error is a terminal or --progress was given.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	on    bool
	label string
	unit  string // what is counted, in the singular: "row"
	total int64  // bytes, 0 if unknown
	start time.Time
	last  time.Time
	drawn bool
	now   func() time.Time
}

func (e *env) newProgress(label, unit string, total int64) *progress {
	return &progress{
		w: e.stderr, on: e.opts.progress || isTerminal(e.stderr), label: label, unit: unit,
		total: total, start: time.Now(), now: time.Now,
	}
}

// isTerminal reports whether w is a character device.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// update redraws the line, at most ten times a second: count units done,
// bytes of the total read.
func (p *progress) update(count, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.on {
		return
	}
	now := p.now()
	if p.drawn && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.draw(now, count, bytes)
}

// done draws the final line and ends it.
func (p *progress) done(count, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.on {
		return
	}
	p.draw(p.now(), count, bytes)
	fmt.Fprintln(p.w)
}

// stop ends the line if anything was drawn, after a failure.
func (p *progress) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on && p.drawn {
		fmt.Fprintln(p.w)
	}
}

func (p *progress) draw(now time.Time, count, bytes int64) {
	p.last, p.drawn = now, true
	secs := now.Sub(p.start).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(count) / secs
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\r%-8s", p.label)
	if p.total > 0 {
		frac := min(float64(bytes)/float64(p.total), 1)
		const width = 24
		n := int(frac * width)
		fmt.Fprintf(&b, "[%s%s] %3.0f%%", strings.Repeat("#", n), strings.Repeat("-", width-n), frac*100)
	}
	unit := p.unit
	if count != 1 {
		unit = pluralWord(unit)
	}
	fmt.Fprintf(&b, "  %s %s  %s %s/s ", thousands(count), unit, thousands(int64(rate)), pluralWord(p.unit))
	io.WriteString(p.w, b.String())
}

// thousands formats n with comma separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

// Read reads from the underlying reader, counting the bytes.
func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// rowCounter counts the rows of CSV or JSON Lines written through it: a
// newline ends a row, in CSV only outside double quotes.
type rowCounter struct {
	w       io.Writer
	csv     bool
	rows    int64
	bytes   int64
	quoted  bool
	onWrite func(rows, bytes int64)
}

// Write writes to the underlying writer, counting the rows and bytes.
func (c *rowCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	for _, b := range p[:n] {
		switch {
		case b == '"' && c.csv:
			c.quoted = !c.quoted
		case b == '\n' && !c.quoted:
			c.rows++
		}
	}
	c.bytes += int64(n)
	if c.onWrite != nil {
		c.onWrite(c.rows, c.bytes)
	}
	return n, err
}
