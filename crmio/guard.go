package crmio

// guardChars are the characters that make a spreadsheet read a cell as a
// formula (OWASP, CSV injection).
func isGuardChar(b byte) bool {
	return b == '=' || b == '+' || b == '-' || b == '@' || b == '\t' || b == '\r'
}

// needsGuard reports whether a cell would be read as a formula: it starts
// with a formula character, or it is a guarded cell already (so that
// guarding is reversible).
func needsGuard(s string) bool {
	for len(s) > 0 && s[0] == '\'' {
		s = s[1:]
		if len(s) == 0 {
			return false
		}
		if isGuardChar(s[0]) {
			return true
		}
		if s[0] != '\'' {
			return false
		}
	}
	return len(s) > 0 && isGuardChar(s[0])
}

// guardCell neutralises formula injection: a cell that a spreadsheet would
// evaluate gets a leading apostrophe.
func guardCell(s string) string {
	if needsGuard(s) {
		return "'" + s
	}
	return s
}

// unguardCell undoes guardCell.
func unguardCell(s string) string {
	if len(s) > 1 && s[0] == '\'' && needsGuard(s[1:]) {
		return s[1:]
	}
	return s
}
