//go:build linux && !(mips || mipsle || mips64 || mips64le)

package main

import "unsafe"

// The kernel's signal structures on every port but mips: 64 signals,
// sigprocmask's operations numbered from 0, and sa_flags, an unsigned long,
// after the handler.
const (
	sigBlock    = 0 // SIG_BLOCK
	sigUnblock  = 1 // SIG_UNBLOCK
	sigSetmask  = 2 // SIG_SETMASK
	sigsetBytes = 8 // the kernel's sigset_t
)

// handler returns where the action's handler is.
func (a *sigaction) handler() *uintptr { return &a[0] }

// clearRestart clears SA_RESTART in the action's flags.
func (a *sigaction) clearRestart() { *(*uintptr)(unsafe.Pointer(&a[1])) &^= saRestart }
