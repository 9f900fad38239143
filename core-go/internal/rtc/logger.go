package rtc

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"

	"github.com/pion/logging"
)

// pionLogs routes pion's warnings and errors to slog. Pion's trace, debug
// and info output is dropped: it is verbose and can carry SDP and ICE
// credentials, which we never log. Warnings and errors pass through
// redactSecrets as a second guard (pion's ICE logs a mismatching ufrag).
type pionLogs struct {
	log  *slog.Logger
	turn *turnErrors // TURN failures are also kept for diagnoses; may be nil
}

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("component", "pion", "scope", scope), turn: f.turn}
}

type pionLogger struct {
	log  *slog.Logger
	turn *turnErrors
}

var secretPattern = regexp.MustCompile(`(?i)\b(ufrag|pwd|password|credential|username)([ :=]+)\S+`)

func redactSecrets(s string) string {
	return secretPattern.ReplaceAllString(s, "$1$2[redacted]")
}

func (l pionLogger) emit(level slog.Level, msg string) {
	msg = redactSecrets(msg)
	l.turn.note(msg)
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, msg)
	}
}

func (pionLogger) Trace(string)          {}
func (pionLogger) Tracef(string, ...any) {}
func (pionLogger) Debug(string)          {}
func (pionLogger) Debugf(string, ...any) {}
func (pionLogger) Info(string)           {}
func (pionLogger) Infof(string, ...any)  {}
func (l pionLogger) Warn(msg string)     { l.emit(slog.LevelWarn, msg) }
func (l pionLogger) Warnf(format string, args ...any) {
	l.emit(slog.LevelWarn, fmt.Sprintf(format, args...))
}
func (l pionLogger) Error(msg string) { l.emit(slog.LevelError, msg) }
func (l pionLogger) Errorf(format string, args ...any) {
	l.emit(slog.LevelError, fmt.Sprintf(format, args...))
}
