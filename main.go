// Command lockpipe uses a named pipe as a synchronisation point: a
// commitment-free alternative to sleep. See README.md.
//
// main.go is the command line: the tables of options and commands, parsing,
// help and dispatch. pipe.go does what a command asks of the pipe, and
// exitcode.go turns how it ended into a log line and an exit status.
package main

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
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
	optNowait
	optIfExists
)

// option is one option: its flags, its environment variable and its parser.
type option struct {
	bit         optSet
	short, long string // short is "" for none
	env         string // "" for none
	meta        string // the value's name in help; "" for a switch, which takes none
	def, help   string
	set         func(r *request, s string) error
}

var options = [...]option{
	{bit: optPath, short: "p", long: "path", env: "LOCKPIPE_PATH", meta: "PATH", def: defaultPath,
		help: "the named pipe", set: setPath},
	{bit: optMode, short: "m", long: "mode", env: "LOCKPIPE_MODE", meta: "OCTAL", def: "0600",
		help: "permissions of a pipe this call creates, whatever the umask", set: setMode},
	{bit: optTimeout, short: "t", long: "timeout", env: "LOCKPIPE_TIMEOUT", meta: "DURATION", def: "none",
		help: "give up waiting after this long, exit 110: 500ms, 90s, 1h30m, 30, 0.5; 0 or infinity: never", set: setTimeout},
	{bit: optNowait, short: "n", long: "nowait",
		help: "release the readers waiting now and never wait; exit 6 if there are none",
		set:  func(r *request, _ string) error { r.nowait = true; return nil }},
	{bit: optIfExists, long: "if-exists",
		help: "when nothing is at the path, exit 0 at once and create nothing",
		set:  func(r *request, _ string) error { r.ifExists = true; return nil }},
}

// command is one subcommand, as in cmd/go's base.Command.
type command struct {
	name, alias string
	opts        optSet
	args        string // what follows the options in the synopsis
	short, long string
	run         func(inv *invocation, stdout io.Writer) error // nil for help, which reads this table
}

var commands = [...]command{
	{name: "create", alias: "c", opts: optPath | optMode,
		short: "create the named pipe",
		long: `Create makes a named pipe at the path, with the mode exactly, whatever the
umask. A named pipe already there is success, with a warning. A missing
parent directory is not created.`,
		run: func(inv *invocation, _ io.Writer) error { return create(inv.req.path, inv.req.mode) }},
	{name: "delete", alias: "d", opts: optPath,
		short: "release everyone waiting on the pipe, then remove it",
		long: `Delete releases every reader and writer waiting on the named pipe (they
exit 0), then removes it. Nothing there is success, with a warning. A
symbolic link is never removed, even one that leads to a named pipe.`,
		run: runDelete},
	{name: "exists", alias: "e", opts: optPath,
		short: "exit 0 if the named pipe exists, 1 if nothing is there",
		long: `Exists exits 0 when a named pipe is at the path (following symbolic
links), 1 when nothing is there (a missing parent directory included), 17
when something else is there, and the errno when the check itself fails.`,
		run: runExists},
	{name: "read", alias: "r", opts: optPath | optMode | optTimeout | optIfExists, args: "[-- CMD [ARG...]]",
		short: "wait until something writes to the pipe",
		long: `Read creates the named pipe if nothing is there, then waits until a writer
opens it, discards whatever it sends until end-of-file, and exits 0. One
write releases every reader waiting at that moment; readers that come later
wait for the next one. The pipe is never deleted. A reader whose pipe is
removed from its path is released within 2 s.

With -- CMD, lockpipe becomes CMD once released (same PID, environment and
standard streams); after a timeout, a signal or a failure CMD never runs.`,
		run: func(inv *invocation, _ io.Writer) error { return await(inv.req, true) }},
	{name: "write", alias: "w", opts: optPath | optMode | optTimeout | optNowait | optIfExists, args: "[-- CMD [ARG...]]",
		short: "wait until something reads from the pipe",
		long: `Write creates the named pipe if nothing is there, then waits until a reader
opens it, closes it without writing, and exits 0. One read releases every
writer waiting at that moment. The pipe is never deleted. With --nowait it
never waits: it releases the readers waiting now, or exits 6 if there are none.

With -- CMD, lockpipe becomes CMD once released, as for read.`,
		run: func(inv *invocation, _ io.Writer) error { return await(inv.req, false) }},
	{name: "install", args: "DIR",
		short: "copy this binary to DIR/lockpipe, for a shared volume",
		long: `Install copies the running binary to DIR/lockpipe with mode 0755, replacing
a regular file there atomically: a reader never sees a part of it. Anything
else at DIR/lockpipe is left untouched (17); a missing DIR is 2.`,
		run: runInstall},
	{name: "help", args: "[COMMAND]",
		short: "show this help, or a command's",
		long:  `Help shows the overview, or with a command's name, that command's usage.`},
	{name: "version",
		short: "print the version",
		long:  `Version prints "lockpipe VERSION" on standard output.`,
		run:   runVersion},
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
	cmd           *command
	req           request
	given         optSet   // options set on the command line
	topic         string   // help: the command to show
	dir           string   // install: the destination directory
	exec          []string // CMD and its arguments, after --
	help, version bool     // -h/--help or -V/--version given
}

// findOption returns the option called name, short or long, or nil.
func findOption(name string) *option {
	for i := range options {
		if o := &options[i]; name == o.long || name != "" && name == o.short {
			return o
		}
	}
	return nil
}

// switchFor returns the field -h/--help or -V/--version sets, or nil for any other name.
func (inv *invocation) switchFor(name string) *bool {
	switch name {
	case "h", "help":
		return &inv.help
	case "V", "version":
		return &inv.version
	}
	return nil
}

// parse decides the command, its options and CMD from args and the
// environment; it touches nothing else. Options go before or after the
// command, in the flag package's forms; everything after -- is CMD's.
func parse(args []string, getenv func(string) string) (*invocation, error) {
	inv := &invocation{req: request{path: defaultPath, mode: 0o600}}
	var dashes bool
	var words []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			inv.exec, dashes = args[i+1:], true
			break
		}
		if len(a) < 2 || a[0] != '-' {
			words = append(words, a)
			continue
		}
		var err error
		if i, err = inv.setOption(args, i); err != nil {
			return nil, err
		}
	}
	if len(words) > 0 {
		if inv.cmd = lookup(words[0]); inv.cmd == nil {
			return nil, usageError("unknown command " + strconv.Quote(words[0]) + suggest(words[0], commandNames(), ""))
		}
		words = words[1:]
	}
	switch {
	case inv.cmd != nil && inv.cmd.name == "help":
		if len(words) > 1 {
			return nil, usageError("help takes one command name at most")
		}
		if len(words) == 1 {
			inv.topic = words[0]
		}
	case inv.help:
		if inv.cmd != nil {
			inv.topic = inv.cmd.name
		}
		inv.cmd = lookup("help")
	case inv.version:
		inv.cmd = lookup("version")
	case inv.cmd == nil:
		return nil, usageError("no command given; run 'lockpipe help'")
	}
	switch name := inv.cmd.name; {
	case dashes && name != "read" && name != "write":
		return nil, usageError("a command to run after -- applies only to read and write")
	case dashes && len(inv.exec) == 0:
		return nil, usageError("nothing to run after --")
	case name == "help" || inv.version:
		return inv, nil
	}
	return inv, inv.complete(words, getenv)
}

// setOption sets the option args[i] names, with its value from the same
// argument or the next, and returns the index of the last argument it used.
func (inv *invocation) setOption(args []string, i int) (int, error) {
	a := args[i]
	name, value, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
	typed, _, _ := strings.Cut(a, "=")
	if on := inv.switchFor(name); on != nil {
		if hasValue {
			return i, usageError("option " + strconv.Quote(typed) + " takes no value")
		}
		*on = true
		return i, nil
	}
	o := findOption(name)
	switch {
	case o == nil:
		return i, usageError("unknown option " + strconv.Quote(typed) + suggest(name, optionNames(), "--"))
	case o.meta == "" && hasValue:
		return i, usageError("option " + strconv.Quote(typed) + " takes no value")
	case o.meta != "" && !hasValue && i+1 == len(args):
		return i, usageError("option " + strconv.Quote(typed) + " needs a value")
	case o.meta != "" && !hasValue:
		i++
		value = args[i]
	}
	if err := o.set(&inv.req, value); err != nil {
		return i, usageError("invalid value " + strconv.Quote(value) + " for " + quoteIfNeeded(typed) + ": " + err.Error())
	}
	inv.given |= o.bit
	return i, nil
}

// complete checks the command's arguments and options, and reads the variables of those not given.
func (inv *invocation) complete(words []string, getenv func(string) string) error {
	c := inv.cmd
	switch {
	case c.name == "install" && len(words) != 1:
		return usageError("install takes one directory, DIR; run 'lockpipe help install'")
	case c.name == "install":
		inv.dir = words[0]
	case len(words) > 0:
		return usageError("unexpected argument " + strconv.Quote(words[0]) + " after " + c.name)
	}
	for i := range options {
		o := &options[i]
		if inv.given&o.bit != 0 && c.opts&o.bit == 0 {
			return usageError("option " + optionName(o) + " does not apply to " + c.name)
		}
		// A flag beats the variable; a variable is read only by the commands it
		// applies to; --nowait never waits, so a LOCKPIPE_TIMEOUT meant for others is no error.
		if inv.given&o.bit != 0 || c.opts&o.bit == 0 || o.env == "" || o.bit == optTimeout && inv.req.nowait {
			continue
		}
		// An empty variable counts as unset, as in most tools.
		if s := getenv(o.env); s != "" {
			if err := o.set(&inv.req, s); err != nil {
				return usageError("invalid " + o.env + " " + strconv.Quote(s) + ": " + err.Error())
			}
		}
	}
	if inv.req.nowait && inv.given&optTimeout != 0 {
		return usageError("option -n/--nowait never waits, so -t/--timeout does not apply")
	}
	return nil
}

// optionName is how help and messages name an option: "-p/--path", or "--if-exists".
func optionName(o *option) string {
	if o.short == "" {
		return "--" + o.long
	}
	return "-" + o.short + "/--" + o.long
}

// quoteIfNeeded returns s as typed, quoted only if it holds anything a terminal could act on.
func quoteIfNeeded(s string) string {
	if q := strconv.Quote(s); q[1:len(q)-1] != s {
		return q
	}
	return s
}

// optionNames lists the long options, for suggestions.
func optionNames() []string {
	names := []string{"help", "version"}
	for _, o := range options {
		names = append(names, o.long)
	}
	return names
}

// commandNames lists the commands, for suggestions.
func commandNames() []string {
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	return names
}

// suggest returns "; did you mean PREFIX+NAME?" for the one name close to
// typed, and otherwise a pointer to the help.
func suggest(typed string, names []string, prefix string) string {
	best, bestD, count := "", 3, 0
	for _, n := range names {
		switch d := distance(typed, n); {
		case 2*d > len(n) || d > bestD:
		case d < bestD:
			best, bestD, count = n, d, 1
		default:
			count++
		}
	}
	if count != 1 {
		return "; run 'lockpipe help'"
	}
	return "; did you mean " + prefix + best + "?"
}

// distance counts the edits that turn a into b: insertions, deletions,
// substitutions and swaps of neighbours (optimal string alignment).
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// setPath sets the pipe's path.
func setPath(r *request, s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("the path is empty")
	}
	r.path = s
	return nil
}

// setMode sets the permissions for a pipe this call creates.
func setMode(r *request, s string) error {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o777 {
		return errors.New("not an octal mode from 0 to 0777")
	}
	r.mode = uint32(n)
	return nil
}

// setTimeout sets how long read and write wait, as sleep or Go write a duration.
func setTimeout(r *request, s string) error {
	d, err := parseTimeout(s)
	if err != nil {
		return errors.New("not a duration like 500ms, 90s, 1h30m, 30, 0.5, 0 or infinity")
	}
	r.timeout = d
	return nil
}

// parseTimeout reads a Go duration or plain seconds; zero means no limit.
func parseTimeout(s string) (time.Duration, error) {
	if s == "infinity" || s == "inf" {
		return 0, nil
	}
	// Plain seconds go through ParseDuration too, which reads decimals exactly.
	seconds := s != "" && strings.Trim(s, "0123456789.") == "" && strings.Count(s, ".") <= 1 && s != "."
	if seconds {
		s += "s"
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("not a duration")
	}
	if d == 0 && seconds && strings.Trim(s, "0.s") != "" {
		d = 1 // a tiny limit must not turn into none at all
	}
	return d, nil
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
	style := strings.ToLower(strings.TrimSpace(getenv("LOCKPIPE_LOG_STYLE")))
	switch style {
	case "always":
		logger.color = true
	case "never":
		logger.color = false
	default:
		logger.color = isTerminal(2) && getenv("TERM") != "dumb" && getenv("NO_COLOR") == ""
	}
	for _, item := range bad {
		warn("ignoring " + strconv.Quote(item) + " in LOCKPIPE_LOG_FILTER: not off, error, warn, info, debug, trace or lockpipes=LEVEL")
	}
	if style != "" && style != "auto" && style != "always" && style != "never" {
		warn("ignoring LOCKPIPE_LOG_STYLE " + strconv.Quote(getenv("LOCKPIPE_LOG_STYLE")) + ": not auto, always or never")
	}
}

// runExists reports whether the named pipe is there.
func runExists(inv *invocation, _ io.Writer) error {
	q := strconv.Quote(inv.req.path)
	debugf("checking if pipe exists at " + q)
	found, err := exists(inv.req.path)
	switch {
	case err != nil:
		return err
	case !found:
		return &failure{statusNoPipe, slog.LevelInfo, "pipe does not exist at " + q}
	}
	info("pipe exists at " + q)
	return nil
}

// runDelete releases the pipe's waiters and removes it.
func runDelete(inv *invocation, _ io.Writer) error {
	q := strconv.Quote(inv.req.path)
	debugf("deleting pipe at " + q)
	removed, err := remove(inv.req.path)
	switch {
	case err != nil:
		return err
	case removed:
		info("deleted pipe at " + q)
	default:
		warn("pipe does not exist at " + q)
	}
	return nil
}

// runInstall copies the running binary into the directory.
func runInstall(inv *invocation, _ io.Writer) error {
	dst, err := install(inv.dir)
	if err == nil {
		info("installed lockpipe at " + strconv.Quote(dst))
	}
	return err
}

// runVersion prints the version.
func runVersion(_ *invocation, stdout io.Writer) error {
	if _, err := io.WriteString(stdout, "lockpipe "+versionString()+"\n"); err != nil {
		return outputError(err)
	}
	return nil
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
			dirty = "+dirty"
		}
	}
	if rev == "" {
		return "devel"
	}
	return rev + dirty
}

// usageLine returns a command's synopsis.
func usageLine(c *command) string {
	s := "lockpipe " + c.name
	for i := range options {
		switch o := &options[i]; {
		case c.opts&o.bit == 0:
		case o.meta != "":
			s += " [-" + o.short + " " + o.meta + "]"
		case o.short != "":
			s += " [-" + o.short + "]"
		default:
			s += " [--" + o.long + "]"
		}
	}
	if c.args != "" {
		s += " " + c.args
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
		if set&o.bit == 0 {
			continue
		}
		flags := "    --" + o.long
		if o.short != "" {
			flags = "-" + o.short + ", --" + o.long
		}
		if o.meta != "" {
			flags += " " + o.meta
		}
		s += strings.TrimRight("  "+pad(flags, 24)+pad(o.env, 18)+o.def, " ") + "\n      " + o.help + "\n"
	}
	return s
}

// helpText returns the overview, or the help for the command named topic.
func helpText(topic string) (string, error) {
	if topic != "" {
		c := lookup(topic)
		if c == nil {
			return "", usageError("unknown help topic " + strconv.Quote(topic) + suggest(topic, commandNames(), ""))
		}
		s := "usage: " + usageLine(c) + "\n\n" + c.long + "\n"
		if c.opts != 0 {
			s += "\nOptions (flag, environment variable, default):\n" + optionsHelp(c.opts)
		}
		return s, nil
	}
	s := "lockpipe waits on a named pipe: a commitment-free alternative to sleep.\n\n" +
		"usage: lockpipe [OPTIONS] COMMAND [OPTIONS] [-- CMD [ARG...]]\n\nCommands:\n"
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
` + optionsHelp(optPath|optMode|optTimeout|optNowait|optIfExists) + `  -h, --help              show help
  -V, --version           print the version

Logging: LOCKPIPE_LOG_FILTER=off|error|warn|info|debug|trace (default info),
LOCKPIPE_LOG_STYLE=auto|always|never (default auto), on standard error.

Exit status: 0 done; 1 exists found nothing; 6 write --nowait found nobody
waiting; 17 something that is not a named pipe is at the path (left
untouched); 22 usage error; 110 timed out; 126 CMD cannot run; 127 CMD not
found; 128+N ended by signal N (143 SIGTERM, 131 SIGQUIT); otherwise the
errno of the failed call.

Run 'lockpipe help COMMAND' for more about a command.
`, nil
}

// runHelp prints the overview or a command's help.
func runHelp(topic string, stdout io.Writer) error {
	text, err := helpText(topic)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(stdout, text); err != nil {
		return outputError(err)
	}
	return nil
}

// run carries out one command line and returns how it ended: nil is success.
// Once read or write is released, a CMD after -- replaces lockpipe.
func run(args []string, getenv func(string) string, stdout io.Writer) error {
	setupLogging(getenv)
	inv, err := parse(args, getenv)
	if err != nil {
		return err
	}
	c := inv.cmd
	if c.run == nil {
		return runHelp(inv.topic, stdout)
	}
	setDoing("running " + c.name)
	r := &inv.req
	trace("command " + c.name + ", path " + strconv.Quote(r.path) + ", mode 0" +
		strconv.FormatUint(uint64(r.mode), 8) + ", timeout " + r.timeout.String())
	if err := c.run(inv, stdout); err != nil || len(inv.exec) == 0 {
		return err
	}
	return become(inv.exec, getenv("PATH"))
}

// init catches signals before anything of lockpipe's own runs when it is
// PID 1, where the kernel drops a signal that has no handler. Elsewhere the
// default action ends lockpipe with the same status until it waits, and
// setting up signal delivery (a thread) would cost every start a millisecond.
func init() {
	if os.Getpid() == 1 {
		catchSignals()
	}
}

// main runs one command line and exits once, with its status.
func main() {
	exit(run(os.Args[1:], os.Getenv, os.Stdout))
}
