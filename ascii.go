package main

// ASCII words: the level, style and signal names and the "inf" lockpipe
// reads are compared in any case and trimmed of ASCII white space only, as
// env_logger compares level names. Go's Unicode case tables, which
// strings.ToLower, ToUpper and EqualFold link, would add 24 kB to the binary
// and about as much to the resident memory of every waiter.

// equalFold reports whether a and b are the same ASCII word, in any case.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// lowerASCII returns c in lower case when it is an ASCII letter, else c.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// trimSpace returns s without the ASCII white space around it.
func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// isSpace reports whether c is ASCII white space.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
