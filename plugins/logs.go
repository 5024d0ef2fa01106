package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"
)

// logSink receives the go-plugin client's log output for one plugin (its
// own messages and the plugin's stderr, as hclog JSON lines) and forwards
// each line to the host's slog logger, at the line's level and with its
// attributes. A plugin that floods its log is throttled: past a budget of
// lines per second, lines are dropped and counted, and a warning says how
// many.
type logSink struct {
	log     *slog.Logger
	rate    float64 // lines per second
	burst   float64
	mu      sync.Mutex
	partial []byte
	tokens  float64
	last    time.Time
	dropped int64
	total   int64 // dropped since the plugin was loaded
}

func newLogSink(log *slog.Logger, rate int) *logSink {
	return &logSink{log: log, rate: float64(rate), burst: float64(rate) * 2, tokens: float64(rate) * 2}
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(s.partial) < 64<<10 {
				s.partial = append(s.partial, p...)
			}
			break
		}
		line := p[:i]
		if len(s.partial) > 0 {
			line = append(s.partial, line...)
			s.partial = s.partial[:0]
		}
		s.line(line)
		p = p[i+1:]
	}
	return n, nil
}

// line forwards one line, if the budget allows. Called with s.mu held.
func (s *logSink) line(line []byte) {
	now := time.Now()
	s.tokens = min(s.burst, s.tokens+now.Sub(s.last).Seconds()*s.rate)
	s.last = now
	if s.tokens < 1 {
		s.dropped++
		s.total++
		return
	}
	s.tokens--
	if s.dropped > 0 {
		s.log.Warn("plugins: plugin log throttled", "dropped", s.dropped)
		s.dropped = 0
	}
	var m map[string]any
	if json.Unmarshal(line, &m) != nil {
		s.log.Debug(string(line))
		return
	}
	level := slog.LevelDebug
	switch m["@level"] {
	case "info":
		level = slog.LevelInfo
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	msg, _ := m["@message"].(string)
	attrs := make([]slog.Attr, 0, len(m))
	for k, v := range m {
		if len(k) > 0 && k[0] == '@' {
			continue
		}
		attrs = append(attrs, slog.Any(k, v))
	}
	s.log.LogAttrs(context.Background(), level, msg, attrs...)
}

// droppedLines returns how many lines were dropped since the plugin was
// loaded.
func (s *logSink) droppedLines() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}
