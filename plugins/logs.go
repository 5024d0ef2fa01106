package plugins

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// maxLine bounds a plugin's log line: longer lines are cut.
const maxLine = 64 << 10

// logSink forwards a plugin's output (its stdout after the handshake, its
// stderr, and go-plugin's stdio stream) to the host's logger, a record per
// line. A plugin that writes more lines than its budget per second is
// throttled before its lines are parsed: past the budget, lines are
// dropped and counted, the streams are read more slowly (a plugin writing
// without pause finds its writes waiting), and a warning says how many
// were dropped. A line is logged with the host's "plugin" attribute, its
// message prefixed with "plugin <name>: " and escaped (no line breaks or
// other control characters), and the attributes of a JSON line (hclog's
// or the SDK's format) under the group "attrs", so that a plugin's output
// cannot pass for the host's lines or another plugin's.
type logSink struct {
	log    *slog.Logger
	prefix string
	rate   float64 // lines per second
	burst  float64

	mu      sync.Mutex
	tokens  float64
	last    time.Time
	dropped int64 // since the last warning
	total   atomic.Int64
}

func newLogSink(log *slog.Logger, name string, rate int) *logSink {
	return &logSink{
		log: log, prefix: "plugin " + escape(name) + ": ",
		rate: float64(rate), burst: float64(rate) * 2, tokens: float64(rate) * 2,
	}
}

// take takes a line from the budget, and returns whether it may be logged
// and how many lines were dropped before it (to be reported).
func (s *logSink) take() (ok bool, dropped int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.tokens = min(s.burst, s.tokens+now.Sub(s.last).Seconds()*s.rate)
	s.last = now
	if s.tokens < 1 {
		return false, 0
	}
	s.tokens--
	dropped, s.dropped = s.dropped, 0
	return true, dropped
}

// drop counts n dropped lines.
func (s *logSink) drop(n int64) {
	s.mu.Lock()
	s.dropped += n
	s.mu.Unlock()
	s.total.Add(n)
}

// pause is how long a throttled stream waits before it is read again:
// until the budget has a line again.
func (s *logSink) pause() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	wait := time.Duration((1 - s.tokens) / s.rate * float64(time.Second))
	return min(max(wait, 5*time.Millisecond), 100*time.Millisecond)
}

// droppedLines returns how many lines were dropped since the plugin was
// loaded.
func (s *logSink) droppedLines() int64 { return s.total.Load() }

// stream returns a writer splitting one output stream into lines for the
// sink.
func (s *logSink) stream() *lineWriter { return &lineWriter{s: s} }

// drain reads r to its end (or its first error) into a stream of the
// sink.
func (s *logSink) drain(r io.Reader) {
	w := s.stream()
	buf := make([]byte, maxLine)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			_, _ = w.Write(buf[:n])
		}
		if err != nil {
			if !errors.Is(err, io.EOF) || len(w.partial) == 0 {
				return
			}
			_, _ = w.Write([]byte{'\n'}) // the last line, unterminated
			return
		}
	}
}

// lineWriter splits one output stream of a plugin into lines.
type lineWriter struct {
	s       *logSink
	mu      sync.Mutex
	partial []byte
}

// Write logs, or drops, every complete line of p, keeping the rest for
// the next write. While the plugin is throttled it returns only after a
// pause.
func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	w.mu.Lock()
	throttled := w.lines(p)
	w.mu.Unlock()
	if throttled {
		time.Sleep(w.s.pause())
	}
	return n, nil
}

// lines handles the lines of p, and reports whether some were dropped.
// Called with w.mu held.
func (w *lineWriter) lines(p []byte) (throttled bool) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p[:min(len(p), maxLine-len(w.partial))]...)
			return throttled
		}
		line := p[:i]
		p = p[i+1:]
		if len(w.partial) > 0 {
			line = append(w.partial, line[:min(len(line), maxLine-len(w.partial))]...)
			w.partial = w.partial[:0]
		}
		ok, dropped := w.s.take()
		if !ok {
			// Over budget: this line and every other complete line of p
			// are dropped, unread.
			n := 1 + bytes.Count(p, []byte{'\n'})
			if j := bytes.LastIndexByte(p, '\n'); j >= 0 {
				p = p[j+1:]
			}
			w.s.drop(int64(n))
			throttled = true
			continue
		}
		if dropped > 0 {
			w.s.log.Warn("plugins: plugin log throttled", "dropped", dropped)
		}
		w.s.forward(line)
	}
	return throttled
}

// forward logs one line of the plugin's.
func (s *logSink) forward(line []byte) {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	level, msg, attrs := parseLine(line)
	var args []slog.Attr
	if len(attrs) > 0 {
		args = []slog.Attr{{Key: "attrs", Value: slog.GroupValue(attrs...)}}
	}
	s.log.LogAttrs(context.Background(), level, s.prefix+msg, args...)
}
