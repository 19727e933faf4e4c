"""A small reader for the subset of BitBake metadata this layer uses.

BitBake cannot be installed here, so the checker and the staging install read
recipes with this module instead. It follows BitBake's rules for what it
covers (logical lines, assignment operators, ':append/:prepend/:remove',
conditional overrides, ${VAR} and ${@python} expansion, include/require,
inherit, shell and python functions) and reports anything else as an error
rather than guessing.
"""

import os
import re

ASSIGN_RE = re.compile(
    r'^(?P<export>export\s+)?'
    r'(?P<var>[A-Za-z0-9_${}\-.+/~:@]+?)'
    r'(?:\[(?P<flag>[A-Za-z0-9_\-.+]+)\])?'
    r'(?P<ws1>\s*)(?P<op>\?\?=|\?=|:=|\+=|=\+|\.=|=\.|=)(?P<ws2>\s*)'
    r'(?P<rest>.*)$')
FUNC_RE = re.compile(
    r'^(?P<python>python\s+)?(?P<fakeroot>fakeroot\s+)?'
    r'(?P<name>[A-Za-z0-9_${}\-.+:]*)\s*\(\s*\)\s*\{\s*$')
DIRECTIVE_RE = re.compile(
    r'^(?P<kw>include|require|include_all|inherit|inherit_defer|addtask|deltask|'
    r'addhandler|EXPORT_FUNCTIONS|addpylib|unset|export|addfragments)\b\s*(?P<args>.*)$')
OLD_OVERRIDE_RE = re.compile(r'_(append|prepend|remove)(_|$)')
OLD_FUNC_OVERRIDE_RE = re.compile(r'_(append|prepend|remove)$')
OLD_PKG_OVERRIDE_RE = re.compile(
    r'^(RDEPENDS|RRECOMMENDS|RSUGGESTS|RPROVIDES|RCONFLICTS|RREPLACES|FILES|'
    r'SUMMARY|DESCRIPTION|ALLOW_EMPTY|CONFFILES|INSANE_SKIP|SYSTEMD_SERVICE|'
    r'SYSTEMD_AUTO_ENABLE|INITSCRIPT_NAME|INITSCRIPT_PARAMS|USERADD_PARAM|'
    r'GROUPADD_PARAM|GROUPMEMS_PARAM|pkg_postinst|pkg_preinst|pkg_prerm|'
    r'pkg_postrm|LICENSE)_(\$\{PN\}|\$\{PN\}-|[a-z])')

SHELL_FUNC_END = '}'


class ParseError(Exception):
    def __init__(self, path, line, msg):
        super().__init__('%s:%d: %s' % (path, line, msg))
        self.path, self.line, self.msg = path, line, msg


class Function:
    def __init__(self, name, body, python, path, line):
        self.name, self.body, self.python = name, body, python
        self.path, self.line = path, line


def find_python_expr_end(s, start):
    """Index of the '}' closing the ${@ that starts at s[start] ('$'), or -1.
    Braces inside Python string literals do not count."""
    depth = 0
    quote = None
    i = start + 1
    while i < len(s):
        c = s[i]
        if quote:
            if c == '\\':
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in '\'"' and depth > 0:
            quote = c
        elif c == '{':
            depth += 1
        elif c == '}':
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def check_value_syntax(value):
    """Return a list of problems in an assignment's (unquoted) value."""
    problems = []
    i = 0
    while True:
        j = value.find('${', i)
        if j < 0:
            break
        if value.startswith('${@', j):
            end = find_python_expr_end(value, j)
            if end < 0:
                problems.append('unterminated ${@...} expression')
                break
            expr = value[j + 3:end]
            try:
                compile(expr, '<inline python>', 'eval')
            except SyntaxError as e:
                problems.append('inline python does not compile: %s' % e.msg)
            i = end + 1
        else:
            end = value.find('}', j)
            name = value[j + 2:end] if end >= 0 else ''
            if end < 0 or not re.fullmatch(r'[A-Za-z0-9_\-.+/:~]+', name):
                problems.append('unbalanced or malformed ${...} reference near %r'
                                % value[j:j + 30])
                break
            i = end + 1
    return problems


class Statement:
    def __init__(self, kind, path, line, **kw):
        self.kind, self.path, self.line = kind, path, line
        self.__dict__.update(kw)


def parse_file(path, text=None):
    """Parse one file into statements; raise ParseError on the first syntax
    error BitBake would reject (and on some it only warns about)."""
    if text is None:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    out = []
    lines = text.split('\n')
    idx = 0
    while idx < len(lines):
        raw = lines[idx]
        lineno = idx + 1
        m = FUNC_RE.match(raw)
        if m and not raw.startswith((' ', '\t')):
            body = []
            idx += 1
            while idx < len(lines) and lines[idx].rstrip() != SHELL_FUNC_END:
                body.append(lines[idx])
                idx += 1
            if idx >= len(lines):
                raise ParseError(path, lineno, 'function %s has no closing "}" '
                                 'in column 0' % (m.group('name') or 'anonymous'))
            name = m.group('name')
            if OLD_FUNC_OVERRIDE_RE.search(name):
                raise ParseError(path, lineno, 'old override syntax in function '
                                 'name %r (use ":append")' % name)
            out.append(Statement('func', path, lineno, func=Function(
                name, '\n'.join(body), bool(m.group('python')), path, lineno)))
            idx += 1
            continue
        # Logical line with continuations.
        cur = raw
        start = idx
        while cur.endswith('\\'):
            idx += 1
            if idx >= len(lines):
                raise ParseError(path, start + 1, 'line continuation at end of file')
            if cur.lstrip().startswith('#'):
                raise ParseError(path, start + 1, 'comment continued with "\\"')
            cur = cur[:-1] + lines[idx]
        idx += 1
        s = cur.strip()
        if not s or s.startswith('#'):
            continue
        m = DIRECTIVE_RE.match(s)
        if m and not ASSIGN_RE.match(s):
            out.append(Statement('directive', path, lineno, kw=m.group('kw'),
                                 args=m.group('args').strip()))
            continue
        m = ASSIGN_RE.match(s)
        if not m:
            raise ParseError(path, lineno, 'unparsable line: %r' % s[:60])
        var, op, rest = m.group('var'), m.group('op'), m.group('rest')
        if not m.group('ws1') or not m.group('ws2'):
            raise ParseError(path, lineno, 'no space around %r in assignment to %s'
                             % (op, var))
        if OLD_OVERRIDE_RE.search(var) or OLD_PKG_OVERRIDE_RE.match(var):
            raise ParseError(path, lineno, 'old override syntax in %r (use ":")' % var)
        if len(rest) < 2 or rest[0] not in '"\'' or rest[-1] != rest[0]:
            raise ParseError(path, lineno, 'value of %s is not one quoted string: %s'
                             % (var, rest[:60]))
        value = rest[1:-1]
        for problem in check_value_syntax(value):
            raise ParseError(path, lineno, '%s: %s' % (var, problem))
        out.append(Statement('assign', path, lineno, var=var, flag=m.group('flag'),
                             op=op, value=value, export=bool(m.group('export'))))
    return out


# --------------------------------------------------------------------------
# Data store

class _Utils:
    @staticmethod
    def contains(var, checkvalues, truevalue, falsevalue, d):
        val = set((d.getVar(var) or '').split())
        check = set(checkvalues.split()) if isinstance(checkvalues, str) else set(checkvalues)
        return truevalue if check.issubset(val) else falsevalue

    @staticmethod
    def contains_any(var, checkvalues, truevalue, falsevalue, d):
        val = set((d.getVar(var) or '').split())
        check = set(checkvalues.split()) if isinstance(checkvalues, str) else set(checkvalues)
        return truevalue if check & val else falsevalue

    @staticmethod
    def filter(var, checkvalues, d):
        val = set((d.getVar(var) or '').split())
        check = set(checkvalues.split()) if isinstance(checkvalues, str) else set(checkvalues)
        return ' '.join(sorted(check & val))


class BBFatal(Exception):
    pass


class _BB:
    utils = _Utils()

    @staticmethod
    def fatal(msg):
        raise BBFatal(msg)

    @staticmethod
    def note(*a):
        pass

    warn = note


class DataStore:
    def __init__(self, overrides=()):
        self.vars = {}
        self.flags = {}
        self.exports = set()
        self.weak = {}
        self.funcs = {}
        self.inherits = []
        self.includes = []
        self.overrides = list(overrides)
        self.oplist = []

    # -- assignment
    def setVar(self, name, value):
        self.vars[name] = value

    def appendVar(self, name, value):
        self.vars[name] = self.vars.get(name, '') + value

    def assign(self, st):
        name = self.expand(st.var) if '${' in st.var else st.var
        if st.export:
            self.exports.add(name)
        if st.flag:
            self.flags.setdefault(name, {})[st.flag] = st.value
            return
        op, val = st.op, st.value
        parts = name.split(':')
        for i, part in enumerate(parts[1:], 1):
            if part in ('append', 'prepend', 'remove'):
                # Every :append/:prepend/:remove assignment counts, in order.
                v = self.expand(val) if op == ':=' else val
                self.oplist.append((':'.join(parts[:i]), part, ':'.join(parts[i + 1:]), v))
                return
        if op == '=':
            self.vars[name] = val
        elif op == '?=':
            if name not in self.vars:
                self.vars[name] = val
        elif op == '??=':
            self.weak[name] = val
        elif op == ':=':
            self.vars[name] = self.expand(val)
        elif op == '+=':
            cur = self.vars.get(name, self.weak.get(name, ''))
            self.vars[name] = (cur + ' ' + val) if cur else val
        elif op == '=+':
            cur = self.vars.get(name, self.weak.get(name, ''))
            self.vars[name] = (val + ' ' + cur) if cur else val
        elif op == '.=':
            self.vars[name] = self.vars.get(name, self.weak.get(name, '')) + val
        elif op == '=.':
            self.vars[name] = val + self.vars.get(name, self.weak.get(name, ''))

    # -- lookup
    def _active(self, suffix):
        return all(o in self.overrides for o in suffix.split(':') if o)

    def getRaw(self, name):
        base = self.vars.get(name, self.weak.get(name))
        # Conditional overrides NAME:<override> replace the value.
        for key, val in self.vars.items():
            if key.startswith(name + ':'):
                suffix = key[len(name) + 1:]
                if suffix.split(':')[0] in ('append', 'prepend', 'remove'):
                    continue
                if self._active(suffix):
                    base = val
        if base is None and not any(k.startswith(name + ':') for k in self.vars) \
                and not any(o[0] == name for o in self.oplist):
            return None
        base = base or ''
        removes = []
        for var, op, cond, val in self.oplist:
            if var != name or (cond and not self._active(cond)):
                continue
            if op == 'append':
                base += val
            elif op == 'prepend':
                base = val + base
            else:
                removes.extend(self.expand(val).split())
        if removes:
            base = ' '.join(w for w in self.expand(base).split() if w not in removes)
        return base

    def getVar(self, name, expand=True):
        raw = self.getRaw(name)
        if raw is None:
            return None
        return self.expand(raw) if expand else raw

    def getVarFlag(self, name, flag):
        return self.flags.get(name, {}).get(flag)

    def expand(self, s, depth=0):
        if depth > 40:
            raise ValueError('recursive expansion in %r' % s[:80])
        out = []
        i = 0
        while True:
            j = s.find('${', i)
            if j < 0:
                out.append(s[i:])
                break
            out.append(s[i:j])
            if s.startswith('${@', j):
                end = find_python_expr_end(s, j)
                expr = self.expand(s[j + 3:end], depth + 1)
                ns = {'d': self, 'bb': _BB, 'os': os, 'oe': None}
                out.append(str(eval(expr, ns)))  # noqa: S307 - our own recipes
                i = end + 1
            else:
                end = s.find('}', j)
                name = s[j + 2:end]
                val = self.getVar(name) if self.getRaw(name) is not None else None
                out.append(val if val is not None else s[j:end + 1])
                i = end + 1
        res = ''.join(out)
        if '${' in res and res != s and depth < 40:
            again = self.expand(res, depth + 1)
            return again
        return res


def resolve_include(arg, current, search):
    if os.path.isabs(arg):
        return arg if os.path.exists(arg) else None
    for base in [os.path.dirname(current)] + list(search):
        p = os.path.join(base, arg)
        if os.path.exists(p):
            return p
    return None


def load(path, d, search, classdirs=(), seen=None):
    """Parse path into d, following include/require and inherit (classes are
    looked up in classdirs; unknown classes are only recorded)."""
    seen = seen if seen is not None else set()
    for st in parse_file(path):
        if st.kind == 'assign':
            d.assign(st)
        elif st.kind == 'func':
            name = d.expand(st.func.name) if '${' in st.func.name else st.func.name
            if name:
                d.funcs[name] = st.func
        elif st.kind == 'directive':
            kw, args = st.kw, d.expand(st.args)
            if kw in ('include', 'require'):
                inc = resolve_include(args, path, search)
                if inc is None:
                    if kw == 'require':
                        raise ParseError(path, st.line, 'required file %s not found' % args)
                    continue
                d.includes.append(inc)
                load(inc, d, search, classdirs, seen)
            elif kw in ('inherit', 'inherit_defer'):
                for cls in args.split():
                    if cls in seen:
                        continue
                    seen.add(cls)
                    d.inherits.append(cls)
                    for cd in classdirs:
                        cp = os.path.join(cd, cls + '.bbclass')
                        if os.path.exists(cp):
                            load(cp, d, search, classdirs, seen)
                            break
            elif kw == 'export' and args:
                d.exports.add(args.split()[0])
    return d
