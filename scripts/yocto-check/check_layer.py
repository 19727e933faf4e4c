#!/usr/bin/env python3
"""Static checks of the Yocto layer at the repository root (BitBake itself
cannot be installed here). Exits non-zero if any check fails.

usage: check_layer.py [--layer DIR] [--no-go] [--only NAME[,NAME]]
  --no-go   skip the checks that run the go command (vendor sync, coverage)
"""

import argparse
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

import bbparse
import layerlib
from layerlib import Results

HERE = os.path.dirname(os.path.abspath(__file__))

# Yocto release series names a LAYERSERIES_COMPAT may use.
KNOWN_SERIES = {'kirkstone', 'langdale', 'mickledore', 'nanbield', 'scarthgap', 'styhead',
                'walnascar', 'whinlatter', 'wrynose'}
# Every release whose Go (>= go.mod's 1.22) builds us: scarthgap and styhead
# ship Go 1.22.12, walnascar 1.24.6, whinlatter 1.25.9, wrynose 1.26.5.
REQUIRED_SERIES = {'scarthgap', 'styhead', 'walnascar', 'whinlatter', 'wrynose'}
# Releases whose LICENSE parser knows only '&' and '|' (license-format QA
# refuses SPDX AND/OR); oe-core master (6.1) wants AND/OR and warns on '&'.
AMPERSAND_SERIES = ('scarthgap', 'styhead', 'walnascar', 'whinlatter', 'wrynose')
MASTER_CORENAMES = 'wrynose blacksail'

# Collection names of layers we may refer to (upstream spelling: meta-parsec
# is "parsec-layer", meta-tpm is "tpm-layer").
KNOWN_COLLECTIONS = {'core', 'yocto', 'openembedded-layer', 'meta-python', 'networking-layer',
                     'filesystems-layer', 'security', 'parsec-layer', 'tpm-layer',
                     'integrity', 'hardening', 'arm-toolchain', 'meta-arm'}
# Recipes of upstream meta-parsec that an append under meta-parsec/ may
# target. parsec-service and parsec-tool are excluded on purpose: an append
# would apply to the Rust recipes as well as to ours.
UPSTREAM_META_PARSEC_APPENDABLE = {'security-parsec-image', 'packagegroup-security-parsec'}
# Classes the recipes may inherit: oe-core's (and meta-oe's) that we use.
KNOWN_CLASSES = {'go', 'go-mod', 'useradd', 'systemd', 'update-rc.d', 'core-image',
                 'packagegroup', 'extrausers', 'image', 'ptest', 'go-ptest', 'features_check',
                 'testimage', 'allarch', 'deploy'}
SPDX_IDS = {'Apache-2.0', 'BSD-2-Clause', 'BSD-3-Clause', 'MIT', 'ISC', 'MPL-2.0',
            'GPL-2.0-only', 'GPL-2.0-or-later', 'LGPL-2.1-only', 'LGPL-2.1-or-later', 'CLOSED',
            'Unlicense', 'CC0-1.0'}
MAX_GO = (1, 22)
METADATA_DIRS = ('conf', 'classes', 'classes-recipe', 'classes-global', 'lib', 'meta-parsec',
                 'kas')


def rel(root, p):
    return os.path.relpath(p, root)


def metadata_files(root):
    """Every BitBake metadata file of the layer (conf/parsec/ holds the
    service's TOML examples, not metadata)."""
    out = []
    pats = ['conf/*.conf', 'conf/*/*.conf', 'classes*/*.bbclass', 'recipes-*/*/*.bb',
            'recipes-*/*/*.bbappend', 'recipes-*/*/*.inc', 'meta-parsec/recipes-*/*/*.bb',
            'meta-parsec/recipes-*/*/*.bbappend', 'meta-parsec/recipes-*/*/*.inc']
    for pat in pats:
        out += glob.glob(os.path.join(root, pat))
    return sorted(p for p in set(out) if not rel(root, p).startswith('conf/parsec/'))


def strip_inline_python(body):
    out, i = [], 0
    while True:
        j = body.find('${@', i)
        if j < 0:
            out.append(body[i:])
            return ''.join(out)
        end = bbparse.find_python_expr_end(body, j)
        out.append(body[i:j] + 'X')
        i = end + 1 if end > 0 else len(body)


def check_syntax(root, res):
    for path in metadata_files(root):
        problems = []
        try:
            sts = bbparse.parse_file(path)
        except bbparse.ParseError as e:
            res.fail('syntax %s' % rel(root, path), 'line %d: %s' % (e.line, e.msg))
            continue
        for st in sts:
            if st.kind != 'func':
                continue
            fn = st.func
            if fn.python:
                try:
                    compile(fn.body, path, 'exec')
                except SyntaxError as e:
                    problems.append('python %s line %s: %s' % (fn.name, fn.line, e.msg))
                continue
            p = subprocess.run(['sh', '-n'], input=strip_inline_python(fn.body),
                               capture_output=True, text=True)
            if p.returncode:
                problems.append('shell function %s (line %d): %s'
                                % (fn.name, fn.line, p.stderr.strip()))
            opens = fn.body.count('{') - fn.body.count('}')
            if opens:
                problems.append('shell function %s (line %d): unbalanced braces'
                                % (fn.name, fn.line))
        for st in sts:
            if st.kind == 'directive' and st.kw == 'inherit':
                for cls in st.args.split():
                    if '${' not in cls and cls not in KNOWN_CLASSES:
                        problems.append('line %d: inherit of unknown class %s' % (st.line, cls))
        res.check('syntax %s' % rel(root, path), problems)


def check_layer_conf(root, res):
    path = os.path.join(root, 'conf', 'layer.conf')
    if not os.path.exists(path):
        res.fail('layer.conf', 'conf/layer.conf is missing')
        return None
    d = bbparse.DataStore()
    d.setVar('LAYERDIR', root)
    try:
        sts = bbparse.parse_file(path)
        bbparse.load(path, d, [root])
    except (bbparse.ParseError, Exception) as e:  # noqa: BLE001
        res.fail('layer.conf', str(e))
        return None
    problems = []
    colls = (d.getVar('BBFILE_COLLECTIONS') or '').split()
    if len(colls) != 1:
        res.fail('layer.conf', 'BBFILE_COLLECTIONS must name exactly one collection, has %s' % colls)
        return None
    c = colls[0]
    if ':%s' % root not in ':' + (d.getVar('BBPATH') or '').replace(' ', ''):
        problems.append('BBPATH does not get ${LAYERDIR}')
    if d.getVar('BBFILE_PATTERN_' + c) != '^%s/' % root:
        problems.append('BBFILE_PATTERN_%s is %r, expected "^${LAYERDIR}/"'
                        % (c, d.getVar('BBFILE_PATTERN_' + c)))
    prio = d.getVar('BBFILE_PRIORITY_' + c)
    if not prio or not prio.isdigit():
        problems.append('BBFILE_PRIORITY_%s missing or not a number' % c)
    elif int(prio) <= 5:
        problems.append('BBFILE_PRIORITY_%s = %s must be above meta-parsec\'s 5' % (c, prio))
    deps = (d.getVar('LAYERDEPENDS_' + c) or '').split()
    if 'core' not in deps:
        problems.append('LAYERDEPENDS_%s lacks core' % c)
    for dep in deps + (d.getVar('LAYERRECOMMENDS_' + c) or '').split():
        name = dep.split(':')[0]
        if not re.match(r'^\(', name) and name not in KNOWN_COLLECTIONS:
            problems.append('LAYERDEPENDS/LAYERRECOMMENDS names unknown collection %s' % name)
    compat = set((d.getVar('LAYERSERIES_COMPAT_' + c) or '').split())
    if not compat:
        problems.append('LAYERSERIES_COMPAT_%s missing' % c)
    if compat - KNOWN_SERIES:
        problems.append('unknown release series in LAYERSERIES_COMPAT: %s'
                        % ' '.join(sorted(compat - KNOWN_SERIES)))
    if REQUIRED_SERIES - compat:
        problems.append('LAYERSERIES_COMPAT lacks %s' % ' '.join(sorted(REQUIRED_SERIES - compat)))
    matched = set()
    for pat in (d.getVar('BBFILES') or '').split():
        hits = glob.glob(pat)
        if not hits and not pat.endswith('.bbappend'):
            problems.append('BBFILES pattern %s matches nothing' % rel(root, pat))
        matched.update(hits)
    for entry in (d.getVar('BBFILES_DYNAMIC') or '').split():
        coll, _, pat = entry.partition(':')
        if not pat:
            problems.append('BBFILES_DYNAMIC entry %r is not collection:glob' % entry)
            continue
        if coll.lstrip('!') not in KNOWN_COLLECTIONS:
            problems.append('BBFILES_DYNAMIC names unknown collection %s' % coll)
        hits = glob.glob(pat)
        if not hits and pat.endswith('.bbappend'):
            problems.append('BBFILES_DYNAMIC glob %s matches nothing' % rel(root, pat))
        matched.update(hits)
    for f in metadata_files(root):
        if f.endswith(('.bb', '.bbappend')) and f not in matched:
            problems.append('%s is not matched by BBFILES or BBFILES_DYNAMIC' % rel(root, f))
    # Overrides keyed on a collection must use ours (meta-tpm once had a
    # "tmp-layer" typo that silently disabled its QA setting).
    for st in sts:
        if st.kind == 'assign' and ':' in st.var:
            for part in st.var.split(':')[1:]:
                if part.endswith('-layer') and part != c and part not in KNOWN_COLLECTIONS:
                    problems.append('line %d: override %s is not a known collection'
                                    % (st.line, part))
        if st.kind == 'directive' and st.kw == 'addpylib':
            args = d.expand(st.args).split()
            if len(args) != 2 or not os.path.isdir(os.path.join(args[0], args[1])):
                problems.append('addpylib %s: no such directory' % st.args)
    res.check('layer.conf (collection %s)' % c, problems, 'priority %s, %s'
              % (prio, ' '.join(sorted(compat))))
    return c


def md5_of(path, beginline=None, endline=None):
    with open(path, 'rb') as f:
        data = f.read()
    if beginline or endline:
        lines = data.splitlines(keepends=True)
        b = int(beginline or 1) - 1
        e = int(endline) if endline else len(lines)
        data = b''.join(lines[b:e])
    return hashlib.md5(data).hexdigest()


def license_ids(expr):
    return [t for t in re.split(r'[\s&|()]+', expr) if t and t not in ('AND', 'OR', 'WITH')]


def check_license_syntax(d, name, res):
    """LICENSE as each release's parser wants it: '&' where SPDX AND is a
    license-format error (up to wrynose), SPDX AND/OR on oe-core master,
    which warns "LICENSE is using an old syntax" on '&'."""
    problems = []
    saved = d.getRaw('LAYERSERIES_CORENAMES')
    seen = {}
    for names in AMPERSAND_SERIES + (MASTER_CORENAMES,):
        d.setVar('LAYERSERIES_CORENAMES', names)
        lic = d.getVar('LICENSE') or ''
        seen[names] = sorted(license_ids(lic))
        words = set(re.split(r'[\s()]+', lic))
        if names == MASTER_CORENAMES:
            if re.search(r'[&|]', lic):
                problems.append('on oe-core master LICENSE is "%s": old syntax, write SPDX AND/OR' % lic)
        elif words & {'AND', 'OR', 'WITH'}:
            problems.append('on %s LICENSE is "%s": its parser takes only & and |' % (names, lic))
    if saved is None:
        d.setVar('LAYERSERIES_CORENAMES', '')
    else:
        d.setVar('LAYERSERIES_CORENAMES', saved)
    if len({tuple(v) for v in seen.values()}) > 1:
        problems.append('LICENSE names other licences on some releases: %s' % seen)
    res.check('LICENSE syntax per release %s' % name, problems, d.getVar('LICENSE'))


def check_licenses(root, d, name, res):
    problems = []
    check_license_syntax(d, name, res)
    lic = d.getVar('LICENSE') or ''
    ids = license_ids(lic)
    for i in ids:
        if i not in SPDX_IDS:
            problems.append('LICENSE id %s is not a known SPDX id' % i)
    entries = (d.getVar('LIC_FILES_CHKSUM') or '').split()
    if not entries and layerlib.local_sources(d):
        problems.append('no LIC_FILES_CHKSUM')
    covered_ids = set()
    lic_paths = []
    for e in entries:
        scheme, path, params = layerlib.parse_url(e)
        if 'COMMON_LICENSE_DIR' in path or 'COREBASE' in path:
            continue
        full = path if os.path.isabs(path) else os.path.join(d.getVar('S'), path)
        src = layerlib.source_for_build_path(d, full)
        if not src or not os.path.isfile(src):
            problems.append('%s: no such file after unpack' % path)
            continue
        lic_paths.append(os.path.normpath(src))
        want = params.get('md5')
        got = md5_of(src, params.get('beginline'), params.get('endline'))
        if want != got:
            problems.append('%s: md5 %s, file has %s' % (path, want, got))
        if 'spdx' in params:
            covered_ids.add(params['spdx'])
            if params['spdx'] not in ids:
                problems.append('%s is %s, which LICENSE does not list' % (path, params['spdx']))
    if covered_ids and set(ids) - covered_ids:
        problems.append('LICENSE lists %s but no LIC_FILES_CHKSUM entry is marked so'
                        % ' '.join(sorted(set(ids) - covered_ids)))
    if 'go-mod' in d.inherits or 'go' in d.inherits:
        for mod in layerlib.vendored_modules(root):
            mdir = os.path.join(root, 'vendor', mod)
            if not any(p.startswith(mdir + os.sep) for p in lic_paths):
                problems.append('vendored module %s has no LIC_FILES_CHKSUM entry' % mod)
    res.check('licences %s' % name, problems, '%d files' % len(entries))


def go_packages_of(root, pkgs, cgo=False):
    """In-module packages that pkgs import (go list -deps), as dirs."""
    module, _, _ = layerlib.go_mod_info(root)
    env = dict(os.environ, GOFLAGS='-mod=vendor', CGO_ENABLED='1' if cgo else '0', GOTOOLCHAIN='local')
    p = subprocess.run(['go', 'list', '-deps', '-f', '{{.ImportPath}}'] + pkgs, cwd=root,
                       capture_output=True, text=True, env=env)
    if p.returncode:
        raise RuntimeError(p.stderr.strip()[-500:])
    out = []
    for line in p.stdout.split():
        if line == module or line.startswith(module + '/'):
            out.append(line[len(module) + 1:] if line != module else '.')
    return out


def check_recipe(root, path, res, run_go):
    name = rel(root, path)
    try:
        d = layerlib.read_recipe(path, root, distro_features='systemd sysvinit tpm2')
    except Exception as e:  # noqa: BLE001
        res.fail('recipe %s' % name, 'cannot evaluate: %s' % e)
        return
    problems = []
    srcs = layerlib.local_sources(d)
    for url, relp, params in srcs:
        found = layerlib.find_local(d, relp)
        if not found:
            problems.append('%s: file not found in FILESPATH' % url.split(';')[0])
        elif len(found) > 1:
            problems.append('%s is shadowed: %s' % (relp, ', '.join(rel(root, f) for f in found)))
    # Files do_install reads from the unpack directory must be in SRC_URI.
    listed = {relp for _, relp, _ in srcs}
    for fn in d.funcs.values():
        for m in re.finditer(r'\$\{PARSEC_UNPACKDIR\}/([A-Za-z0-9_./-]+)', fn.body):
            if fn.body[m.end():m.end() + 1] == '$':
                continue
            if m.group(1) not in listed and not any(m.group(1).startswith(x + '/') for x in listed):
                problems.append('%s uses %s, which SRC_URI does not fetch' % (fn.name, m.group(1)))
    res.check('SRC_URI %s' % name, problems, '%d local entries' % len(srcs))
    if srcs:
        check_licenses(root, d, name, res)
    if 'go-mod' not in d.inherits:
        return
    problems = []
    module, _, _ = layerlib.go_mod_info(root)
    if d.getVar('GO_IMPORT') != module:
        problems.append('GO_IMPORT %s differs from go.mod module %s' % (d.getVar('GO_IMPORT'), module))
    pkgs = d.getVar('GO_INSTALL').split()
    for pkg in pkgs:
        pdir = os.path.join(root, os.path.relpath(pkg, module))
        mains = [f for f in glob.glob(os.path.join(pdir, '*.go')) if not f.endswith('_test.go')
                 and re.search(r'^package main\b', open(f).read(), re.M)]
        if not mains:
            problems.append('GO_INSTALL %s is not a main package in this module' % pkg)
    if d.getVar('CGO_ENABLED') != '0' or 'CGO_ENABLED' not in d.exports:
        problems.append('CGO_ENABLED is not exported as "0"')
    if d.getVar('GO_LINKSHARED'):
        problems.append('GO_LINKSHARED is not empty')
    if '-buildmode=pie' in d.getVar('GOBUILDFLAGS').split():
        problems.append('GOBUILDFLAGS keeps -buildmode=pie')
    if '-mod=vendor' not in d.getVar('GOBUILDFLAGS').split():
        problems.append('GOBUILDFLAGS lacks -mod=vendor')
    if d.getVar('GOPROXY') != 'off':
        problems.append('GOPROXY is not off (do_compile has no network)')
    if re.search(r'(^|\s)-[sw](\s|$)', d.getVar('GO_EXTRA_LDFLAGS') or ''):
        problems.append('GO_EXTRA_LDFLAGS strips (-s/-w): OE strips and splits debug info itself')
    # The recipe version is the one the program reports.
    vfile = os.path.join(root, 'internal', 'version', 'version.go')
    if os.path.exists(vfile):
        m = re.search(r'\bVersion\s*=\s*"([^"]+)"', open(vfile).read())
        if m and m.group(1) != d.getVar('PV'):
            problems.append('PV %s differs from internal/version.Version %s'
                            % (d.getVar('PV'), m.group(1)))
    if run_go and not problems:
        try:
            used = go_packages_of(root, pkgs)
            items = d.getVar('PARSEC_GO_SRC').split()
            for p in used:
                if p.split('/')[0] not in items:
                    problems.append('package %s is built but %s/ is not in PARSEC_GO_SRC'
                                    % (p, p.split('/')[0]))
        except RuntimeError as e:
            problems.append('go list: %s' % e)
    for pkgname in [d.getVar('PN')]:
        rdeps = (d.getVar('RDEPENDS:' + pkgname) or '').split()
        for fn in d.funcs.values():
            for m in re.finditer(r'\$\{S\}/src/\$\{GO_IMPORT\}/(\S+\.sh)', fn.body):
                script = os.path.join(root, m.group(1))
                if not os.path.exists(script):
                    problems.append('%s installs %s, which does not exist' % (fn.name, m.group(1)))
                else:
                    first = open(script).readline()
                    if 'bash' in first and 'bash' not in rdeps:
                        problems.append('%s runs under bash but RDEPENDS lacks bash' % m.group(1))
    problems += check_test_package(d)
    res.check('Go build settings %s' % name, problems, ' '.join(pkgs))


def check_test_package(d):
    """Test scripts (*-tests.sh) and what only they need (openssl-bin) ship
    in ${PN}-tests or ${PN}-ptest, not in the package devices install."""
    problems = []
    pn = d.getVar('PN')
    installed = set()
    for fn in d.funcs.values():
        if fn.name.startswith('do_install'):
            installed.update(re.findall(r'\$\{D\}(\$\{bindir\}/\S+-tests\.sh)\b', fn.body))
    if not installed:
        return problems
    packages = (d.getVar('PACKAGES') or '').split()
    for path in sorted(installed):
        owners = [p for p in packages if path in (d.getVar('FILES:' + p, expand=False) or '').split()]
        if not any(o in (pn + '-tests', pn + '-ptest') for o in owners):
            problems.append('%s is not in FILES:${PN}-tests (or -ptest)' % path)
    if 'openssl-bin' in (d.getVar('RDEPENDS:' + pn) or '').split():
        problems.append('RDEPENDS:%s has openssl-bin, which only the test script needs' % pn)
    return problems


def check_readme_modes(root, res):
    """Every `PATH` (MODE, OWNER:GROUP) the README gives for an installed
    file must be what the recipe installs (expected/*.tree)."""
    problems = []
    readme = os.path.join(root, 'README.md')
    with open(readme) as f:
        text = f.read()
    # The trees' paths use oe-core's directory variables only: expand them
    # with the defaults, not a recipe (which another check may find broken).
    d = bbparse.DataStore(overrides=[])
    bbparse.load(os.path.join(layerlib.OE_DIR, 'defaults.conf'), d, [root])
    tree = {}
    for t in glob.glob(os.path.join(HERE, 'expected', '*.tree')):
        with open(t) as f:
            for line in f:
                fields = line.split()
                if line.startswith('#') or len(fields) != 4:
                    continue  # comments, blank lines, "include OTHER.tree"
                _, mode, owner, path = fields
                tree[d.expand(path)] = (mode, owner)
    said = re.findall(r'`(/[^`\s]+)` \((0[0-7]{3})(?:, ([a-z-]+:[a-z-]+))?\)', re.sub(r'\s+', ' ', text))
    for path, mode, owner in said:
        if path not in tree:
            continue
        want_mode, want_owner = tree[path]
        if mode != want_mode or (owner and owner != want_owner):
            problems.append('README says %s is %s %s; the recipe installs %s %s'
                            % (path, mode, owner or '', want_mode, want_owner))
    res.check('README modes and owners match the recipes', problems, '%d paths named' % len(said))


# PACKAGECONFIG values whose provider selection check_provider_tags tries.
PROVIDER_CASES = ('MBED-CRYPTO', 'MBED-CRYPTO TPM', 'MBED-CRYPTO TS', 'MBED-CRYPTO TPM TS SWTPM',
                  'TPM TS', 'PKCS11 MBED-CRYPTO')


def go_deps(root, pkgs, tags):
    """In-module packages (module-relative) that pkgs link with these tags."""
    env = dict(os.environ, GOFLAGS='-mod=vendor', CGO_ENABLED='0', GOTOOLCHAIN='local')
    module, _, _ = layerlib.go_mod_info(root)
    p = subprocess.run(['go', 'list', '-deps', '-f', '{{.ImportPath}}', '-tags', ','.join(tags)]
                       + pkgs, cwd=root, capture_output=True, text=True, env=env)
    if p.returncode:
        raise RuntimeError(p.stderr.strip()[-500:])
    return {line[len(module) + 1:] for line in p.stdout.split() if line.startswith(module + '/')}


def check_provider_tags(root, path, res, run_go):
    """A recipe with provider PACKAGECONFIG options builds exactly the chosen
    hardware providers into its program: the Go build tags its GOBUILDFLAGS
    get are ones the program's package defines (a misspelt tag is silently
    ignored by go and would build every provider), and, with go, the build
    links each provider's package exactly when its option is on."""
    name = rel(root, path)
    try:
        d = layerlib.read_recipe(path, root, distro_features='systemd sysvinit tpm2')
    except Exception:  # noqa: BLE001 - check_recipe reports it
        return
    if not any(d.getVarFlag('PACKAGECONFIG', o) is not None for o in layerlib.PROVIDER_PACKAGES):
        return
    module, _, _ = layerlib.go_mod_info(root)
    pkgs = (d.getVar('GO_INSTALL') or '').split()
    declared = set()
    for pkg in pkgs:
        declared |= layerlib.declared_build_tags(os.path.join(root, os.path.relpath(pkg, module)))
    problems = []
    summary = []
    for pc in PROVIDER_CASES:
        try:
            dc = layerlib.read_recipe(path, root, distro_features='systemd sysvinit tpm2',
                                      extra={'PACKAGECONFIG': pc})
        except Exception as e:  # noqa: BLE001
            problems.append('PACKAGECONFIG "%s": cannot evaluate: %s' % (pc, e))
            continue
        tags = layerlib.go_build_tags(dc.getVar('GOBUILDFLAGS'))
        summary.append('%s: %s' % (pc, ','.join(tags) or '-'))
        for t in tags:
            if t not in declared:
                problems.append('PACKAGECONFIG "%s": GOBUILDFLAGS has tag %s, which no //go:build '
                                'line of %s tests' % (pc, t, ' '.join(pkgs)))
        if not run_go:
            continue
        try:
            deps = go_deps(root, pkgs, tags)
        except RuntimeError as e:
            problems.append('PACKAGECONFIG "%s": go list: %s' % (pc, e))
            continue
        on = pc.split()
        for opt, pkg in sorted(layerlib.PROVIDER_PACKAGES.items()):
            if (pkg in deps) != (opt in on):
                problems.append('PACKAGECONFIG "%s" (tags "%s"): %s is %slinked' % (
                    pc, ','.join(tags), pkg, '' if pkg in deps else 'not '))
        for pkg in layerlib.ALWAYS_LINKED:
            if pkg not in deps:
                problems.append('PACKAGECONFIG "%s": %s is not linked' % (pc, pkg))
    res.check('PACKAGECONFIG selects the providers built in %s%s'
              % (name, '' if run_go else ' (tags only, no go list)'), problems, '; '.join(summary))


def check_go_mod(root, res):
    module, goline, toolchain = layerlib.go_mod_info(root)
    problems = []
    if not goline:
        problems.append('no go line')
    else:
        parts = tuple(int(x) for x in goline.split('.')[:2])
        if parts > MAX_GO:
            problems.append('go %s is newer than scarthgap\'s Go %d.%d' % ((goline,) + MAX_GO))
    if toolchain:
        problems.append('toolchain %s line makes Go fetch a toolchain offline builds lack'
                        % toolchain)
    res.check('go.mod go line <= %d.%d, no toolchain line' % MAX_GO, problems, 'go %s' % goline)


def check_vendor_sync(root, res):
    tmp = tempfile.mkdtemp(prefix='yocto-vendor-')
    try:
        for dirpath, dirnames, filenames in os.walk(root):
            relp = os.path.relpath(dirpath, root)
            top = relp.split(os.sep)[0]
            if relp != '.' and (top in ('vendor', 'qemu-tests') or top.startswith('.')):
                dirnames[:] = []
                continue
            for f in filenames:
                if f.endswith('.go') or (relp == '.' and f in ('go.mod', 'go.sum')):
                    os.makedirs(os.path.join(tmp, relp), exist_ok=True)
                    shutil.copy2(os.path.join(dirpath, f), os.path.join(tmp, relp, f))
        env = dict(os.environ, GOFLAGS='-mod=mod', GOTOOLCHAIN='local')
        p = subprocess.run(['go', 'mod', 'vendor'], cwd=tmp, capture_output=True, text=True,
                           env=env)
        if p.returncode:
            res.fail('vendor/ in sync with go.mod', 'go mod vendor: %s' % p.stderr.strip()[-400:])
            return
        p = subprocess.run(['diff', '-rq', os.path.join(root, 'vendor'),
                            os.path.join(tmp, 'vendor')], capture_output=True, text=True)
        out = p.stdout.replace(tmp, '<fresh>').replace(root + '/', '')
        res.check('vendor/ in sync with go.mod (go mod vendor, diff)',
                  [out.strip()[:600]] if p.returncode else [])
        for f in ('go.mod', 'go.sum'):
            if open(os.path.join(tmp, f)).read() != open(os.path.join(root, f)).read():
                res.fail('%s is tidy for vendoring' % f, 'go mod vendor changed %s' % f)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_meta_parsec(root, res):
    problems = []
    mp = os.path.join(root, 'meta-parsec')
    if os.path.exists(os.path.join(mp, 'conf', 'layer.conf')):
        problems.append('meta-parsec/ must not be a layer of its own')
    if glob.glob(os.path.join(mp, 'recipes-parsec')):
        problems.append('meta-parsec/recipes-parsec would be hit by a mask of upstream\'s recipes')
    for f in glob.glob(os.path.join(mp, 'recipes-*', '*', '*.bbappend')):
        target = os.path.basename(f).rsplit('.', 1)[0].split('_')[0]
        if target not in UPSTREAM_META_PARSEC_APPENDABLE:
            problems.append('%s appends %s, not an upstream meta-parsec recipe we may append'
                            % (rel(root, f), target))
    res.check('meta-parsec/ appends', problems)


def check_no_go_in_metadata(root, res):
    bad = []
    for top in METADATA_DIRS + tuple(os.path.basename(p) for p in glob.glob(os.path.join(root, 'recipes-*'))):
        bad += glob.glob(os.path.join(root, top, '**', '*.go'), recursive=True)
    res.check('no Go code in layer metadata directories', [rel(root, b) for b in bad])


def check_oeqa(root, res):
    problems = []
    cases = glob.glob(os.path.join(root, 'lib', 'oeqa', 'runtime', 'cases', '*.py'))
    if not cases:
        problems.append('no runtime test cases in lib/oeqa/runtime/cases')
    for c in cases:
        if os.path.basename(c) == 'parsec.py':
            problems.append('parsec.py clashes with meta-parsec\'s test module (oeqa loader '
                            'refuses duplicated module names)')
        try:
            compile(open(c).read(), c, 'exec')
        except SyntaxError as e:
            problems.append('%s: %s' % (rel(root, c), e))
    res.check('oeqa runtime tests', problems, ' '.join(os.path.basename(c) for c in cases))


def check_shell_scripts(root, res):
    init = os.path.join(root, 'recipes-security', 'parsec-service', 'files', 'parsec.init')
    problems = []
    for shell in (['sh', '-n'], ['busybox', 'sh', '-n']):
        if shell[0] == 'busybox' and not shutil.which('busybox'):
            res.skip('parsec.init busybox sh -n', 'busybox not installed')
            continue
        p = subprocess.run(shell + [init], capture_output=True, text=True)
        if p.returncode:
            problems.append('%s: %s' % (' '.join(shell), p.stderr.strip()))
    if shutil.which('shellcheck'):
        p = subprocess.run(['shellcheck', '-s', 'sh', '-S', 'warning', init],
                           capture_output=True, text=True)
        if p.returncode:
            problems.append('shellcheck: %s' % p.stdout.strip()[:800])
    else:
        res.skip('parsec.init shellcheck', 'shellcheck not installed')
    res.check('parsec.init is POSIX sh (sh -n, busybox sh -n, shellcheck)', problems)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--layer', default=os.path.normpath(os.path.join(HERE, '..', '..')))
    ap.add_argument('--no-go', action='store_true')
    a = ap.parse_args()
    root = os.path.abspath(a.layer)
    res = Results('layer: ')
    check_layer_conf(root, res)
    check_syntax(root, res)
    for path in sorted(glob.glob(os.path.join(root, 'recipes-*', '*', '*.bb'))):
        check_recipe(root, path, res, not a.no_go)
        check_provider_tags(root, path, res, not a.no_go)
    check_go_mod(root, res)
    if not a.no_go:
        check_vendor_sync(root, res)
    check_meta_parsec(root, res)
    check_no_go_in_metadata(root, res)
    check_oeqa(root, res)
    check_readme_modes(root, res)
    check_shell_scripts(root, res)
    return 1 if res.failed else 0


if __name__ == '__main__':
    sys.exit(main())
