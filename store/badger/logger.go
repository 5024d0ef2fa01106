package badger

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// slogLogger adapts a *slog.Logger to Badger's Logger interface.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Errorf(format string, args ...any)   { s.log(slog.LevelError, format, args) }
func (s slogLogger) Warningf(format string, args ...any) { s.log(slog.LevelWarn, format, args) }
func (s slogLogger) Infof(format string, args ...any)    { s.log(slog.LevelInfo, format, args) }
func (s slogLogger) Debugf(format string, args ...any)   { s.log(slog.LevelDebug, format, args) }

func (s slogLogger) log(level slog.Level, format string, args []any) {
	ctx := context.Background()
	if !s.l.Enabled(ctx, level) {
		return
	}
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	s.l.LogAttrs(ctx, level, msg, slog.String("component", "badger"))
}
