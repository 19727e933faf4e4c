package main

import (
	"fmt"
	"strings"

	"github.com/parsec-go/parsec/internal/version"
	"github.com/parsec-go/parsec/wire"
)

// The command line follows the Rust parsec-tool 0.7.0, whose parser is clap
// 2: the same subcommands, flags, value forms (-k v, -kv, -k=v, --key-name v,
// --key-name=v, clustered short flags), the same error texts on stderr and
// exit code 1 for bad input, help and version on stdout with exit code 0.
// The help prose is our own.

const (
	toolName = "parsec-tool"
	// rustToolVersion is the Rust parsec-tool whose command line ours
	// follows; --version says so after our own version.
	rustToolVersion = "0.7.0"
	toolAuthor      = "parsec-go contributors"
	toolAbout       = "Command-line interface to Parsec operations (Go implementation)"
	helpWidth       = 120
)

// arg is one flag, option or positional argument of a command.
type arg struct {
	long       string // long name; for a positional, its placeholder name
	short      byte   // 0 when there is none
	value      string // placeholder of an option's value; "" for a flag
	help       string
	required   bool
	multiple   bool // takes several values and may repeat (--san)
	positional bool
	id         string // clap's internal name, which orders the help; defaults to value or long
	uintBits   int    // if not 0, the value must be an unsigned integer of this size
	nonEmpty   bool   // the value must not be empty (a key name)
}

func (a *arg) sortKey() string {
	switch {
	case a.id != "":
		return a.id
	case a.value != "":
		return a.value
	}
	return a.long
}

func (a *arg) isFlag() bool { return !a.positional && a.value == "" }

// spec renders the argument the way clap names it in messages.
func (a *arg) spec() string {
	switch {
	case a.positional:
		return "<" + a.long + ">"
	case a.value == "":
		return "--" + a.long
	}
	return "--" + a.long + " <" + a.value + ">"
}

// command describes a subcommand, or the tool itself (name "").
type command struct {
	name   string
	about  string
	args   []arg
	naked  bool // needs no authentication: no provider/authenticator discovery
	module string
	run    func(*env, *invocation) error
}

func (c *command) find(long string) *arg {
	for i := range c.args {
		if !c.args[i].positional && c.args[i].long == long {
			return &c.args[i]
		}
	}
	return nil
}

func (c *command) findShort(s byte) *arg {
	for i := range c.args {
		if !c.args[i].positional && c.args[i].short == s {
			return &c.args[i]
		}
	}
	return nil
}

// unknown returns how clap names a that looks like an option c does not
// have ("--name" or "-x"), or "" if a is not an unknown option.
func (c *command) unknown(a string) string {
	switch {
	case a == "-" || a == "--" || !strings.HasPrefix(a, "-"):
		return ""
	case strings.HasPrefix(a, "--"):
		name, _, _ := strings.Cut(a[2:], "=")
		if name == "help" || name == "version" || c.find(name) != nil {
			return ""
		}
		return "--" + name
	}
	if s := a[1]; s == 'h' || s == 'V' || c.findShort(s) != nil {
		return ""
	}
	return a[:2]
}

// invocation is a parsed command line.
type invocation struct {
	provider    *uint8
	timeout     *uint32
	cmd         *command
	values      map[string][]string
	flags       map[string]bool
	occurrences map[string]bool
}

func (inv *invocation) value(long string) (string, bool) {
	v, ok := inv.values[long]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// outcome is what the parser decided when it does not run a command.
type outcome struct {
	stdout string
	stderr string
	code   int
}

var topCommand = command{
	about: toolAbout,
	args: []arg{
		{long: "provider", short: 'p', value: "provider", uintBits: 8, help: "Provider ID to send crypto operations to; by default the service's default (first listed) provider"},
		{long: "timeout", short: 't', value: "timeout", uintBits: 32, help: "Timeout of each request in seconds; 0 waits forever. The default is 60 seconds"},
	},
}

// parse interprets args, without the program name.
func parse(args []string) (*invocation, *outcome) {
	inv := &invocation{values: map[string][]string{}, flags: map[string]bool{}, occurrences: map[string]bool{}}
	top := &topCommand
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			if a == "--" {
				i++
			}
			break
		}
		n, out := parseOption(top, inv, args, i)
		if out != nil {
			return nil, out
		}
		i = n
	}
	// Both values were validated when parsed.
	if p, ok := inv.value("provider"); ok {
		v, _ := parseUint(p, 8)
		u := uint8(v)
		inv.provider = &u
	}
	if t, ok := inv.value("timeout"); ok {
		v, _ := parseUint(t, 32)
		u := uint32(v)
		inv.timeout = &u
	}
	if i >= len(args) {
		return nil, &outcome{stderr: helpText(top), code: 1}
	}
	name := args[i]
	if name == "help" {
		return nil, helpCommand(args[i+1:])
	}
	for _, c := range allCommands() {
		if c.name == name {
			inv.cmd = c
		}
	}
	if inv.cmd == nil {
		return nil, unexpected(top, inv, name)
	}
	sub := &invocation{values: map[string][]string{}, flags: map[string]bool{}, occurrences: map[string]bool{}}
	if out := parseCommand(inv.cmd, sub, args[i+1:]); out != nil {
		return nil, out
	}
	inv.values, inv.flags = sub.values, sub.flags
	return inv, nil
}

func helpCommand(rest []string) *outcome {
	if len(rest) == 0 {
		return &outcome{stdout: helpText(&topCommand)}
	}
	for _, c := range allCommands() {
		if c.name == rest[0] {
			return &outcome{stdout: helpText(c)}
		}
	}
	return &outcome{stderr: fmt.Sprintf("error: The subcommand '%s' wasn't recognized\n\nUSAGE:\n\t%s help <subcommands>...\n\nFor more information try --help\n", rest[0], toolName), code: 1}
}

func parseCommand(c *command, inv *invocation, args []string) *outcome {
	onlyPositional := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !onlyPositional && a == "--" {
			onlyPositional = true
			continue
		}
		if !onlyPositional && strings.HasPrefix(a, "-") && a != "-" {
			n, out := parseOption(c, inv, args, i)
			if out != nil {
				return out
			}
			i = n
			continue
		}
		var slot *arg
		for j := range c.args {
			p := &c.args[j]
			if p.positional && !inv.occurrences[p.long] {
				slot = p
				break
			}
		}
		if slot == nil {
			return unexpected(c, inv, a)
		}
		inv.occurrences[slot.long] = true
		inv.values[slot.long] = []string{a}
	}
	var missing []string
	for j := range c.args {
		p := &c.args[j]
		if p.required && p.positional && !inv.occurrences[p.long] {
			missing = append(missing, p.spec())
		}
	}
	for j := range c.args {
		p := &c.args[j]
		if p.required && !p.positional && !inv.occurrences[p.long] {
			missing = append(missing, p.spec())
		}
	}
	if len(missing) > 0 {
		return &outcome{stderr: "error: The following required arguments were not provided:\n    " +
			strings.Join(missing, "\n    ") + "\n\n" + usageBlock(c, nil) + "\nFor more information try --help\n", code: 1}
	}
	return nil
}

// parseOption handles the option or flag cluster at args[i] and returns the
// index of the last argument it consumed.
func parseOption(c *command, inv *invocation, args []string, i int) (int, *outcome) {
	a := args[i]
	if strings.HasPrefix(a, "--") {
		name, val, hasVal := strings.Cut(a[2:], "=")
		switch name {
		case "help":
			return i, &outcome{stdout: helpText(c)}
		case "version":
			return i, &outcome{stdout: versionLine(c)}
		}
		opt := c.find(name)
		if opt == nil || (opt.isFlag() && hasVal) {
			return i, unexpected(c, inv, "--"+name)
		}
		if out := occur(c, inv, opt); out != nil {
			return i, out
		}
		if opt.isFlag() {
			inv.flags[opt.long] = true
			return i, nil
		}
		return takeValue(c, inv, opt, args, i, val, hasVal)
	}
	for j := 1; j < len(a); j++ {
		s := a[j]
		switch s {
		case 'h':
			return i, &outcome{stdout: helpText(c)}
		case 'V':
			return i, &outcome{stdout: versionLine(c)}
		}
		opt := c.findShort(s)
		if opt == nil {
			return i, unexpected(c, inv, "-"+string(s))
		}
		if out := occur(c, inv, opt); out != nil {
			return i, out
		}
		if opt.isFlag() {
			inv.flags[opt.long] = true
			continue
		}
		rest := a[j+1:]
		rest = strings.TrimPrefix(rest, "=")
		return takeValue(c, inv, opt, args, i, rest, rest != "")
	}
	return i, nil
}

func occur(c *command, inv *invocation, opt *arg) *outcome {
	if inv.occurrences[opt.long] && !opt.multiple {
		return &outcome{stderr: fmt.Sprintf("error: The argument '%s' was provided more than once, but cannot be used multiple times\n\n%s\nFor more information try --help\n",
			opt.spec(), usageBlock(c, nil)), code: 1}
	}
	inv.occurrences[opt.long] = true
	return nil
}

// takeValue stores an option's value: the attached one, else the next
// argument unless that looks like an option (clap 2 does not take values
// starting with '-'). An option taking several values eats every following
// argument up to the next option.
func takeValue(c *command, inv *invocation, opt *arg, args []string, i int, val string, hasVal bool) (int, *outcome) {
	if !hasVal {
		if i+1 < len(args) {
			if tok := c.unknown(args[i+1]); tok != "" {
				// clap 2 leaves the value missing and trips over the
				// unknown argument first.
				return i, unexpected(c, inv, tok)
			}
		}
		if i+1 >= len(args) || (strings.HasPrefix(args[i+1], "-") && args[i+1] != "-") {
			return i, &outcome{stderr: fmt.Sprintf("error: The argument '%s' requires a value but none was supplied\n\n%s\nFor more information try --help\n",
				opt.spec(), usageBlock(c, nil)), code: 1}
		}
		i++
		val = args[i]
	}
	if opt.nonEmpty && val == "" {
		return i, &outcome{stderr: fmt.Sprintf("error: The argument '%s' must not be empty\n\n%s\nFor more information try --help\n",
			opt.spec(), usageBlock(c, nil)), code: 1}
	}
	if opt.uintBits != 0 {
		if _, err := parseUint(val, opt.uintBits); err != nil {
			return i, &outcome{stderr: fmt.Sprintf("error: Invalid value for '%s': %v\n", opt.spec(), err), code: 1}
		}
	}
	inv.values[opt.long] = append(inv.values[opt.long], val)
	if opt.multiple {
		for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			inv.values[opt.long] = append(inv.values[opt.long], args[i])
		}
	}
	return i, nil
}

// unexpected is clap's error for an argument the command does not take; its
// usage line names the arguments given so far, as clap's does.
func unexpected(c *command, inv *invocation, a string) *outcome {
	return &outcome{stderr: fmt.Sprintf("error: Found argument '%s' which wasn't expected, or isn't valid in this context\n\n%s\nFor more information try --help\n",
		a, usageBlock(c, inv)), code: 1}
}

func cmdPath(c *command) string {
	if c.name == "" {
		return toolName
	}
	return toolName + " " + c.name
}

// usage is the USAGE line of c. With the arguments used so far it is clap's
// "smart" usage: those arguments plus the required ones.
func usage(c *command, used *invocation) string {
	var b strings.Builder
	b.WriteString(cmdPath(c))
	if used != nil && len(used.occurrences) > 0 {
		for _, a := range c.args {
			if !a.positional && !a.required && used.occurrences[a.long] {
				b.WriteString(" " + a.spec())
			}
		}
		writeRequired(&b, c)
		return b.String()
	}
	if c.name == "" {
		return toolName + " [OPTIONS] <SUBCOMMAND>"
	}
	var flags, opts bool
	for _, a := range c.args {
		if a.positional || a.required {
			continue
		}
		if a.isFlag() {
			flags = true
		} else {
			opts = true
		}
	}
	if flags {
		b.WriteString(" [FLAGS]")
	}
	if opts {
		b.WriteString(" [OPTIONS]")
	}
	writeRequired(&b, c)
	return b.String()
}

func writeRequired(b *strings.Builder, c *command) {
	for _, a := range c.args {
		if a.positional && a.required {
			b.WriteString(" " + a.spec())
		}
	}
	for _, a := range c.args {
		if !a.positional && a.required {
			b.WriteString(" " + a.spec())
		}
	}
}

func usageBlock(c *command, used *invocation) string {
	return "USAGE:\n    " + usage(c, used) + "\n"
}

// toolVersion is parsec-go's release: the tool ships with the service.
var toolVersion = version.Version

// versionLine starts with "parsec-tool VERSION", the form scripts parse,
// then says which wire protocol the tool speaks and which Rust tool's
// command line it follows.
func versionLine(c *command) string {
	if c.name == "" {
		return fmt.Sprintf("%s %s (parsec-go; wire protocol %d.%d; command line of parsec-tool %s)\n",
			toolName, toolVersion, wire.VersionMajor, wire.VersionMinor, rustToolVersion)
	}
	return toolName + "-" + c.name + " " + toolVersion + "\n"
}

type helpRow struct{ left, right, key string }

// helpText renders clap 2's help layout: title, about, usage, then FLAGS,
// OPTIONS, ARGS and (for the tool) SUBCOMMANDS sections, each sorted by
// clap's internal argument names, with aligned descriptions wrapped at
// helpWidth columns.
func helpText(c *command) string {
	var b strings.Builder
	if c.name == "" {
		b.WriteString(toolName + " " + toolVersion + "\n" + toolAuthor + "\n" + c.about + "\n\n")
	} else {
		b.WriteString(toolName + "-" + c.name + " " + toolVersion + "\n" + c.about + "\n\n")
	}
	b.WriteString("USAGE:\n    " + usage(c, nil) + "\n")

	flags := []helpRow{
		{"-h, --help", "Prints help information", "help"},
		{"-V, --version", "Prints version information", "version"},
	}
	var opts, pos []helpRow
	for i := range c.args {
		a := &c.args[i]
		left := "    --" + a.long
		if a.short != 0 {
			left = "-" + string(a.short) + ", --" + a.long
		}
		switch {
		case a.positional:
			pos = append(pos, helpRow{"<" + a.long + ">", a.help, a.sortKey()})
		case a.isFlag():
			flags = append(flags, helpRow{left, a.help, a.sortKey()})
		default:
			v := " <" + a.value + ">"
			if a.multiple {
				v += "..."
			}
			opts = append(opts, helpRow{left + v, a.help, a.sortKey()})
		}
	}
	section := func(title string, rows []helpRow) {
		if len(rows) == 0 {
			return
		}
		sortRows(rows)
		w := 0
		for _, r := range rows {
			w = max(w, len(r.left))
		}
		b.WriteString("\n" + title + ":\n")
		for _, r := range rows {
			writeRow(&b, r, w)
		}
	}
	section("FLAGS", flags)
	section("OPTIONS", opts)
	section("ARGS", pos)
	if c.name == "" {
		subs := []helpRow{{"help", "Prints this message or the help of the given subcommand(s)", "help"}}
		for _, s := range allCommands() {
			subs = append(subs, helpRow{s.name, s.about, s.name})
		}
		section("SUBCOMMANDS", subs)
	}
	return b.String()
}

func sortRows(rows []helpRow) {
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && rows[j].key < rows[j-1].key; j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
}

func writeRow(b *strings.Builder, r helpRow, w int) {
	indent := 4 + w + 4
	b.WriteString("    " + r.left + strings.Repeat(" ", w-len(r.left)+4))
	line := indent
	for i, word := range strings.Fields(r.right) {
		if i > 0 {
			if line+1+len(word) >= helpWidth {
				b.WriteString("\n" + strings.Repeat(" ", indent))
				line = indent
			} else {
				b.WriteByte(' ')
				line++
			}
		}
		b.WriteString(word)
		line += len(word)
	}
	b.WriteByte('\n')
}

// parseUint parses a decimal integer of bits bits the way Rust's
// str::parse does, with its error texts.
func parseUint(s string, bits int) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("cannot parse integer from empty string")
	}
	d := s
	if d[0] == '+' && len(d) > 1 {
		d = d[1:]
	}
	var v uint64
	limit := uint64(1)<<bits - 1
	if bits == 64 {
		limit = ^uint64(0)
	}
	for i := 0; i < len(d); i++ {
		ch := d[i]
		if ch < '0' || ch > '9' {
			return 0, fmt.Errorf("invalid digit found in string")
		}
		n := uint64(ch - '0')
		if v > (limit-n)/10 {
			return 0, fmt.Errorf("number too large to fit in target type")
		}
		v = v*10 + n
	}
	return v, nil
}
