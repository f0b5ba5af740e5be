package framework

import (
	"strings"
)

// This file is a small Python tokenizer. Detection needs to tell a real
// `app = FastAPI()` from the same text in a docstring, a comment or an
// indented block, which plain substring search cannot; a full parser is a
// later feature, so statements are cut into tokens and nothing more.

type pyTokKind int

const (
	pyName pyTokKind = iota
	pyOp
	pyString
	pyNumber
)

// pyTok is one token. For strings, text is the body between the quotes with
// escapes left as written, which is enough for the module paths and setting
// values detection reads.
type pyTok struct {
	kind pyTokKind
	text string
}

// pyStmt is one logical statement: physical lines joined by brackets or
// backslashes, split at semicolons.
type pyStmt struct {
	indent int // column of the first token; 0 is module level
	line   int // 1-based line of the first token
	toks   []pyTok
}

// is reports whether token i exists and is kind k with text s.
func (s pyStmt) is(i int, k pyTokKind, text string) bool {
	return i >= 0 && i < len(s.toks) && s.toks[i].kind == k && s.toks[i].text == text
}

// scanPython cuts src into statements. It never fails: an unterminated
// string or bracket ends at the end of the file, because generated code that
// does not parse will fail loudly at run time anyway, and detection should
// still say what it found.
func scanPython(src string) []pyStmt {
	var (
		out        []pyStmt
		cur        pyStmt
		line       = 1
		depth      int
		lineStart  = true
		lineIndent int
	)
	flush := func() {
		if len(cur.toks) > 0 {
			out = append(out, cur)
		}
		cur = pyStmt{}
	}
	// add takes the line the token started on: a string may end lines later.
	add := func(k pyTokKind, text string, at int) {
		if len(cur.toks) == 0 {
			cur.indent, cur.line = lineIndent, at
		}
		cur.toks = append(cur.toks, pyTok{k, text})
	}
	n := len(src)
	for i := 0; i < n; {
		if lineStart && depth == 0 && len(cur.toks) == 0 {
			col := 0
			for i < n && (src[i] == ' ' || src[i] == '\t' || src[i] == '\f') {
				if src[i] == '\t' {
					col = col/8*8 + 8
				} else {
					col++
				}
				i++
			}
			lineIndent = col
			lineStart = false
			continue
		}
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
			if depth == 0 {
				flush()
				lineStart = true
			}
		case c == '\\' && i+1 < n && (src[i+1] == '\n' || src[i+1] == '\r'):
			// An explicit line join: the statement goes on.
			i++
			if src[i] == '\r' && i+1 < n && src[i+1] == '\n' {
				i++
			}
			i++
			line++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\\':
			i++
		case c == '#':
			for i < n && src[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'':
			var body string
			at := line
			body, i, line = scanPyString(src, i, line)
			add(pyString, body, at)
		case isPyIdentStart(c):
			j := i
			for j < n && isPyIdentChar(src[j]) {
				j++
			}
			word := src[i:j]
			if j < n && (src[j] == '"' || src[j] == '\'') && isPyStringPrefix(word) {
				var body string
				at := line
				body, i, line = scanPyString(src, j, line)
				add(pyString, body, at)
				continue
			}
			add(pyName, word, line)
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < n && src[i+1] >= '0' && src[i+1] <= '9':
			j := i + 1
			for j < n && (isPyIdentChar(src[j]) || src[j] == '.' ||
				(src[j] == '+' || src[j] == '-') && (src[j-1] == 'e' || src[j-1] == 'E')) {
				j++
			}
			add(pyNumber, src[i:j], line)
			i = j
		case c == ';' && depth == 0:
			flush()
			i++
		default:
			op := pyOperator(src[i:])
			switch op {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				if depth > 0 {
					depth--
				}
			}
			add(pyOp, op, line)
			i += len(op)
		}
	}
	flush()
	return out
}

// scanPyString reads the string literal whose opening quote is at src[i] and
// returns its body, the index after it and the updated line number.
func scanPyString(src string, i, line int) (string, int, int) {
	q := src[i]
	n := len(src)
	triple := i+2 < n && src[i+1] == q && src[i+2] == q
	if triple {
		i += 3
	} else {
		i++
	}
	start := i
	for i < n {
		c := src[i]
		switch {
		case c == '\\' && i+1 < n:
			// Even in raw strings a backslash keeps the next quote inside.
			if src[i+1] == '\n' {
				line++
			}
			i += 2
		case c == '\n':
			if !triple {
				// Unterminated: end the literal here, as Python's error would.
				return src[start:i], i, line
			}
			line++
			i++
		case c == q && !triple:
			return src[start:i], i + 1, line
		case c == q && i+2 < n && src[i+1] == q && src[i+2] == q:
			return src[start:i], i + 3, line
		default:
			i++
		}
	}
	return src[start:], n, line
}

func isPyIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isPyIdentChar(c byte) bool {
	return isPyIdentStart(c) || c >= '0' && c <= '9'
}

func isPyStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "f", "br", "rb", "fr", "rf":
		return true
	}
	return false
}

// pyOperator returns the operator at the start of s; three- and two-character
// operators are kept whole so that "==" is never read as an assignment.
func pyOperator(s string) string {
	for _, op := range []string{"**=", "//=", ">>=", "<<=", "...", "->", ":=", "==", "!=", "<=", ">=",
		"+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", "**", "//", "<<", ">>"} {
		if strings.HasPrefix(s, op) {
			return op
		}
	}
	return s[:1]
}

// isPyIdent reports whether s is a valid Python identifier (ASCII rules plus
// any non-ASCII byte, which is what the tokenizer accepts too).
func isPyIdent(s string) bool {
	if s == "" || !isPyIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isPyIdentChar(s[i]) {
			return false
		}
	}
	return !isPyKeyword(s)
}

// isPyKeyword reports whether s is a reserved word, which cannot name a
// module or a variable.
func isPyKeyword(s string) bool {
	switch s {
	case "False", "None", "True", "and", "as", "assert", "async", "await", "break",
		"class", "continue", "def", "del", "elif", "else", "except", "finally", "for",
		"from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or",
		"pass", "raise", "return", "try", "while", "with", "yield":
		return true
	}
	return false
}
