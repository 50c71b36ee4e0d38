package packaging

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
