// Command lockpipe uses a named pipe as a synchronisation point: a
// commitment-free alternative to sleep. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// version is the version to report; set it with -ldflags '-X main.version=v1.2.3'.
var version string

// defaultPath is where the pipe lives when neither --path nor LOCKPIPE_PATH says.
const defaultPath = "/run/forever"

// optSet is a set of options, one bit each.
type optSet uint8

const (
	optPath optSet = 1 << iota
	optMode
	optTimeout
)

// config is what a command works with.
type config struct {
	path    string
	mode    uint32
	timeout time.Duration
}

// option is one option: its flags, its environment variable and its parser.
type option struct {
	bit              optSet
	short, long, env string
	meta, def, help  string
	set              func(c *config, s string) error
}

var options = [...]option{
	{optPath, "p", "path", "LOCKPIPE_PATH", "PATH", defaultPath,
		"the named pipe", setPath},
	{optMode, "m", "mode", "LOCKPIPE_MODE", "OCTAL", "0600",
		"permissions of a pipe this call creates, whatever the umask", setMode},
	{optTimeout, "t", "timeout", "LOCKPIPE_TIMEOUT", "DURATION", "none",
		"give up waiting after this long, exit 110: 500ms, 90s, 1h30m, 30, 0.5; 0 or infinity: never", setTimeout},
}

// command is one subcommand, as in cmd/go's base.Command.
type command struct {
	name, alias string
	opts        optSet
	short       string
	long        string
	run         func(c *config) error // nil for help, which main handles
}

var commands = [...]command{
	{"create", "c", optPath | optMode,
		"create the named pipe",
		`Create makes a named pipe at the path, with the mode exactly, whatever the
umask. A named pipe already there is success, with a warning. A missing
parent directory is not created.`,
		runCreate},
	{"delete", "d", optPath,
		"release everyone waiting on the pipe, then remove it",
		`Delete releases every reader and writer waiting on the named pipe (they
exit 0), then removes it. Nothing there is success, with a warning. A
symbolic link is never removed, even one that leads to a named pipe.`,
		runDelete},
	{"exists", "e", optPath,
		"exit 0 if the named pipe exists, 1 if nothing is there",
		`Exists exits 0 when a named pipe is at the path (following symbolic
links), 1 when nothing is there (a missing parent directory included), 17
when something else is there, and the errno when the check itself fails.`,
		runExists},
	{"read", "r", optPath | optMode | optTimeout,
		"wait until something writes to the pipe",
		`Read creates the named pipe if nothing is there, then waits until a writer
opens it, discards whatever it sends until end-of-file, and exits 0. One
write releases every reader waiting at that moment; readers that come later
wait for the next one. The pipe is never deleted.`,
		runRead},
	{"write", "w", optPath | optMode | optTimeout,
		"wait until something reads from the pipe",
		`Write creates the named pipe if nothing is there, then waits until a reader
opens it, closes it without writing, and exits 0. One read releases every
writer waiting at that moment. The pipe is never deleted.`,
		runWrite},
	{"help", "", 0,
		"show this help, or a command's",
		`Help shows the overview, or with a command's name, that command's usage.`,
		nil},
	{"version", "", 0,
		"print the version",
		`Version prints "lockpipe VERSION" on standard output.`,
		runVersion},
}

// lookup finds a command by name or alias.
func lookup(name string) *command {
	for i := range commands {
		if c := &commands[i]; name == c.name || name != "" && name == c.alias {
			return c
		}
	}
	return nil
}

// invocation is a parsed command line.
type invocation struct {
	cmd     *command // nil for bare --help or --version
	cfg     config
	given   optSet // options set on the command line
	topic   string // the command to show help for
	help    bool
	version bool
}

// optValue lets the flag package set an option through its parser.
type optValue struct {
	o   *option
	inv *invocation
}

// String returns nothing: the flag package's defaults are never printed.
func (v optValue) String() string { return "" }

// Set parses s into the option and records that it was given.
func (v optValue) Set(s string) error {
	v.inv.given |= v.o.bit
	return v.o.set(&v.inv.cfg, s)
}

// flagSet returns a flag set that knows every option and writes into inv.
func (inv *invocation) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for i := range options {
		v := optValue{&options[i], inv}
		fs.Var(v, options[i].short, "")
		fs.Var(v, options[i].long, "")
	}
	// BoolVar stores its default: keep what options before the command said.
	fs.BoolVar(&inv.help, "h", inv.help, "")
	fs.BoolVar(&inv.help, "help", inv.help, "")
	fs.BoolVar(&inv.version, "V", inv.version, "")
	fs.BoolVar(&inv.version, "version", inv.version, "")
	return fs
}

// parse decides the command and its options from args and the environment; it touches nothing else.
func parse(args []string, getenv func(string) string) (*invocation, error) {
	inv := &invocation{cfg: config{path: defaultPath, mode: 0o600}}
	fs := inv.flagSet("lockpipe")
	if err := fs.Parse(args); err != nil {
		return nil, usageError(oneLine(err.Error()) + "; run 'lockpipe help'")
	}
	rest := fs.Args()
	if len(rest) > 0 {
		if inv.cmd = lookup(rest[0]); inv.cmd == nil {
			return nil, usageError("unknown command " + strconv.Quote(rest[0]) + "; run 'lockpipe help'")
		}
		// The command's own flag set: options may come after the command too.
		fs = inv.flagSet("lockpipe " + inv.cmd.name)
		if err := fs.Parse(rest[1:]); err != nil {
			return nil, usageError(oneLine(err.Error()) + "; run 'lockpipe help " + inv.cmd.name + "'")
		}
		rest = fs.Args()
	}
	switch {
	case inv.cmd != nil && inv.cmd.name == "help":
		if len(rest) > 1 {
			return nil, usageError("help takes one command name at most")
		}
		if len(rest) == 1 {
			inv.topic = rest[0]
		}
		inv.help = true
		return inv, nil
	case inv.help:
		if inv.cmd != nil {
			inv.topic = inv.cmd.name
		}
		return inv, nil
	case inv.version:
		return inv, nil
	case inv.cmd == nil:
		return nil, usageError("no command given; run 'lockpipe help'")
	case len(rest) > 0:
		return nil, usageError("unexpected argument " + strconv.Quote(rest[0]) + " after " + inv.cmd.name)
	}
	for i := range options {
		o := &options[i]
		if inv.given&o.bit != 0 && inv.cmd.opts&o.bit == 0 {
			return nil, usageError("option -" + o.short + "/--" + o.long + " does not apply to " + inv.cmd.name)
		}
		if inv.given&o.bit != 0 || inv.cmd.opts&o.bit == 0 {
			continue // a flag beats the variable; a variable is for the commands it applies to
		}
		// An empty variable counts as unset, as in most tools.
		if s := getenv(o.env); s != "" {
			if err := o.set(&inv.cfg, s); err != nil {
				return nil, usageError("invalid " + o.env + " " + strconv.Quote(s) + ": " + err.Error())
			}
		}
	}
	return inv, nil
}

// oneLine escapes control characters, which the flag package's messages may echo, so a message stays one line.
func oneLine(s string) string {
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			q := strconv.Quote(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

// setPath sets the pipe's path.
func setPath(c *config, s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("the path is empty")
	}
	c.path = s
	return nil
}

// setMode sets the permissions for a pipe this call creates.
func setMode(c *config, s string) error {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o777 {
		return errors.New("not an octal mode from 0 to 0777")
	}
	c.mode = uint32(n)
	return nil
}

// setTimeout sets how long read and write wait, as sleep or Go write a duration.
func setTimeout(c *config, s string) error {
	d, err := parseTimeout(s)
	if err != nil {
		return errors.New("not a duration like 500ms, 90s, 1h30m, 30, 0.5, 0 or infinity")
	}
	c.timeout = d
	return nil
}

// parseTimeout reads a Go duration or plain seconds; zero means no limit.
func parseTimeout(s string) (time.Duration, error) {
	if s == "infinity" || s == "inf" {
		return 0, nil
	}
	if s != "" && strings.Trim(s, "0123456789.") == "" && strings.Count(s, ".") <= 1 && s != "." {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f*float64(time.Second) >= math.MaxInt64 {
			return 0, errors.New("out of range")
		}
		d := time.Duration(f * float64(time.Second))
		if d == 0 && f > 0 {
			d = 1 // a tiny limit must not turn into none at all
		}
		return d, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("not a duration")
	}
	return d, nil
}

// levelTrace is env_logger's trace, below slog's debug.
const levelTrace = slog.LevelDebug - 4

// levelOff is above every level that is logged.
const levelOff = slog.Level(math.MaxInt32)

// logHandler is a slog.Handler that writes env_logger's lines, without timestamps, to standard error.
type logHandler struct {
	min   slog.Level
	color bool
}

var _ slog.Handler = (*logHandler)(nil)

// logger is the process's one handler. Records go to it directly rather
// than through slog.Logger: calling a Handler through the interface keeps
// slog's default text and JSON handlers in the binary, about 300 kB.
var logger = logHandler{min: slog.LevelInfo}

// Enabled reports whether records at level are written.
func (h *logHandler) Enabled(_ context.Context, level slog.Level) bool { return level >= h.min }

// Handle writes one record as "[LEVEL lockpipes] message"; attributes are not used.
func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	name, color := "TRACE", "\x1b[36m"
	switch {
	case r.Level >= slog.LevelError:
		name, color = "ERROR", "\x1b[1;31m"
	case r.Level >= slog.LevelWarn:
		name, color = "WARN ", "\x1b[33m"
	case r.Level >= slog.LevelInfo:
		name, color = "INFO ", "\x1b[32m"
	case r.Level >= slog.LevelDebug:
		name, color = "DEBUG", "\x1b[34m"
	}
	if h.color {
		name = color + name + "\x1b[0m"
	}
	_, err := os.Stderr.WriteString("[" + name + " lockpipes] " + r.Message + "\n")
	return err
}

// WithAttrs returns h: lockpipe logs plain messages.
func (h *logHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

// WithGroup returns h: lockpipe logs plain messages.
func (h *logHandler) WithGroup(string) slog.Handler { return h }

// logAt logs msg at level if the filter lets it through.
func logAt(level slog.Level, msg string) {
	ctx := context.Background()
	if logger.Enabled(ctx, level) {
		logger.Handle(ctx, slog.NewRecord(time.Time{}, level, msg, 0))
	}
}

// trace logs at TRACE.
func trace(msg string) { logAt(levelTrace, msg) }

// debugf logs at DEBUG.
func debugf(msg string) { logAt(slog.LevelDebug, msg) }

// info logs at INFO.
func info(msg string) { logAt(slog.LevelInfo, msg) }

// warn logs at WARN.
func warn(msg string) { logAt(slog.LevelWarn, msg) }

// parseLevel reads one level name, in any case.
func parseLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(s) {
	case "off":
		return levelOff, true
	case "error":
		return slog.LevelError, true
	case "warn":
		return slog.LevelWarn, true
	case "info":
		return slog.LevelInfo, true
	case "debug":
		return slog.LevelDebug, true
	case "trace":
		return levelTrace, true
	}
	return 0, false
}

// parseFilter reads LOCKPIPE_LOG_FILTER as env_logger reads RUST_LOG for the
// lockpipes target; bad holds the items it ignored.
func parseFilter(s string) (min slog.Level, bad []string) {
	global, target, haveTarget := slog.LevelInfo, slog.LevelInfo, false
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		name, lvl, named := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		switch l, ok := parseLevel(strings.TrimSpace(lvl)); {
		case item == "":
		case !named:
			if l, ok := parseLevel(item); ok {
				global = l
			} else if item == "lockpipes" {
				target, haveTarget = levelTrace, true
			} else if !strings.Contains(item, "::") {
				// env_logger would take a bare word for a crate's name, but
				// here it is far more likely a misspelt level.
				bad = append(bad, item)
			}
		case !ok || name == "":
			bad = append(bad, item)
		case name == "lockpipes":
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
	style := getenv("LOCKPIPE_LOG_STYLE")
	switch strings.ToLower(strings.TrimSpace(style)) {
	case "always":
		logger.color = true
	case "never":
	default:
		logger.color = isTerminal(2) && getenv("TERM") != "dumb" && getenv("NO_COLOR") == ""
	}
	for _, item := range bad {
		warn("ignoring " + strconv.Quote(item) + " in LOCKPIPE_LOG_FILTER: not off, error, warn, info, debug, trace or lockpipes=LEVEL")
	}
	if s := strings.ToLower(strings.TrimSpace(style)); s != "" && s != "auto" && s != "always" && s != "never" {
		warn("ignoring LOCKPIPE_LOG_STYLE " + strconv.Quote(style) + ": not auto, always or never")
	}
}

var (
	ending  sync.Mutex // taken for good by whichever way of ending the process comes first
	met     bool       // a partner has arrived; guarded by ending
	expired bool       // --timeout ran out before a partner arrived; guarded by ending
)

// exit ends the process with status after logging msg at level, unless a signal or the timeout ended it first.
func exit(status int, level slog.Level, msg string) {
	ending.Lock()
	if msg != "" {
		logAt(level, msg)
	}
	os.Exit(status)
}

// signalName returns the usual name of the signals lockpipe handles.
func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return "signal " + strconv.Itoa(int(s))
}

// watch ends the process on SIGTERM, SIGINT or SIGHUP, and as PID 1 reaps orphans.
func watch(doing string) {
	sigs := []os.Signal{syscall.SIGTERM, syscall.SIGINT}
	// nohup ignores SIGHUP on purpose. SIGINT is always handled: shells
	// ignore it for every background job, not by the user's choice.
	if !signal.Ignored(syscall.SIGHUP) {
		sigs = append(sigs, syscall.SIGHUP)
	}
	pid1 := os.Getpid() == 1
	if pid1 {
		sigs = append(sigs, syscall.SIGCHLD)
	}
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, sigs...)
	if pid1 {
		reap() // orphans that exited before the handler was in place
	}
	go func() {
		for s := range ch {
			n := s.(syscall.Signal)
			if n == syscall.SIGCHLD {
				reap()
				continue
			}
			status := statusSignal + int(n)
			exit(status, slog.LevelInfo, "received "+signalName(n)+" while "+doing+"; exiting with status "+strconv.Itoa(status))
		}
	}()
}

// reap collects every child that has exited: as PID 1, every orphan of the namespace.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		trace("reaped process " + strconv.Itoa(pid))
	}
}

// runCreate creates the named pipe.
func runCreate(c *config) error {
	debugf("creating pipe at " + strconv.Quote(c.path))
	created, err := makePipe(c.path, c.mode)
	if err != nil {
		return err
	}
	if created {
		info("created pipe at " + strconv.Quote(c.path))
	} else {
		warn("pipe already exists at " + strconv.Quote(c.path))
	}
	return nil
}

// runExists reports whether the named pipe is there.
func runExists(c *config) error {
	q := strconv.Quote(c.path)
	debugf("checking if pipe exists at " + q)
	e, err := inspect(c.path)
	switch {
	case err != nil:
		return sysError("check", c.path, err)
	case e.pipe:
		info("pipe exists at " + q)
		return nil
	case e.exists:
		return notPipeError(c.path, e.what)
	}
	info("pipe does not exist at " + q)
	return &failure{statusNoPipe, ""}
}

// runDelete releases the pipe's waiters and removes it.
func runDelete(c *config) error {
	q := strconv.Quote(c.path)
	debugf("deleting pipe at " + q)
	removed, err := removePipe(c.path)
	if err != nil {
		return err
	}
	if removed {
		info("deleted pipe at " + q)
	} else {
		warn("pipe does not exist at " + q)
	}
	return nil
}

// runRead waits for a writer.
func runRead(c *config) error { return await(c, true) }

// runWrite waits for a reader.
func runWrite(c *config) error { return await(c, false) }

// ensure makes sure a named pipe is at the path, creating it if nothing is there.
func ensure(c *config) error {
	q := strconv.Quote(c.path)
	debugf("ensuring pipe exists at " + q)
	e, err := inspect(c.path)
	switch {
	case err != nil:
		return sysError("check", c.path, err)
	case e.pipe:
		info("pipe exists at " + q)
		return nil
	case e.what != "":
		return notPipeError(c.path, e.what)
	}
	warn("pipe does not exist at " + q)
	return runCreate(c)
}

// await makes sure the pipe exists, waits there for a partner, and ends the process once one came.
func await(c *config, reading bool) error {
	q := strconv.Quote(c.path)
	flags, doing, done := syscall.O_WRONLY, "writing to pipe at "+q, "wrote to pipe at "+q
	if reading {
		flags, doing, done = syscall.O_RDONLY, "reading from pipe at "+q, "read from pipe at "+q
	}
	waiting := false
	for try := 0; ; try++ {
		if err := ensure(c); err != nil {
			return err
		}
		debugf(doing)
		if !reading && !waiting {
			// A reader already waiting is met at once, with nothing set up for a wait.
			// ENXIO (no reader) leaves the pipe's state untouched.
			fd, err := openPipe(c.path, flags|syscall.O_NONBLOCK, timedOut)
			if err == nil {
				syscall.Close(fd)
				exit(statusOK, slog.LevelInfo, done)
			}
			if err != syscall.ENXIO && err != syscall.ENOENT {
				return openError(c.path, err)
			}
		}
		if !waiting {
			watch(doing)
			if c.timeout > 0 {
				if err := interruptAt(c.timeout); err != nil {
					return sysError("set up --timeout for", c.path, err)
				}
			}
			waiting = true
		}
		fd, err := openPipe(c.path, flags, timedOut)
		if err == syscall.ENOENT && try < 10 {
			continue // deleted since ensure: wait on the new one instead
		}
		if err == syscall.ETIMEDOUT {
			exit(statusTimeout, slog.LevelWarn, "timed out after "+c.timeout.String()+" while "+doing)
		}
		if err != nil {
			return openError(c.path, err)
		}
		ending.Lock()
		met = true
		ending.Unlock()
		if reading {
			if err := drain(fd); err != nil {
				return sysError("read from pipe at", c.path, err)
			}
		}
		syscall.Close(fd)
		exit(statusOK, slog.LevelInfo, done)
	}
}

// versionString returns the version: set at link time, else from the build information.
func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", ""
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision":
			rev = s.Value
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "-dirty"
		}
	}
	if rev == "" {
		return "devel"
	}
	return rev + dirty
}

// openError describes a failure of openPipe.
func openError(path string, err error) error {
	if errno, ok := err.(syscall.Errno); ok {
		return sysError("open pipe at", path, errno)
	}
	return err
}

// timedOut reports whether --timeout has run out with no partner.
func timedOut() bool {
	ending.Lock()
	defer ending.Unlock()
	return expired
}

// interruptAt makes the calling goroutine's blocking open(2) return EINTR once d has passed.
//
// A timer alone cannot tell a timeout from a partner arriving at the same
// instant: the kernel may complete the partner's open just before this
// process gives up. Interrupted with EINTR, the waiting open itself reports
// which came first, atomically under the pipe's lock. Go installs every
// signal handler with SA_RESTART, under which the kernel would silently
// restart the open instead, so that flag is cleared for SIGALRM, which only
// this function sends, to the one thread that waits.
func interruptAt(d time.Duration) error {
	runtime.LockOSThread() // for good: the open must stay on the thread that is signalled
	pid, tid := syscall.Getpid(), syscall.Gettid()
	// struct sigaction starts with the handler, then the flags, on the Linux ports Go supports but mips.
	var act [4]uint64
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGALRM), 0, uintptr(unsafe.Pointer(&act)), 8, 0, 0); e != 0 {
		return e
	}
	if act[0] <= 1 { // SIG_DFL or SIG_IGN: SIGALRM would kill lockpipe or not interrupt it
		return syscall.ENOTSUP
	}
	act[1] &^= 0x10000000 // SA_RESTART
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGALRM), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0); e != 0 {
		return e
	}
	time.AfterFunc(d, func() {
		ending.Lock()
		if met {
			ending.Unlock()
			return // the partner came; only draining is left
		}
		expired = true
		ending.Unlock()
		// Repeated, since a signal that lands just before the open starts is lost.
		for {
			syscall.Tgkill(pid, tid, syscall.SIGALRM)
			time.Sleep(10 * time.Millisecond)
		}
	})
	return nil
}

// runVersion prints the version.
func runVersion(*config) error {
	_, err := os.Stdout.WriteString("lockpipe " + versionString() + "\n")
	return err
}

// usageLine returns a command's synopsis.
func usageLine(c *command) string {
	s := "lockpipe " + c.name
	for _, o := range options {
		if c.opts&o.bit != 0 {
			s += " [-" + o.short + " " + o.meta + "]"
		}
	}
	if c.name == "help" {
		s += " [COMMAND]"
	}
	return s
}

// pad returns s followed by spaces up to width.
func pad(s string, width int) string {
	if len(s) >= width {
		return s + " "
	}
	return s + strings.Repeat(" ", width-len(s))
}

// optionsHelp describes the options in set, with their variables and defaults.
func optionsHelp(set optSet) string {
	s := ""
	for _, o := range options {
		if set&o.bit != 0 {
			s += "  " + pad("-"+o.short+", --"+o.long+" "+o.meta, 24) + pad(o.env, 18) + o.def + "\n" +
				"      " + o.help + "\n"
		}
	}
	return s
}

// helpText returns the overview, or the help for the command named topic.
func helpText(topic string) (string, error) {
	if topic != "" {
		c := lookup(topic)
		if c == nil {
			return "", usageError("unknown help topic " + strconv.Quote(topic) + "; run 'lockpipe help'")
		}
		s := "usage: " + usageLine(c) + "\n\n" + c.long + "\n"
		if c.opts != 0 {
			s += "\nOptions (flag, environment variable, default):\n" + optionsHelp(c.opts)
		}
		return s, nil
	}
	s := `lockpipe waits on a named pipe: a commitment-free alternative to sleep.

usage: lockpipe [OPTIONS] COMMAND [OPTIONS]

Commands:
`
	for i := range commands {
		c := &commands[i]
		name := c.name
		if c.alias != "" {
			name += ", " + c.alias
		}
		s += "  " + pad(name, 12) + c.short + "\n"
	}
	return s + `
Options (flag, environment variable, default):
` + optionsHelp(optPath|optMode|optTimeout) + `  -h, --help              show help
  -V, --version           print the version

Logging: LOCKPIPE_LOG_FILTER=off|error|warn|info|debug|trace (default info),
LOCKPIPE_LOG_STYLE=auto|always|never (default auto), on standard error.

Exit status: 0 done; 1 exists found nothing; 17 something that is not a named
pipe is at the path (left untouched); 22 usage error; 110 timed out; 128+N
ended by signal N (143 SIGTERM); otherwise the errno of the failed call.

Run 'lockpipe help COMMAND' for more about a command.
`, nil
}

// main runs one command and exits with its status.
func main() {
	setupLogging(os.Getenv)
	inv, err := parse(os.Args[1:], os.Getenv)
	if err != nil {
		exit(exitStatus(err), slog.LevelError, err.Error())
	}
	switch {
	case inv.help:
		text, err := helpText(inv.topic)
		if err != nil {
			exit(exitStatus(err), slog.LevelError, err.Error())
		}
		os.Stdout.WriteString(text)
		return
	case inv.version:
		inv.cmd = lookup("version")
	}
	c := &inv.cfg
	trace("command " + inv.cmd.name + ", path " + strconv.Quote(c.path) + ", mode 0" +
		strconv.FormatUint(uint64(c.mode), 8) + ", timeout " + c.timeout.String())
	if err := inv.cmd.run(c); err != nil {
		exit(exitStatus(err), slog.LevelError, err.Error())
	}
	exit(statusOK, slog.LevelInfo, "")
}
