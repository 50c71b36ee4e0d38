package index

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Requirements files (pip's format) and PEP 508 requirements, as far as
// tufpip can honour them: name-based requirements with version
// specifiers, environment markers and --hash options. Lines that would
// make pip fetch from somewhere else or something else (index and
// find-links options, URLs, paths, editable installs) are returned as
// Sources for the caller to refuse, never silently skipped: a skipped
// line would be a requirement nobody verified. Nested files and other
// options are errors.

// DefaultMaxRequirementsBytes bounds a requirements file. Lock files for
// large applications are a few hundred kilobytes.
const DefaultMaxRequirementsBytes = 16 << 20

// maxRequirementLen bounds one logical line (after joining continuations).
const maxRequirementLen = 64 << 10

var (
	// ErrInvalidRequirement is wrapped by errors for text that is not a
	// valid requirement or requirements-file line.
	ErrInvalidRequirement = errors.New("invalid requirement")
	// ErrUnsupportedRequirement is wrapped by errors for valid pip syntax
	// that tufpip does not support.
	ErrUnsupportedRequirement = errors.New("not supported by tufpip")
)

// RequirementsError locates an error in a requirements file.
type RequirementsError struct {
	Line int // 1-based line the logical line starts on
	Err  error
}

func (e *RequirementsError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *RequirementsError) Unwrap() error { return e.Err }

// requirementHashLen lists the algorithms pip accepts for --hash (its
// STRONG_HASHES) and their hex lengths.
var requirementHashLen = map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}

// RequirementHashAlgorithms are the algorithms --hash accepts, as in pip.
var RequirementHashAlgorithms = []string{"sha256", "sha384", "sha512"}

// Requirement is one PEP 508 requirement by name, with the --hash values a
// requirements file gives it.
type Requirement struct {
	// Name is the project name as written; Project is its normalized form.
	Name    string
	Project string
	// Extras are the normalized extras, in the order written. They do not
	// change which files are chosen.
	Extras []string
	// Specifier is the version constraint; empty admits every version.
	Specifier SpecifierSet
	// Marker is the environment marker, nil when there is none.
	Marker *Marker
	// Hashes maps an algorithm ("sha256", "sha384" or "sha512") to the
	// lower-case hex digests a file may have, in the order given. As in
	// pip, a file is acceptable if any one of its digests is listed.
	Hashes map[string][]string
	// Line is where the requirement starts in its file; 0 elsewhere.
	Line int
}

// Pin returns the version an exact pin ("==1.0", not "==1.*"; or
// "===1.0") names, and whether the requirement is one.
func (r Requirement) Pin() (string, bool) {
	if len(r.Specifier) != 1 {
		return "", false
	}
	sp := r.Specifier[0]
	if sp.Op == "===" || sp.Op == "==" && !sp.wildcard {
		return sp.Version, true
	}
	return "", false
}

// HasHashes reports whether any --hash was given.
func (r Requirement) HasHashes() bool { return len(r.Hashes) > 0 }

// AllowsDigest reports whether hexDigest, computed with alg, is one of the
// requirement's hashes.
func (r Requirement) AllowsDigest(alg, hexDigest string) bool {
	return slices.Contains(r.Hashes[alg], strings.ToLower(hexDigest))
}

// HashAlgorithms returns the algorithms the requirement gives hashes for,
// sorted.
func (r Requirement) HashAlgorithms() []string {
	var algs []string
	for alg := range r.Hashes {
		algs = append(algs, alg)
	}
	slices.Sort(algs)
	return algs
}

// NameSpec is the requirement without marker and hashes, e.g.
// "requests[socks]==2.31.0": what messages call it.
func (r Requirement) NameSpec() string {
	var b strings.Builder
	b.WriteString(r.Name)
	if len(r.Extras) > 0 {
		b.WriteString("[" + strings.Join(r.Extras, ",") + "]")
	}
	b.WriteString(r.Specifier.String())
	return b.String()
}

// String renders the requirement as a requirements-file line that parses
// back to the same requirement.
func (r Requirement) String() string {
	var b strings.Builder
	b.WriteString(r.NameSpec())
	if r.Marker != nil {
		b.WriteString(" ; " + r.Marker.String())
	}
	for _, alg := range r.HashAlgorithms() {
		for _, h := range r.Hashes[alg] {
			b.WriteString(" --hash=" + alg + ":" + h)
		}
	}
	return b.String()
}

// RequirementsFile is a parsed pip requirements file.
type RequirementsFile struct {
	Requirements []Requirement
	// HashChecking is pip's hash-checking mode: on when the file says
	// --require-hashes or any requirement has a --hash. Then every
	// requirement has at least one hash (ParseRequirements enforces it).
	HashChecking bool
	// Sources lists, in file order, the lines that tell pip where to
	// look for files or name a file directly. tufpip itself only ever
	// takes files its TUF repository signed, but pip, reading the same
	// file, would follow them; the caller decides which are acceptable.
	Sources []Source
}

// Source is a requirements-file line that makes pip look somewhere for
// files, or that names a file directly instead of a project.
type Source struct {
	Line int
	// Option is the option as written ("--extra-index-url", "-f",
	// "--trusted-host", "--no-index", "-e"), or "" for a requirement
	// that is a URL, a path or a direct reference (NAME @ URL).
	Option string
	// Value is the option's argument or the requirement's text.
	Value string
}

// sourceOptions name where pip would look for files. The value says
// whether the option takes an argument.
var sourceOptions = map[string]bool{
	"-i": true, "--index-url": true, "--extra-index-url": true,
	"-f": true, "--find-links": true, "--trusted-host": true,
	"--no-index": false,
	"-e":         true, "--editable": true,
}

// ParseRequirements reads a pip requirements file: one requirement per
// line, "\" continuations, "#" comments (at the start of a line or after
// whitespace), blank lines, per-requirement --hash options and the global
// --require-hashes. Index and find-links options, editable installs, and
// requirements that are URLs, paths or direct references are recorded in
// Sources. Everything else pip accepts (-r, -c, other options, ${VAR}
// expansion) is an error wrapping ErrUnsupportedRequirement, and invalid
// text one wrapping ErrInvalidRequirement; errors are *RequirementsError
// with the line. maxBytes <= 0 means DefaultMaxRequirementsBytes.
func ParseRequirements(r io.Reader, maxBytes int64) (*RequirementsFile, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxRequirementsBytes
	}
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("%w: requirements file larger than %d bytes", ErrInvalidRequirement, maxBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: requirements file is not UTF-8", ErrInvalidRequirement)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return nil, &RequirementsError{Line: 1 + bytes.Count(data[:i], []byte("\n")), Err: fmt.Errorf("%w: NUL byte", ErrInvalidRequirement)}
	}
	rf := &RequirementsFile{}
	hashLine := 0
	for _, ll := range joinLines(string(data)) {
		fail := func(err error) (*RequirementsFile, error) {
			return nil, &RequirementsError{Line: ll.line, Err: err}
		}
		text := strings.TrimSpace(stripComment(ll.text))
		if text == "" {
			continue
		}
		if len(text) > maxRequirementLen {
			return fail(fmt.Errorf("%w: longer than %d bytes", ErrInvalidRequirement, maxRequirementLen))
		}
		if hasEnvVar(text) {
			return fail(fmt.Errorf("%w: environment variables (${NAME}) in requirements files", ErrUnsupportedRequirement))
		}
		args, opts := breakArgsOptions(text)
		tokens, err := shellSplit(opts)
		if err != nil {
			return fail(err)
		}
		if strings.TrimSpace(args) == "" {
			if err := rf.globalOptions(ll.line, tokens); err != nil {
				return fail(err)
			}
			continue
		}
		req, err := ParseRequirement(args)
		var dr *directRefError
		if errors.As(err, &dr) {
			// Options after it (--hash) are pip's business: tufpip
			// verifies nothing about this line.
			rf.Sources = append(rf.Sources, Source{Line: ll.line, Value: strings.TrimSpace(args)})
			continue
		}
		if err != nil {
			return fail(err)
		}
		req.Line = ll.line
		if err := req.options(tokens); err != nil {
			return fail(fmt.Errorf("%s: %w", req.Name, err))
		}
		if req.HasHashes() && hashLine == 0 {
			hashLine = ll.line
		}
		rf.Requirements = append(rf.Requirements, req)
	}
	if hashLine > 0 {
		rf.HashChecking = true
	}
	if rf.HashChecking {
		for _, req := range rf.Requirements {
			if !req.HasHashes() {
				why := "--require-hashes is set"
				if hashLine > 0 {
					why = fmt.Sprintf("line %d gives a --hash, which turns on hash-checking mode", hashLine)
				}
				return nil, &RequirementsError{Line: req.Line, Err: fmt.Errorf("%w: %s has no --hash, but %s: every requirement needs one (as in pip)", ErrInvalidRequirement, req.Name, why)}
			}
		}
	}
	return rf, nil
}

type logicalLine struct {
	line int
	text string
}

// joinLines joins "\"-continued lines as pip's join_lines does: a line
// that is a comment never continues, and a comment line inside a
// continuation ends it.
func joinLines(data string) []logicalLine {
	var out []logicalLine
	var cur []string
	first := 0
	for i, line := range strings.Split(data, "\n") {
		line = strings.TrimSuffix(line, "\r")
		comment := isCommentLine(line)
		if !strings.HasSuffix(line, "\\") || comment {
			if comment {
				line = " " + line // so the comment is stripped after joining
			}
			if cur != nil {
				out = append(out, logicalLine{first, strings.Join(append(cur, line), "")})
				cur = nil
			} else {
				out = append(out, logicalLine{i + 1, line})
			}
			continue
		}
		if cur == nil {
			first = i + 1
		}
		cur = append(cur, strings.Trim(line, "\\"))
	}
	if cur != nil {
		out = append(out, logicalLine{first, strings.Join(cur, "")})
	}
	return out
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' }

// isCommentLine is pip's COMMENT_RE.match: optional whitespace, then "#".
func isCommentLine(line string) bool {
	return strings.HasPrefix(strings.TrimLeft(line, " \t\v\f\r"), "#")
}

// stripComment removes a "#" comment that starts the line or follows
// whitespace, with the whitespace before it (pip's COMMENT_RE). A "#"
// inside a token ("pkg==1.0#x") is not a comment.
func stripComment(line string) string {
	for i := 0; i < len(line); i++ {
		if line[i] == '#' && (i == 0 || isSpace(line[i-1])) {
			return line[:i]
		}
	}
	return line
}

// hasEnvVar reports a "${NAME}" that pip would expand.
func hasEnvVar(s string) bool {
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return false
		}
		s = s[i+2:]
		j := strings.IndexByte(s, '}')
		if j > 0 && strings.Trim(s[:j], "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == "" {
			return true
		}
	}
}

// breakArgsOptions splits a line as pip's break_args_options does: the
// space-separated tokens before the first one that starts with "-" are
// the requirement, the rest are options.
func breakArgsOptions(line string) (args, opts string) {
	tokens := strings.Split(line, " ")
	for i, t := range tokens {
		if strings.HasPrefix(t, "-") {
			return strings.Join(tokens[:i], " "), strings.Join(tokens[i:], " ")
		}
	}
	return line, ""
}

// shellSplit splits s into words as Python's shlex.split (POSIX mode)
// does, which is how pip reads a line's options.
func shellSplit(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			}
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("%w: unterminated quote in options", ErrInvalidRequirement)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`\n", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("%w: unterminated quote in options", ErrInvalidRequirement)
			}
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// splitOption splits "--opt=value" and "-xvalue" forms; value is "" with
// hasValue false when the option stands alone.
func splitOption(tok string) (name, value string, hasValue bool) {
	if strings.HasPrefix(tok, "--") {
		name, value, hasValue = strings.Cut(tok, "=")
		return name, value, hasValue
	}
	if len(tok) > 2 {
		return tok[:2], tok[2:], true
	}
	return tok, "", false
}

func (rf *RequirementsFile) globalOptions(line int, tokens []string) error {
	for i := 0; i < len(tokens); i++ {
		name, _, hasValue := splitOption(tokens[i])
		switch name {
		case "--require-hashes":
			if hasValue {
				return fmt.Errorf("%w: --require-hashes takes no value", ErrInvalidRequirement)
			}
			rf.HashChecking = true
			continue
		case "-r", "--requirement", "-c", "--constraint":
			return fmt.Errorf("%w: %s (nested requirements or constraints files): pass each file with its own -r", ErrUnsupportedRequirement, name)
		case "--hash":
			return fmt.Errorf("%w: --hash must follow a requirement on the same logical line", ErrInvalidRequirement)
		}
		takesValue, ok := sourceOptions[name]
		if !ok {
			return fmt.Errorf("%w: option %s in a requirements file", ErrUnsupportedRequirement, truncate(name, 40))
		}
		_, value, _ := splitOption(tokens[i])
		if takesValue && !hasValue {
			if i+1 >= len(tokens) {
				return fmt.Errorf("%w: %s needs a value", ErrInvalidRequirement, name)
			}
			i++
			value = tokens[i]
		} else if !takesValue && hasValue {
			return fmt.Errorf("%w: %s takes no value", ErrInvalidRequirement, name)
		}
		rf.Sources = append(rf.Sources, Source{Line: line, Option: name, Value: value})
	}
	return nil
}

// options applies a requirement's per-line options; only --hash is
// supported.
func (r *Requirement) options(tokens []string) error {
	for i := 0; i < len(tokens); i++ {
		name, value, hasValue := splitOption(tokens[i])
		if name != "--hash" {
			return fmt.Errorf("%w: option %s after a requirement (only --hash is)", ErrUnsupportedRequirement, truncate(name, 40))
		}
		if !hasValue {
			if i+1 >= len(tokens) {
				return fmt.Errorf("%w: --hash needs a value", ErrInvalidRequirement)
			}
			i++
			value = tokens[i]
		}
		alg, digest, err := ParseRequirementHash(value)
		if err != nil {
			return err
		}
		if r.Hashes == nil {
			r.Hashes = map[string][]string{}
		}
		if !slices.Contains(r.Hashes[alg], digest) {
			r.Hashes[alg] = append(r.Hashes[alg], digest)
		}
	}
	return nil
}

// ParseRequirementHash parses a --hash value "alg:hexdigest". The
// algorithm must be one pip accepts (sha256, sha384, sha512) and the
// digest hex of its length; the digest is returned in lower case.
func ParseRequirementHash(s string) (alg, digest string, err error) {
	alg, digest, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", fmt.Errorf("%w: --hash %q: want ALGORITHM:HEXDIGEST, e.g. sha256:…", ErrInvalidRequirement, truncate(s, 80))
	}
	n, known := requirementHashLen[alg]
	if !known {
		return "", "", fmt.Errorf("%w: --hash algorithm %q: want one of %s", ErrInvalidRequirement, truncate(alg, 20), strings.Join(RequirementHashAlgorithms, ", "))
	}
	if len(digest) != n || !isHex(digest) {
		return "", "", fmt.Errorf("%w: --hash %s digest %q: want %d hex digits", ErrInvalidRequirement, alg, truncate(digest, 140), n)
	}
	return alg, strings.ToLower(digest), nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// ParseRequirement parses a PEP 508 requirement by name, such as
// "requests", "Django==4.2.7", "pkg[extra]>=1.0,<2 ; python_version<'3.12'"
// or "pkg (>=1.0)". Direct references ("pkg @ URL"), URLs and paths are
// errors wrapping ErrUnsupportedRequirement.
func ParseRequirement(s string) (Requirement, error) {
	fail := func(why string) (Requirement, error) {
		return Requirement{}, fmt.Errorf("%w %q: %s", ErrInvalidRequirement, truncate(strings.TrimSpace(s), 80), why)
	}
	t := strings.TrimSpace(s)
	if len(t) > maxRequirementLen {
		return fail("too long")
	}
	i := 0
	for i < len(t) && (isAlnum(t[i]) || t[i] == '.' || t[i] == '_' || t[i] == '-') {
		i++
	}
	name := t[:i]
	if !strings.HasPrefix(strings.TrimLeft(t[i:], " \t"), "@") && looksLikeURLOrPath(t) {
		return Requirement{}, &directRefError{fmt.Sprintf("%v: %q: URLs and paths name files no repository signed; use NAME==VERSION", ErrUnsupportedRequirement, truncate(t, 80))}
	}
	if !ValidProjectName(name) {
		if name == "" {
			return fail("does not start with a project name")
		}
		return fail("invalid project name")
	}
	r := Requirement{Name: name, Project: NormalizeName(name)}
	rest := strings.TrimLeft(t[i:], " \t")
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return fail("unclosed [ in extras")
		}
		for _, e := range strings.Split(rest[1:end], ",") {
			e = strings.TrimSpace(e)
			if e == "" && strings.TrimSpace(rest[1:end]) == "" {
				break
			}
			if !ValidProjectName(e) {
				return fail("invalid extra name")
			}
			r.Extras = append(r.Extras, NormalizeName(e))
		}
		rest = strings.TrimLeft(rest[end+1:], " \t")
	}
	if strings.HasPrefix(rest, "@") {
		return Requirement{}, &directRefError{fmt.Sprintf("%v: %q: direct references (NAME @ URL) name files no repository signed; use NAME==VERSION", ErrUnsupportedRequirement, truncate(t, 80))}
	}
	spec, marker, hasMarker := strings.Cut(rest, ";")
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "(") {
		if !strings.HasSuffix(spec, ")") {
			return fail("unclosed ( in version specifier")
		}
		spec = strings.TrimSpace(spec[1 : len(spec)-1])
	}
	if spec != "" {
		if !strings.ContainsAny(spec[:1], "<>=!~") {
			return fail("unexpected text after the name")
		}
		set, err := ParseSpecifierSet(spec)
		if err != nil {
			return fail(err.Error())
		}
		if len(set) == 0 {
			return fail("empty version specifier")
		}
		r.Specifier = set
	}
	if hasMarker {
		m, err := ParseMarker(marker)
		if err != nil {
			return Requirement{}, fmt.Errorf("%w %q: %w", ErrInvalidRequirement, truncate(t, 80), err)
		}
		r.Marker = m
	}
	return r, nil
}

// directRefError is ParseRequirement's error for a requirement that names
// a file (a URL, a path, NAME @ URL) rather than a project: valid for pip,
// but nothing a repository signs. ParseRequirements turns it into a
// Source.
type directRefError struct{ msg string }

func (e *directRefError) Error() string { return e.msg }
func (e *directRefError) Unwrap() error { return ErrUnsupportedRequirement }

// looksLikeURLOrPath reports text pip would take as a URL or a file path
// rather than a requirement.
func looksLikeURLOrPath(t string) bool {
	req, _, _ := strings.Cut(t, ";")
	return strings.Contains(req, "://") || strings.ContainsAny(req, "/\\") ||
		strings.HasPrefix(t, ".") || strings.HasPrefix(t, "~")
}

// ---- environment markers (PEP 508) ----

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
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = &markerBool{or: true, l: l, r: r}
	}
	return l, nil
}

func (p *markerParser) and(depth int) (markerNode, error) {
	l, err := p.atom(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		r, err := p.atom(depth)
		if err != nil {
			return nil, err
		}
		l = &markerBool{l: l, r: r}
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

// ---- choosing a release and its files ----

// Environment is the interpreter and platform files are chosen for.
type Environment struct {
	// PythonVersion is "3.11" or "3.11.4"; it is matched against each
	// file's Requires-Python.
	PythonVersion string
	// Tags are the wheel tags the interpreter accepts, best first
	// (CompatibleTags). A wheel carrying none of them is not chosen.
	Tags []Tag
	// Markers are the values of PEP 508 marker variables.
	Markers map[string]string
}

// SelectOptions say which files of a project to take.
type SelectOptions struct {
	Env Environment
	// AllFiles takes every file of the chosen release, whatever its tags
	// or Requires-Python; the release itself is still chosen among those
	// with a file for Env.
	AllFiles bool
	// Pre admits pre-releases even when a final release matches.
	Pre bool
	// OnlyBinary refuses sdists; NoBinary refuses wheels.
	OnlyBinary, NoBinary bool
}

// Selection is the release chosen for a requirement and its files.
type Selection struct {
	Version string
	Files   []VerifiedFile
	// Yanked is set when an exact pin chose a yanked file (PEP 592
	// allows it); YankedReason is the reason the repository gave.
	Yanked       bool
	YankedReason string
}

// NoMatchError says why no file satisfies a requirement.
type NoMatchError struct {
	Requirement string
	// Unsigned is set when the page lists files that would satisfy the
	// requirement but the repository did not sign them: a refusal, not a
	// missing release.
	Unsigned bool
	// Foreign is set when the page lists files that would satisfy the
	// requirement but belong to another project (CheckOwner): also a
	// refusal.
	Foreign bool
	// Reasons say, per version, why its files were passed over.
	Reasons []string
}

func (e *NoMatchError) Error() string {
	msg := "no verified file matches " + e.Requirement
	switch {
	case e.Unsigned:
		msg = e.Requirement + ": the repository lists matching files but has not signed them"
	case e.Foreign:
		msg = e.Requirement + ": the index lists matching files, but they are not this project's"
	}
	if len(e.Reasons) > 0 {
		msg += " (" + strings.Join(e.Reasons, "; ") + ")"
	}
	return msg
}

// fileCandidate is a page file with what its name says.
type fileCandidate struct {
	f       VerifiedFile
	dist    Dist
	version Version
	rank    int
}

// SignedDigests returns the digests of f that verified data vouches for:
// its signed target info and, when the page itself was verified, the
// hashes the page lists. Keys are TUF algorithm names ("sha256",
// "blake2b-256").
func (vp *VerifiedPage) SignedDigests(f VerifiedFile) map[string]string {
	d := map[string]string{}
	if vp.PageTarget != nil {
		for alg, h := range f.File.Hashes {
			if alg == "blake2b_256" {
				alg = "blake2b-256"
			}
			d[alg] = h
		}
	}
	for alg, h := range f.Target.Hashes {
		d[alg] = strings.ToLower(h)
	}
	return d
}

// HashVerdict is what a requirement's hashes say about a file's signed
// digests: HashMatch (a listed digest equals a signed one), HashMismatch
// (the signed digests include a listed algorithm, and none matches), or
// HashUnknown (no listed algorithm is signed: compute over the bytes).
type HashVerdict int

// Hash verdicts.
const (
	HashUnknown HashVerdict = iota
	HashMatch
	HashMismatch
)

// CheckDigests compares the requirement's hashes with digests (algorithm
// → hex), pip's way: any listed digest of any common algorithm matches.
func (r Requirement) CheckDigests(digests map[string]string) HashVerdict {
	common := false
	for alg := range r.Hashes {
		d, ok := digests[alg]
		if !ok {
			continue
		}
		common = true
		if r.AllowsDigest(alg, d) {
			return HashMatch
		}
	}
	if common {
		return HashMismatch
	}
	return HashUnknown
}

// SelectRelease chooses, from a verified page, the release that
// satisfies req and the files to take from it, the way
// "pip download --no-deps" does: the newest version whose files suit
// opts.Env (pre-releases only when nothing else matches, the specifier
// names one, or opts.Pre), skipping yanked files unless req pins the
// version exactly (PEP 592), then the best-ranked compatible wheel, else
// the sdist (every file with opts.AllFiles). When req has hashes, files
// whose digests contradict them are passed over as pip does, as long as
// another file's digest matches (the caller must still check the chosen
// file's verified bytes against them).
func SelectRelease(vp *VerifiedPage, req Requirement, opts SelectOptions) (*Selection, error) {
	pin, exact := req.Pin()
	allowPre := opts.Pre
	for _, sp := range req.Specifier {
		if sp.Op != "===" && sp.v.IsPrerelease() {
			allowPre = true
		}
	}
	var (
		cands   []fileCandidate
		reasons = map[string][]string{} // version → why passed over
		order   []string
	)
	note := func(version, why string) {
		if _, ok := reasons[version]; !ok {
			order = append(order, version)
		}
		if !slices.Contains(reasons[version], why) {
			reasons[version] = append(reasons[version], why)
		}
	}
	matches := func(d Dist) (Version, bool) {
		v, err := ParseVersion(d.Version)
		return v, err == nil && d.Project == vp.Name && req.Specifier.Contains(v)
	}
	for _, f := range vp.Files {
		d, err := ParseFilenameFor(f.Filename, vp.Name)
		if err != nil {
			continue
		}
		v, ok := matches(d)
		if !ok {
			continue
		}
		c := fileCandidate{f: f, dist: d, version: v}
		switch {
		case f.Yanked && !exact:
			note(d.Version, "yanked")
			continue
		case d.Kind == KindSdist && opts.OnlyBinary:
			note(d.Version, "sdist refused by --only-binary")
			continue
		case d.Kind == KindWheel && opts.NoBinary:
			note(d.Version, "wheel refused by --no-binary")
			continue
		case !MatchesPython(f.RequiresPython, opts.Env.PythonVersion):
			note(d.Version, fmt.Sprintf("requires Python %s, target is %s", f.RequiresPython, opts.Env.PythonVersion))
			continue
		}
		rank, ok := d.Supported(opts.Env.Tags)
		if !ok {
			note(d.Version, "no wheel for the target platform and Python")
			continue
		}
		c.rank = rank
		cands = append(cands, c)
	}
	var chosen *Version
	for _, c := range cands {
		if exact {
			if !pinMatches(req.Specifier[0], c.version, pin) {
				continue
			}
		} else if c.version.IsPrerelease() && !allowPre {
			continue
		}
		if chosen == nil || c.version.Compare(*chosen) > 0 {
			v := c.version
			chosen = &v
		}
	}
	if chosen == nil && !exact && !allowPre {
		// Only pre-releases match: take them, as packaging does.
		for _, c := range cands {
			if chosen == nil || c.version.Compare(*chosen) > 0 {
				v := c.version
				chosen = &v
			}
		}
	}
	if chosen == nil {
		e := &NoMatchError{Requirement: req.NameSpec()}
		for _, o := range vp.Omitted {
			if d, err := ParseFilenameFor(o.Filename, vp.Name); err == nil {
				if _, ok := matches(d); ok {
					if o.Foreign {
						e.Foreign = true
					} else {
						e.Unsigned = true
					}
					note(d.Version, o.Filename+": "+o.Reason)
				}
			}
		}
		for _, v := range order {
			e.Reasons = append(e.Reasons, v+": "+strings.Join(reasons[v], ", "))
		}
		if len(e.Reasons) == 0 && len(vp.Files) > 0 {
			e.Reasons = append(e.Reasons, "no release matches the version constraint")
		}
		return nil, e
	}
	sel := &Selection{Version: chosen.String()}
	var files []fileCandidate
	for _, c := range cands {
		if c.version.Compare(*chosen) == 0 {
			files = append(files, c)
		}
	}
	if opts.AllFiles {
		// Every file of the release, compatible or not.
		files = files[:0]
		for _, f := range vp.Files {
			d, err := ParseFilenameFor(f.Filename, vp.Name)
			if err != nil {
				continue
			}
			if v, ok := matches(d); ok && v.Compare(*chosen) == 0 && (!f.Yanked || exact) {
				files = append(files, fileCandidate{f: f, dist: d, version: v})
			}
		}
	}
	if req.HasHashes() {
		// pip's filter_unallowed_hashes: if some file's digest is listed,
		// drop those whose digests contradict the list. This only steers
		// the choice: when the page is not verified (dists-only) its
		// hashes are used here as hints, and whatever is chosen must
		// still match the list over its verified bytes.
		var matched, rest []fileCandidate
		for _, c := range files {
			digests := vp.SignedDigests(c.f)
			for alg, h := range c.f.File.Hashes {
				if _, ok := digests[alg]; !ok {
					digests[alg] = h
				}
			}
			switch req.CheckDigests(digests) {
			case HashMatch:
				matched = append(matched, c)
			case HashUnknown:
				rest = append(rest, c)
			}
		}
		if len(matched) > 0 {
			files = append(matched, rest...)
		}
	}
	if !opts.AllFiles {
		best := files[0]
		for _, c := range files[1:] {
			if c.rank < best.rank || c.rank == best.rank && compareBuildTags(c.dist.BuildTag, best.dist.BuildTag) > 0 {
				best = c
			}
		}
		files = []fileCandidate{best}
	}
	slices.SortFunc(files, func(a, b fileCandidate) int { return strings.Compare(a.f.Filename, b.f.Filename) })
	for _, c := range files {
		sel.Files = append(sel.Files, c.f)
		if c.f.Yanked {
			sel.Yanked = true
			if sel.YankedReason == "" {
				sel.YankedReason = c.f.YankedReason
			}
		}
	}
	return sel, nil
}

// pinMatches reports whether v is the pinned version: "===" compares text,
// "==" compares as PEP 440 does.
func pinMatches(sp Specifier, v Version, pin string) bool {
	if sp.Op == "===" {
		return strings.EqualFold(v.String(), pin)
	}
	return sp.Contains(v)
}

// compareBuildTags orders wheel build tags as pip does: by leading number,
// then by the rest; a missing tag sorts first.
func compareBuildTags(a, b string) int {
	na, ra := splitBuildTag(a)
	nb, rb := splitBuildTag(b)
	if c := cmpBigDecimal(na, nb); c != 0 {
		return c
	}
	return strings.Compare(ra, rb)
}

func splitBuildTag(t string) (num, rest string) {
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	num = strings.TrimLeft(t[:i], "0")
	if num == "" {
		num = "0"
	}
	if t == "" {
		num = ""
	}
	return num, t[i:]
}

// ReleaseFiles returns the verified files of vp whose version satisfies
// req, whatever their platform, and the files the page listed that would
// have satisfied it but were left out (not signed, or unverifiable).
func ReleaseFiles(vp *VerifiedPage, req Requirement) (files []VerifiedFile, omitted []Omission) {
	matches := func(filename string) bool {
		d, err := ParseFilenameFor(filename, vp.Name)
		if err != nil || d.Project != vp.Name {
			return false
		}
		v, err := ParseVersion(d.Version)
		if err != nil {
			return false
		}
		if pin, exact := req.Pin(); exact {
			return pinMatches(req.Specifier[0], v, pin)
		}
		return req.Specifier.Contains(v)
	}
	for _, f := range vp.Files {
		if matches(f.Filename) {
			files = append(files, f)
		}
	}
	for _, o := range vp.Omitted {
		if matches(o.Filename) {
			omitted = append(omitted, o)
		}
	}
	return files, omitted
}
