package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"unsafe"
)

// Logging mirrors the Rust tool's env_logger set-up: "[LEVEL module] text"
// lines on stderr, INFO and above by default, RUST_LOG directives (level,
// module=level, module) honoured, colours only on a terminal.

type level int

const (
	levelOff level = iota
	levelError
	levelWarn
	levelInfo
	levelDebug
	levelTrace
)

var levelNames = [...]string{"OFF", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"}

func parseLevel(s string) (level, bool) {
	for i, n := range levelNames {
		if strings.EqualFold(s, n) {
			return level(i), true
		}
	}
	return 0, false
}

type directive struct {
	module string
	lvl    level
}

type logger struct {
	w          io.Writer
	color      bool
	directives []directive
}

// newLogger builds the logger from RUST_LOG and RUST_LOG_STYLE values.
func newLogger(w io.Writer, rustLog, style string, tty bool) *logger {
	l := &logger{w: w, directives: []directive{{"", levelInfo}}}
	for _, d := range strings.Split(strings.SplitN(rustLog, "/", 2)[0], ",") {
		d = strings.TrimSpace(d)
		if d == "" {
			continue
		}
		mod, lv, hasLevel := strings.Cut(d, "=")
		if !hasLevel {
			if v, ok := parseLevel(mod); ok {
				l.set("", v)
			} else {
				l.set(mod, levelTrace)
			}
			continue
		}
		if v, ok := parseLevel(lv); ok {
			l.set(mod, v)
		}
	}
	switch style {
	case "always":
		l.color = true
	case "never":
	default:
		l.color = tty && os.Getenv("TERM") != "dumb"
	}
	return l
}

func (l *logger) set(module string, v level) {
	for i := range l.directives {
		if l.directives[i].module == module {
			l.directives[i].lvl = v
			return
		}
	}
	l.directives = append(l.directives, directive{module, v})
}

// enabled applies the most specific directive whose module prefixes module.
func (l *logger) enabled(module string, v level) bool {
	best, bestLen := levelOff, -1
	for _, d := range l.directives {
		if strings.HasPrefix(module, d.module) && len(d.module) > bestLen {
			best, bestLen = d.lvl, len(d.module)
		}
	}
	return v <= best && v != levelOff
}

var levelColors = [...]string{"", "\x1b[31m", "\x1b[33m", "\x1b[32m", "\x1b[34m", "\x1b[36m"}

func (l *logger) log(module string, v level, format string, args ...any) {
	if l == nil || !l.enabled(module, v) {
		return
	}
	name := fmt.Sprintf("%-5s", levelNames[v])
	if l.color {
		name = levelColors[v] + name + "\x1b[0m"
	}
	fmt.Fprintf(l.w, "[%s %s] %s\n", name, module, fmt.Sprintf(format, args...))
}

func (l *logger) info(module, format string, args ...any) { l.log(module, levelInfo, format, args...) }

func (l *logger) errorf(format string, args ...any) { l.log(rootModule, levelError, format, args...) }

const rootModule = "parsec_tool"

// isTerminal reports whether f is a terminal: TCGETS succeeds only on one.
func isTerminal(f *os.File) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}
