package packaging

import (
	"fmt"
	"strings"
)

// Marker is a parsed PEP 508 environment marker.
type Marker struct{ root markerNode }

// markerVariables are the PEP 508 marker variables, with the legacy
// spellings packaging still accepts mapped to them.
var markerVariables = func() map[string]string {
	m := map[string]string{
		// legacy spellings
		"os.name":                        "os_name",
		"sys.platform":                   "sys_platform",
		"platform.version":               "platform_version",
		"platform.machine":               "platform_machine",
		"platform.python_implementation": "platform_python_implementation",
		"python_implementation":          "platform_python_implementation",
	}
	for _, v := range []string{
		"python_version", "python_full_version", "os_name", "sys_platform",
		"platform_release", "platform_system", "platform_version", "platform_machine",
		"platform_python_implementation", "implementation_name", "implementation_version", "extra",
	} {
		m[v] = v
	}
	return m
}()

// maxMarkerDepth bounds parenthesis nesting.
const maxMarkerDepth = 32

type markerNode interface {
	eval(env map[string]string) (bool, error)
	format(b *strings.Builder, top bool)
}

type markerBool struct {
	or   bool // "or", else "and"
	l, r markerNode
}

type markerValue struct {
	variable string // canonical name; "" for a literal
	literal  string
}

type markerCmp struct {
	lhs, rhs markerValue
	op       string
}

func (n *markerBool) eval(env map[string]string) (bool, error) {
	l, err := n.l.eval(env)
	if err != nil {
		return false, err
	}
	if n.or && l || !n.or && !l {
		return l, nil
	}
	return n.r.eval(env)
}

func (n *markerBool) format(b *strings.Builder, top bool) {
	paren := !top
	if paren {
		b.WriteString("(")
	}
	n.l.format(b, false)
	if n.or {
		b.WriteString(" or ")
	} else {
		b.WriteString(" and ")
	}
	n.r.format(b, false)
	if paren {
		b.WriteString(")")
	}
}

func (v markerValue) value(env map[string]string) string {
	if v.variable != "" {
		return env[v.variable]
	}
	return v.literal
}

func (v markerValue) format(b *strings.Builder) {
	if v.variable != "" {
		b.WriteString(v.variable)
		return
	}
	q := `"`
	if strings.Contains(v.literal, `"`) {
		q = `'`
	}
	b.WriteString(q + v.literal + q)
}

func (n *markerCmp) format(b *strings.Builder, _ bool) {
	n.lhs.format(b)
	b.WriteString(" " + n.op + " ")
	n.rhs.format(b)
}

func (n *markerCmp) eval(env map[string]string) (bool, error) {
	lhs, rhs := n.lhs.value(env), n.rhs.value(env)
	if n.lhs.variable == "extra" || n.rhs.variable == "extra" {
		lhs, rhs = NormalizeName(lhs), NormalizeName(rhs)
	}
	// As packaging's _eval_op: a version comparison when op+rhs is a
	// valid specifier, else a string comparison.
	if n.op != "in" && n.op != "not in" {
		if sp, err := ParseSpecifier(n.op + rhs); err == nil {
			v, err := ParseVersion(lhs)
			if err != nil {
				return false, nil
			}
			return sp.Contains(v), nil
		}
	}
	switch n.op {
	case "in":
		return strings.Contains(rhs, lhs), nil
	case "not in":
		return !strings.Contains(rhs, lhs), nil
	case "==":
		return lhs == rhs, nil
	case "!=":
		return lhs != rhs, nil
	case "<":
		return lhs < rhs, nil
	case "<=":
		return lhs <= rhs, nil
	case ">":
		return lhs > rhs, nil
	case ">=":
		return lhs >= rhs, nil
	}
	return false, fmt.Errorf("marker %q %s %q: undefined comparison", lhs, n.op, rhs)
}

// ParseMarker parses a PEP 508 marker expression such as
// `python_version < "3.11" and sys_platform == "linux"`.
func ParseMarker(s string) (*Marker, error) {
	p := &markerParser{s: s}
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return nil, p.errorf("unexpected %q", truncate(p.s[p.i:], 20))
	}
	return &Marker{root: n}, nil
}

// Evaluate reports whether the marker holds in env, which maps marker
// variables (python_version, sys_platform, …) to their values; a missing
// variable is "".
func (m *Marker) Evaluate(env map[string]string) (bool, error) {
	if m == nil || m.root == nil {
		return true, nil
	}
	return m.root.eval(env)
}

// String renders the marker in a canonical form that parses back to the
// same marker.
func (m *Marker) String() string {
	if m == nil || m.root == nil {
		return ""
	}
	var b strings.Builder
	m.root.format(&b, true)
	return b.String()
}

type markerParser struct {
	s string
	i int
}

func (p *markerParser) errorf(format string, a ...any) error {
	return fmt.Errorf("%w: marker: %s", ErrInvalidRequirement, fmt.Sprintf(format, a...))
}

func (p *markerParser) skipSpace() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

// keyword consumes word if it comes next as a whole word.
func (p *markerParser) keyword(word string) bool {
	p.skipSpace()
	if !strings.HasPrefix(p.s[p.i:], word) {
		return false
	}
	end := p.i + len(word)
	if end < len(p.s) && isMarkerIdent(p.s[end]) {
		return false
	}
	p.i = end
	return true
}

func isMarkerIdent(c byte) bool { return isAlnum(c) || c == '_' || c == '.' }

func (p *markerParser) or(depth int) (markerNode, error) {
	return p.chain(depth, "or", p.and)
}

func (p *markerParser) and(depth int) (markerNode, error) {
	return p.chain(depth, "and", p.atom)
}

// chain reads operand (op operand)*, op "and" or "or", grouping to the
// left.
func (p *markerParser) chain(depth int, op string, operand func(depth int) (markerNode, error)) (markerNode, error) {
	l, err := operand(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword(op) {
		r, err := operand(depth)
		if err != nil {
			return nil, err
		}
		l = &markerBool{or: op == "or", l: l, r: r}
	}
	return l, nil
}

func (p *markerParser) atom(depth int) (markerNode, error) {
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '(' {
		if depth >= maxMarkerDepth {
			return nil, p.errorf("nested too deeply")
		}
		p.i++
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, p.errorf("missing )")
		}
		p.i++
		return n, nil
	}
	lhs, err := p.value()
	if err != nil {
		return nil, err
	}
	op, err := p.op()
	if err != nil {
		return nil, err
	}
	rhs, err := p.value()
	if err != nil {
		return nil, err
	}
	if lhs.variable == "" && rhs.variable == "" {
		return nil, p.errorf("comparison of two literals")
	}
	return &markerCmp{lhs: lhs, rhs: rhs, op: op}, nil
}

func (p *markerParser) value() (markerValue, error) {
	p.skipSpace()
	if p.i >= len(p.s) {
		return markerValue{}, p.errorf("expected a variable or a quoted string")
	}
	if q := p.s[p.i]; q == '"' || q == '\'' {
		end := strings.IndexByte(p.s[p.i+1:], q)
		if end < 0 {
			return markerValue{}, p.errorf("unterminated string")
		}
		lit := p.s[p.i+1 : p.i+1+end]
		for j := 0; j < len(lit); j++ {
			if c := lit[j]; c < 0x20 || c == 0x7f || c == '\\' {
				return markerValue{}, p.errorf("invalid character in string")
			}
		}
		p.i += end + 2
		return markerValue{literal: lit}, nil
	}
	j := p.i
	for j < len(p.s) && isMarkerIdent(p.s[j]) {
		j++
	}
	name := p.s[p.i:j]
	canon, ok := markerVariables[name]
	if !ok {
		if name == "" {
			return markerValue{}, p.errorf("expected a variable or a quoted string at %q", truncate(p.s[p.i:], 20))
		}
		return markerValue{}, p.errorf("unknown variable %q", truncate(name, 40))
	}
	p.i = j
	return markerValue{variable: canon}, nil
}

func (p *markerParser) op() (string, error) {
	p.skipSpace()
	for _, op := range []string{"===", "==", "!=", "<=", ">=", "~=", "<", ">"} {
		if strings.HasPrefix(p.s[p.i:], op) {
			p.i += len(op)
			return op, nil
		}
	}
	if p.keyword("in") {
		return "in", nil
	}
	save := p.i
	if p.keyword("not") && p.keyword("in") {
		return "not in", nil
	}
	p.i = save
	return "", p.errorf("expected a comparison operator at %q", truncate(p.s[p.i:], 20))
}
