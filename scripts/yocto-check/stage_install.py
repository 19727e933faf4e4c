#!/usr/bin/env python3
"""Carry out a recipe's do_unpack, do_configure, do_compile and do_install
into a staging root, the way BitBake would run them, and check the result.

The shell that runs is the recipe's own (do_install and the functions it
calls, the go class model's compile), with the recipe's variables expanded,
so a change to a recipe is what gets tested. Needs root (install -o) and the
accounts the recipe creates; --create-host-accounts makes them on this host
from the recipe's GROUPADD_PARAM/USERADD_PARAM.

usage: stage_install.py RECIPE [--arch amd64|arm64|arm] [--distro-features ..]
       [--packageconfig ..] [--release wrynose|scarthgap] [--expect FILE]
       [--keep DIR] [--create-host-accounts]
"""

import argparse
import grp
import os
import pwd
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib

import layerlib
from layerlib import Results

HERE = os.path.dirname(os.path.abspath(__file__))
LAYER = os.environ.get('YOCTO_CHECK_LAYER') or os.path.normpath(os.path.join(HERE, '..', '..'))

SHELL_PRELUDE = r'''
bbfatal() { echo "ERROR: $*" >&2; exit 1; }
bbnote() { echo "NOTE: $*"; }
bbwarn() { echo "WARNING: $*" >&2; }
bbdebug() { :; }
oe_runmake() { ${MAKE:-make} "$@"; }
'''


def shell_script(d, entry, cwd):
    """A script that defines every shell function of the recipe (expanded as
    BitBake expands them), exports the exported variables and runs entry."""
    lines = ['set -e', SHELL_PRELUDE]
    for name in sorted(d.exports):
        val = d.getVar(name)
        if val is not None:
            lines.append('export %s=%s' % (name, shlex.quote(val)))
    for name, fn in d.funcs.items():
        # name:append bodies are not shell function names; callers run them.
        if fn.python or ':' in name:
            continue
        lines.append('%s() {\n%s\n}' % (name, d.expand(fn.body)))
    lines.append('cd %s' % shlex.quote(cwd))
    lines.append(entry)
    return '\n'.join(lines) + '\n'


def run_shell(script, log, env_extra=None):
    env = dict(os.environ)
    # The go class points GOCACHE into the work dir; reuse the host's cache
    # so repeated runs stay fast (it does not change the output).
    env.pop('GOFLAGS', None)
    env.update(env_extra or {})
    p = subprocess.run(['/bin/sh', '-c', script], env=env, capture_output=True, text=True)
    with open(log, 'a') as f:
        f.write(script + '\n--- stdout\n' + p.stdout + '\n--- stderr\n' + p.stderr)
    return p


def do_unpack(d, res):
    problems = []
    for url, rel, params in layerlib.local_sources(d):
        found = layerlib.find_local(d, rel)
        if not found:
            problems.append('%s: not found in FILESPATH' % url)
            continue
        dest = os.path.join(layerlib.unpack_dir(d), params.get('subdir', ''), rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if os.path.isdir(found[0]):
            shutil.copytree(found[0], dest, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(found[0], dest)
    res.check('do_unpack', problems)
    return not problems


def walk_tree(root):
    """{path: (type, mode, owner, group)} below root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            kind = 'd' if stat.S_ISDIR(st.st_mode) else 'l' if stat.S_ISLNK(st.st_mode) else 'f'
            try:
                owner = pwd.getpwuid(st.st_uid).pw_name
            except KeyError:
                owner = str(st.st_uid)
            try:
                group = grp.getgrgid(st.st_gid).gr_name
            except KeyError:
                group = str(st.st_gid)
            out['/' + os.path.relpath(p, root)] = (kind, '%04o' % stat.S_IMODE(st.st_mode),
                                                    owner, group)
    return out


def read_expect(path, d):
    """Expected tree: lines 'TYPE MODE OWNER:GROUP PATH', PATH may use ${vars}
    of the recipe; '#' comments; 'include FILE' reads another tree file of
    the same directory first (a PACKAGECONFIG variant adds its entries)."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            if line.startswith('include '):
                out.update(read_expect(os.path.join(os.path.dirname(path), line.split(None, 1)[1]), d))
                continue
            kind, mode, og, p = line.split(None, 3)
            owner, group = og.split(':')
            out[os.path.normpath(d.expand(p))] = (kind, mode, owner, group)
    return out


def compare_tree(actual, expected):
    problems = []
    for p, want in sorted(expected.items()):
        got = actual.get(p)
        if got is None:
            problems.append('missing %s' % p)
        elif got != want:
            problems.append('%s is %s, expected %s' % (p, ' '.join(got), ' '.join(want)))
    for p in sorted(set(actual) - set(expected)):
        problems.append('unexpected %s' % p)
    return problems


def run_account_params(d, pn, root=None):
    """Run GROUPADD_PARAM/USERADD_PARAM like the useradd class, either into a
    scratch root (--root) or on this host (root=None, skipping existing)."""
    problems = []
    prefix = ['--root', root] if root else []
    for kind, tool in (('GROUPADD_PARAM', 'groupadd'), ('USERADD_PARAM', 'useradd')):
        val = d.getVar('%s:%s' % (kind, pn)) or ''
        for cmd in [c.strip() for c in val.split(';') if c.strip()]:
            args = shlex.split(cmd)
            name = args[-1]
            exists = False
            if root is None:
                try:
                    (grp.getgrnam if tool == 'groupadd' else pwd.getpwnam)(name)
                    exists = True
                except KeyError:
                    pass
            if exists:
                continue
            p = subprocess.run([tool] + prefix + args, capture_output=True, text=True)
            if p.returncode != 0:
                problems.append('%s %s: %s' % (tool, cmd, p.stderr.strip()))
    return problems


def scratch_etc(root):
    etc = os.path.join(root, 'etc')
    os.makedirs(etc, exist_ok=True)
    files = {'passwd': 'root:x:0:0:root:/root:/bin/sh\n',
             'group': 'root:x:0:\n', 'shadow': 'root:*:19000:0:99999:7:::\n',
             'gshadow': 'root:*::\n', 'login.defs': 'SYS_UID_MIN 100\nSYS_UID_MAX 999\n'
             'SYS_GID_MIN 100\nSYS_GID_MAX 999\n'}
    for name, text in files.items():
        with open(os.path.join(etc, name), 'w') as f:
            f.write(text)
    os.chmod(os.path.join(etc, 'shadow'), 0o600)
    os.chmod(os.path.join(etc, 'gshadow'), 0o600)


def check_accounts(d, pn, work, res):
    root = os.path.join(work, 'accounts-root')
    scratch_etc(root)
    problems = run_account_params(d, pn, root)
    if not problems and d.getVar('USERADD_PARAM:' + pn):
        with open(os.path.join(root, 'etc', 'passwd')) as f:
            users = {line.split(':')[0]: line.strip().split(':') for line in f}
        with open(os.path.join(root, 'etc', 'group')) as f:
            groups = {line.split(':')[0]: line.strip().split(':') for line in f}
        u = users.get('parsec')
        if not u:
            problems.append('no parsec user')
        else:
            if groups.get('parsec', [None, None, None])[2] != u[3]:
                problems.append('parsec primary group is not parsec')
            if u[5] != d.getVar('PARSEC_STATEDIR'):
                problems.append('home %s' % u[5])
            if not u[6].endswith('/false') and not u[6].endswith('nologin'):
                problems.append('login shell %s' % u[6])
        if 'parsec-clients' not in groups:
            problems.append('no parsec-clients group')
        for g in (d.getVar('PARSEC_EXTRA_GROUPS') or '').split():
            members = groups.get(g, ['', '', '', ''])[3].split(',')
            if 'parsec' not in members:
                problems.append('parsec is not in group %s' % g)
    res.check('accounts (useradd --root with the recipe parameters)', problems)


def check_binary(path, work, res, name):
    problems = []
    out = subprocess.run(['file', '-b', path], capture_output=True, text=True).stdout
    if 'statically linked' not in out:
        problems.append('not statically linked: %s' % out.strip())
    if 'interpreter' in out:
        problems.append('has an ELF interpreter')
    with open(path, 'rb') as f:
        data = f.read()
    if work.encode() in data:
        problems.append('contains the build directory path (buildpaths QA)')
    res.check('%s is a static executable without build paths' % name, problems, out.split(',')[1].strip() if ',' in out else '')


def check_linked_providers(d, path, res):
    """The daemon links each hardware provider exactly when its PACKAGECONFIG
    option is on: the build tags the recipe derives reached the go command
    (go version -m), and the providers' packages have symbols in the binary
    or none (go tool nm; OE strips only later)."""
    problems = []
    want = sorted(layerlib.go_build_tags(d.getVar('GOBUILDFLAGS')))
    p = subprocess.run(['go', 'version', '-m', path], capture_output=True, text=True)
    got = []
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) == 2 and f[0] == 'build' and f[1].startswith('-tags='):
            got = sorted(t for t in f[1][len('-tags='):].split(',') if t)
    if p.returncode:
        problems.append('go version -m: %s' % p.stderr.strip())
    elif got != want:
        problems.append('built with tags %s, GOBUILDFLAGS has %s' % (got, want))
    p = subprocess.run(['go', 'tool', 'nm', path], capture_output=True, text=True)
    if p.returncode:
        problems.append('go tool nm: %s' % p.stderr.strip()[-300:])
    on = (d.getVar('PACKAGECONFIG') or '').split()
    linked = []
    for opt, pkg in sorted(layerlib.PROVIDER_PACKAGES.items()) + [(None, pkg) for pkg in layerlib.ALWAYS_LINKED]:
        has = ('%s/%s.' % (d.getVar('GO_IMPORT'), pkg)) in p.stdout
        if has:
            linked.append(pkg.split('/')[-1])
        if p.returncode == 0 and has != (opt is None or opt in on):
            problems.append('%s is %slinked' % (pkg, '' if has else 'not '))
    res.check('providers linked match PACKAGECONFIG', problems,
              'tags %s; %s' % (','.join(got) or '-', ' '.join(linked)))


def check_config(d, cfg_path, res):
    problems = []
    try:
        with open(cfg_path, 'rb') as f:
            cfg = tomllib.load(f)
    except Exception as e:  # noqa: BLE001 - report any TOML error
        res.fail('config.toml parses', str(e))
        return
    if cfg.get('listener', {}).get('socket_path') != '/run/parsec/parsec.sock':
        problems.append('socket_path is not /run/parsec/parsec.sock')
    kims = {k.get('name'): k for k in cfg.get('key_manager', [])}
    for k in kims.values():
        if k.get('manager_type') != 'OnDisk':
            problems.append('key manager %s is %s' % (k.get('name'), k.get('manager_type')))
    types = {'MBED-CRYPTO': 'MbedCrypto', 'TPM': 'Tpm', 'TS': 'TrustedService'}
    want = [types[p] for p in d.getVar('PARSEC_CONFIG_PROVIDERS').split()]
    got = [p.get('provider_type') for p in cfg.get('provider', [])]
    if got != want:
        problems.append('providers %s, expected %s' % (got, want))
    for p in cfg.get('provider', []):
        if p.get('key_info_manager') not in kims:
            problems.append('provider %s names unknown key manager' % p.get('name'))
        if p.get('provider_type') == 'Tpm' and p.get('tcti') != d.getVar('PARSEC_TPM_TCTI'):
            problems.append('tcti %s' % p.get('tcti'))
    with open(cfg_path) as f:
        if '@' in f.read():
            problems.append('unsubstituted @PLACEHOLDER@')
    res.check('config.toml for PACKAGECONFIG "%s"' % d.getVar('PACKAGECONFIG').strip(), problems,
              ' '.join(got))


def check_init_files(d, image, res):
    problems = []
    init = os.path.join(image, d.getVar('sysconfdir').lstrip('/'), 'init.d', 'parsec')
    daemon = os.path.join(d.getVar('libexecdir'), 'parsec', 'parsec')
    with open(init) as f:
        text = f.read()
    if 'PARSEC_BIN:-%s}' % daemon not in text:
        problems.append('init script does not default to %s' % daemon)
    unitdir = os.path.join(image, d.getVar('systemd_system_unitdir').lstrip('/'))
    for unit in ('parsec.service', 'parsec.socket'):
        with open(os.path.join(unitdir, unit)) as f:
            u = f.read()
        if '@' in u.replace('$MAINPID', ''):
            problems.append('%s has an unsubstituted @PLACEHOLDER@' % unit)
    with open(os.path.join(unitdir, 'parsec.service')) as f:
        if 'ExecStart=%s ' % daemon not in f.read():
            problems.append('parsec.service does not start %s' % daemon)
    res.check('init script and units name the installed paths', problems)
    # systemd-analyze resolves the units' executables and dependencies
    # inside --root: give it a copy of the image plus what a target with
    # systemd has (its targets, kill and chgrp).
    if not shutil.which('systemd-analyze'):
        res.skip('systemd-analyze verify', 'systemd-analyze not installed')
        return
    vroot = image + '.verify'
    shutil.rmtree(vroot, ignore_errors=True)
    shutil.copytree(image, vroot, symlinks=True)
    vunits = os.path.join(vroot, d.getVar('systemd_system_unitdir').lstrip('/'))
    for src in ('/lib/systemd/system', '/usr/lib/systemd/system'):
        if os.path.isdir(src):
            for name in os.listdir(src):
                if name.endswith('.target') and not os.path.exists(os.path.join(vunits, name)):
                    shutil.copy(os.path.join(src, name), vunits, follow_symlinks=True)
    for tool in ('kill', 'chgrp'):
        dst = os.path.join(vroot, d.getVar('base_bindir').lstrip('/'), tool)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy(shutil.which(tool), dst)
    env = dict(os.environ, SYSTEMD_LOG_LEVEL='notice')
    p = subprocess.run(['systemd-analyze', 'verify', '--man=no', '--root=' + vroot,
                        os.path.join(vunits, 'parsec.socket'),
                        os.path.join(vunits, 'parsec.service')],
                       capture_output=True, text=True, env=env)
    shutil.rmtree(vroot, ignore_errors=True)
    out = '\n'.join(line for line in (p.stdout + p.stderr).splitlines() if 'parsec' in line)
    res.check('systemd-analyze verify parsec.service parsec.socket',
              [out or 'exit %d' % p.returncode] if (p.returncode or out) else [])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('recipe')
    ap.add_argument('--arch', default='amd64', choices=sorted(layerlib.ARCHES))
    ap.add_argument('--distro-features', default='systemd sysvinit tpm2')
    ap.add_argument('--packageconfig')
    ap.add_argument('--release', default='wrynose', choices=('wrynose', 'scarthgap'))
    ap.add_argument('--expect')
    ap.add_argument('--keep')
    ap.add_argument('--set', action='append', default=[], help='VAR=VALUE')
    ap.add_argument('--create-host-accounts', action='store_true')
    ap.add_argument('--run-version', action='store_true',
                    help='run the installed program with --version (host arch only)')
    a = ap.parse_args()

    recipe = os.path.abspath(a.recipe)
    if not recipe.startswith(LAYER + os.sep):
        print("FAIL: %s is not inside the layer %s" % (recipe, LAYER))
        return 1
    pn, pv = layerlib.recipe_name_version(recipe)
    label = '%s[%s %s%s] ' % (pn, a.arch, a.release,
                              (' PACKAGECONFIG=%s' % a.packageconfig) if a.packageconfig else '')
    res = Results(label)
    work = a.keep or tempfile.mkdtemp(prefix='yocto-stage-')
    if a.keep:
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
    extra = dict(kv.split('=', 1) for kv in a.set)
    if a.packageconfig is not None:
        extra['PACKAGECONFIG'] = a.packageconfig
    try:
        d = layerlib.read_recipe(recipe, LAYER, arch=a.arch, distro_features=a.distro_features,
                                 workdir=work, release=a.release, extra=extra)
    except Exception as e:  # noqa: BLE001
        res.fail('parse', str(e))
        return 1
    log = os.path.join(work, 'log.txt')
    if a.create_host_accounts:
        res.check('host accounts from the recipe', run_account_params(d, pn))
    if not do_unpack(d, res):
        return 1
    b = d.getVar('B')
    os.makedirs(b, exist_ok=True)
    if 'go-mod' not in d.inherits:
        # A plain C recipe (the PKCS#11 module): its do_compile with the
        # host's compiler, as the recipe's environment would provide CC.
        p = run_shell(shell_script(d, 'do_compile', b), log)
        res.check('do_compile', [p.stderr.strip()[-800:]] if p.returncode else [])
        if p.returncode:
            return 1
        return install_and_check(d, a, res, b, log, work, pn, pv)
    os.makedirs(d.getVar('GOTMPDIR'), exist_ok=True)
    env = {'GOARM': layerlib.ARCHES[a.arch]['GOARM']} if a.arch == 'arm' else {}
    p = run_shell(shell_script(d, 'go_do_configure', b), log)
    if p.returncode:
        res.fail('do_configure', p.stderr.strip()[-500:])
        return 1
    cdir = os.path.join(b, 'src', d.getVar('GO_WORKDIR'))
    p = run_shell(shell_script(d, 'go_do_compile', cdir), log, env)
    res.check('do_compile (%s)' % d.getVar('GO_INSTALL').split('/')[-1],
              [p.stderr.strip()[-800:]] if p.returncode else [])
    if p.returncode:
        return 1
    # do_compile:append runs after the class's compile, as in BitBake.
    extra = d.funcs.get('do_compile:append')
    if extra is not None:
        p = run_shell(shell_script(d, d.expand(extra.body), cdir), log, env)
        res.check('do_compile:append', [p.stderr.strip()[-800:]] if p.returncode else [])
        if p.returncode:
            return 1
    return install_and_check(d, a, res, b, log, work, pn, pv)


def check_pkcs11_module(path, res, name):
    """The PKCS#11 module needs only libc and exports only the C_* entry
    points (C_GetFunctionList and the rest)."""
    problems = []
    p = subprocess.run(['readelf', '-dW', path], capture_output=True, text=True)
    needed = [ln.split('[')[1].rstrip(']') for ln in p.stdout.splitlines() if '(NEEDED)' in ln]
    if p.returncode or any(not n.startswith('libc.') for n in needed):
        problems.append('needs %s' % (' '.join(needed) or p.stderr.strip()))
    p = subprocess.run(['nm', '-D', '--defined-only', path], capture_output=True, text=True)
    syms = [ln.split()[-1] for ln in p.stdout.splitlines() if ln.strip()]
    extra = [x for x in syms if not x.startswith('C_')]
    if p.returncode or extra or 'C_GetFunctionList' not in syms:
        problems.append('exports %s' % ' '.join(extra[:10] or ['no C_GetFunctionList']))
    res.check('%s links only libc and exports only C_*' % name, problems, '%d symbols' % len(syms))


def install_and_check(d, a, res, b, log, work, pn, pv):
    """do_install into the image, then the checks of the installed tree."""
    image = d.getVar('D')
    shutil.rmtree(image, ignore_errors=True)
    os.makedirs(image)
    p = run_shell(shell_script(d, 'do_install', b), log)
    res.check('do_install', [p.stderr.strip()[-800:]] if p.returncode else [])
    if p.returncode:
        return 1

    tree = walk_tree(image)
    if a.expect:
        res.check('installed tree, modes and owners match %s' % os.path.basename(a.expect),
                  compare_tree(tree, read_expect(a.expect, d)), '%d entries' % len(tree))
    for path, (kind, mode, _, _) in sorted(tree.items()):
        if kind == 'f' and path in (d.expand('${libexecdir}/parsec/parsec'),
                                    d.expand('${bindir}/parsec-tool')):
            check_binary(os.path.join(image, path.lstrip('/')), work, res, path)
            if pn == 'parsec-service':
                check_linked_providers(d, os.path.join(image, path.lstrip('/')), res)
            if a.run_version and path.endswith('/parsec'):
                vp = subprocess.run([os.path.join(image, path.lstrip('/')), '--version'],
                                    capture_output=True, text=True)
                res.check('%s --version reports %s' % (path, pv),
                          [] if pv in vp.stdout + vp.stderr else
                          ['output %r' % (vp.stdout + vp.stderr)[:200]])
        if kind == 'f' and path.endswith('/libparsec-pkcs11.so'):
            check_pkcs11_module(os.path.join(image, path.lstrip('/')), res, path)
    if pn == 'parsec-service':
        check_accounts(d, pn, work, res)
        check_config(d, os.path.join(image, 'etc/parsec/config.toml'), res)
        check_init_files(d, image, res)
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print('staging root kept in %s' % image)
    return 1 if res.failed else 0


if __name__ == '__main__':
    sys.exit(main())
