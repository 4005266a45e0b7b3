//go:build linux && (ppc64 || ppc64le)

package main

// sysRenameat2 is renameat2(2)'s number on ppc64 and ppc64le.
const sysRenameat2 = 357
