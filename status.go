//go:build linux

package main

// status: what a person debugging a stuck pod needs to know of each pipe,
// found without ever opening it: a probe that opened a named pipe, even
// non-blocking, would release a waiting writer or end a waiting reader's
// wait. Who has it open comes from /proc (openers.go).

import (
	"io"
	"strconv"
	"strings"
	"syscall"
)

// runStatus prints what is known of each pipe, one fact a line, each line
// beginning with the pipe's quoted path; it exits as exists does.
func runStatus(inv *invocation, stdout io.Writer) error {
	var out strings.Builder
	var worst error
	for _, path := range inv.req.paths {
		err := describePipe(&out, path)
		if worst == nil || exitStatus(err) > exitStatus(worst) {
			worst = err
		}
	}
	if err := printOut(stdout, out.String()); err != nil {
		return err
	}
	return worst
}

// describePipe writes the lines about one pipe, and returns how exists would end.
func describePipe(out *strings.Builder, path string) error {
	q := strconv.Quote(path)
	var st syscall.Stat_t
	err := syscall.Stat(path, &st)
	switch {
	case err != nil && err != syscall.ENOENT && err != syscall.ENOTDIR:
		return sysError("check", path, err)
	case err != nil:
		out.WriteString(q + " missing\n")
		return statusOnly(statusNoPipe)
	case st.Mode&syscall.S_IFMT != syscall.S_IFIFO:
		out.WriteString(q + " other what=" + strconv.Quote(describe(st.Mode)) + "\n")
		return statusOnly(statusNotPipe)
	}
	out.WriteString(q + " pipe mode=0" + strconv.FormatUint(uint64(st.Mode&0o7777), 8) +
		" uid=" + strconv.Itoa(int(st.Uid)) + " gid=" + strconv.Itoa(int(st.Gid)) + "\n")
	h := &handle{path: path, fd: -1, st: st, fifo: true}
	rec, found, ours := h.recordOf()
	switch {
	case ours && !found:
		out.WriteString(q + " record stale\n") // another pipe's at this name, or another boot's
	case !found:
		out.WriteString(q + " record none\n")
	case rec.how == "held":
		out.WriteString(q + " record held\n")
	default:
		out.WriteString(q + " record " + rec.how + "=" + strconv.Itoa(rec.n) + " status=" + strconv.Itoa(rec.status()) + "\n")
	}
	if !procfs() {
		out.WriteString(q + " processes unknown\n")
		return nil
	}
	list, unseen := openers(&st)
	heldNow := "no"
	for _, o := range list {
		if o.writes() {
			heldNow = "yes"
		}
	}
	out.WriteString(q + " held " + heldNow + "\n")
	for _, o := range list {
		out.WriteString(q + " " + o.role + " pid=" + strconv.Itoa(o.pid) + " state=" + o.how + " cmd=" + strconv.Quote(o.cmd) + "\n")
	}
	if unseen > 0 {
		out.WriteString(q + " unseen " + strconv.Itoa(unseen) + "\n")
	}
	return nil
}
