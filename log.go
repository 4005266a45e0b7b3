//go:build linux

package main

// The log: lines as Rust's env_logger writes them, "[LEVEL lockpipes] msg",
// filtered by LOCKPIPE_LOG_FILTER and coloured by LOCKPIPE_LOG_STYLE, on
// standard error. A line never waits: when standard error is a pipe or a
// socket that nobody drains, a line that does not fit is dropped.

import (
	"io"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// level is a log level, as env_logger orders them.
type level int8

const (
	levelTrace level = iota
	levelDebug
	levelInfo
	levelWarn
	levelError
	levelUsage // an ERROR that no filter hides: it is about the command line, not the run
	levelOff   // above every level that is logged
)

// levelNames are the levels as each line shows them, and their colours.
var levelNames = [...]struct{ name, color string }{
	{"TRACE", "\x1b[36m"}, {"DEBUG", "\x1b[34m"}, {"INFO ", "\x1b[32m"}, {"WARN ", "\x1b[33m"}, {"ERROR", "\x1b[1;31m"}, {"ERROR", "\x1b[1;31m"},
}

// logger is where the log goes, what it lets through, and whether it is coloured.
var logger = struct {
	min   level
	color bool
	auto  bool // colour decided at the first line: standard error a terminal, and TERM and NO_COLOR allow it
	w     io.Writer
}{min: levelInfo, w: &lineWriter{fd: 2}}

// lineWriter writes whole lines to a descriptor without ever blocking on it.
type lineWriter struct {
	fd     int
	chosen bool // out, send and look are decided, at the first line
	out    int  // the descriptor written to
	fifo   bool // a pipe
	own    bool // out is a description of lockpipe's own, non-blocking
	send   bool // a socket: send(2) with MSG_DONTWAIT
	look   bool // a terminal or a pipe: written only when poll(2) says it fits
}

// choose decides how to write to fd without blocking: a terminal or a pipe
// after poll(2) said a line fits, a socket with MSG_DONTWAIT.
func (w *lineWriter) choose() {
	w.out, w.chosen = w.fd, true
	var st syscall.Stat_t
	if syscall.Fstat(w.fd, &st) != nil {
		return
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFIFO:
		w.fifo, w.look = true, true
	case syscall.S_IFSOCK:
		w.send = true
	case syscall.S_IFCHR:
		w.look = true
	}
}

// exact closes the gap between poll(2) and write(2), where a child that shares
// the pipe could fill it: the pipe is reopened through /proc, a description
// of lockpipe's own, non-blocking (setting O_NONBLOCK on the one it shares
// would change the child's). hold and run ask for it.
func (w *lineWriter) exact() {
	if !w.chosen {
		w.choose()
	}
	if w.fifo && !w.own {
		if fd, err := syscall.Open(procSelfFd+strconv.Itoa(w.fd), syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0); err == nil {
			w.out, w.own, w.look = fd, true, false
		}
	}
}

// exactLog makes every line of the log exact, as exact does.
func exactLog() {
	if w, ok := logger.w.(*lineWriter); ok {
		w.exact()
	}
}

// Write writes b, or as much of it as fits now; what does not fit is dropped.
func (w *lineWriter) Write(b []byte) (int, error) {
	if !w.chosen {
		w.choose()
	}
	if w.look && ready(w.out, pollOut)&pollOut == 0 {
		return 0, syscall.EAGAIN
	}
	if w.look && len(b) > pipeBuf {
		b = b[:pipeBuf] // what fits once poll(2) said the pipe has room; the rest is dropped
	}
	n := 0
	for n < len(b) {
		var m int
		var err error
		if w.send {
			m, err = send(w.out, b[n:])
		} else {
			m, err = syscall.Write(w.out, b[n:])
		}
		switch {
		case err == syscall.EINTR:
		case err == syscall.ENOTSOCK:
			w.send = false
		case err != nil:
			return n, err // EAGAIN: the rest does not fit, and is dropped
		default:
			n += m
		}
	}
	return n, nil
}

// logTo sends the log to fd from now on.
func logTo(fd int) { logger.w = &lineWriter{fd: fd} }

// logAt writes msg as env_logger would, "[LEVEL lockpipes] msg", if the filter lets it through.
func logAt(l level, msg string) { logLine(l, msg, "") }

// logLine logs msg and then more at level l.
func logLine(l level, msg, more string) {
	if l < logger.min && l != levelUsage || l >= levelOff {
		return
	}
	if logger.auto {
		logger.auto, logger.color = false, isTerminal(2)
	}
	// The line is put together on the stack when it fits, and written as it
	// is: a wait's last line allocates nothing (see prepare in wait.go).
	var buf [192]byte
	line := append(buf[:0], '[')
	if logger.color {
		line = append(line, levelNames[l].color...)
	}
	line = append(line, levelNames[l].name...)
	if logger.color {
		line = append(line, "\x1b[0m"...)
	}
	line = append(line, " lockpipes] "...)
	line = append(append(append(line, msg...), more...), '\n')
	if w, ok := logger.w.(*lineWriter); ok {
		w.Write(line)
	} else {
		logger.w.Write(append([]byte(nil), line...)) // another writer may keep it
	}
}

// logs reports whether a line at level l would be written.
func logs(l level) bool { return l >= logger.min && l < levelOff }

// trace logs at TRACE.
func trace(msg string) { logAt(levelTrace, msg) }

// debug logs at DEBUG.
func debug(msg string) { logAt(levelDebug, msg) }

// debugAt logs at DEBUG msg and then q, as infoAt does: a line the filter
// hides costs no string.
func debugAt(msg, q string) { logLine(levelDebug, msg, q) }

// info logs at INFO.
func info(msg string) { logAt(levelInfo, msg) }

// infoAt logs at INFO msg and then q, a quoted path, with no string made of them.
func infoAt(msg, q string) { logLine(levelInfo, msg, q) }

// warn logs at WARN.
func warn(msg string) { logAt(levelWarn, msg) }

// loggingHelp describes the log's settings, for the help.
const loggingHelp = `Logging: LOCKPIPE_LOG_FILTER=off|error|warn|info|debug|trace (default info),
LOCKPIPE_LOG_STYLE=auto|always|never (default auto), on standard error.
`

// parseLevel reads one level name, in any case.
func parseLevel(s string) (level, bool) {
	for l, name := range [...]string{"trace", "debug", "info", "warn", "error"} {
		if equalFold(s, name) {
			return level(l), true
		}
	}
	return levelOff, equalFold(s, "off")
}

// isTarget reports whether name is lockpipe's target: the Rust original's
// "lockpipes", or the name of this binary.
func isTarget(name string) bool { return name == "lockpipes" || name == "lockpipe" }

// parseFilter reads LOCKPIPE_LOG_FILTER as env_logger reads RUST_LOG for the
// lockpipes target; bad holds the items it ignored.
func parseFilter(s string) (min level, bad []string) {
	global, target, haveTarget := levelInfo, levelInfo, false
	for rest, more := s, true; more; {
		var item string
		item, rest, more = strings.Cut(rest, ",")
		item = trimSpace(item)
		name, lvl, named := strings.Cut(item, "=")
		name = trimSpace(name)
		switch l, ok := parseLevel(trimSpace(lvl)); {
		case item == "":
		case !named:
			if l, ok := parseLevel(item); ok {
				global = l
			} else if isTarget(item) {
				target, haveTarget = levelTrace, true
			} else if !strings.Contains(item, "::") {
				// env_logger would take a bare word for a crate's name, but
				// here it is far more likely a misspelt level.
				bad = append(bad, item)
			}
		case !ok || name == "":
			bad = append(bad, item)
		case isTarget(name):
			target, haveTarget = l, true
		}
	}
	if haveTarget {
		return target, bad
	}
	return global, bad
}

// isTerminal reports whether fd is a terminal.
func isTerminal(fd int) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}

// setupLogging applies LOCKPIPE_LOG_FILTER and LOCKPIPE_LOG_STYLE, warning about what it ignores.
func setupLogging(getenv func(string) string) {
	min, bad := parseFilter(getenv("LOCKPIPE_LOG_FILTER"))
	logger.min = min
	style := trimSpace(getenv("LOCKPIPE_LOG_STYLE"))
	always, never := equalFold(style, "always"), equalFold(style, "never")
	logger.color, logger.auto = always, false
	if !always && !never {
		logger.auto = getenv("TERM") != "dumb" && getenv("NO_COLOR") == ""
	}
	for _, item := range bad {
		warn("ignoring " + strconv.Quote(item) + " in LOCKPIPE_LOG_FILTER: not off, error, warn, info, debug, trace or lockpipe=LEVEL")
	}
	if style != "" && !equalFold(style, "auto") && !always && !never {
		warn("ignoring LOCKPIPE_LOG_STYLE " + strconv.Quote(getenv("LOCKPIPE_LOG_STYLE")) + ": not auto, always or never")
	}
}

// quoteList quotes each path, separated by commas.
func quoteList(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = strconv.Quote(p)
	}
	return strings.Join(q, ", ")
}
