//go:build linux && 386

package main

// sysRenameat2 is renameat2(2)'s number on 386.
const sysRenameat2 = 353
