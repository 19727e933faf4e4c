"""Helpers shared by the layer checker and the staging install: reading a
recipe with the oe-core stand-in, finding SRC_URI files the way the local
fetcher does, and reporting results."""

import glob
import os
import re
import shlex
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bbparse  # noqa: E402

OE_DIR = os.path.join(HERE, 'oe')

# Target tuples as oe-core's goarch/linuxloader name them.
ARCHES = {
    'amd64': dict(TARGET_ARCH='x86_64', TARGET_GOARCH='amd64', GOARM='',
                  TARGET_LOADER='/lib/ld-linux-x86-64.so.2', override='x86-64'),
    'arm64': dict(TARGET_ARCH='aarch64', TARGET_GOARCH='arm64', GOARM='',
                  TARGET_LOADER='/lib/ld-linux-aarch64.so.1', override='aarch64'),
    'arm': dict(TARGET_ARCH='arm', TARGET_GOARCH='arm', GOARM='7',
                TARGET_LOADER='/lib/ld-linux-armhf.so.3', override='arm'),
}


# parsec-service's PACKAGECONFIG options that select a hardware provider, and
# the package implementing it (relative to the module): the daemon must link
# the package exactly when the option is on. The software provider is linked
# whatever MBED-CRYPTO says (the option only puts it into config.toml).
PROVIDER_PACKAGES = {'TPM': 'service/provider/tpm', 'TS': 'service/provider/trustedservice',
                     'PKCS11': 'service/provider/pkcs11'}
ALWAYS_LINKED = ('service/provider/software',)


def go_build_tags(flags):
    """The build tags the go command takes from a flags string: the last
    -tags wins, and its value is a comma (or, older, space) separated list."""
    tags = ''
    args = shlex.split(flags or '')
    for i, a in enumerate(args):
        name, eq, val = a.lstrip('-').partition('=')
        if not a.startswith('-') or name != 'tags':
            continue
        if eq:
            tags = val
        elif i + 1 < len(args):
            tags = args[i + 1]
    return [t for t in re.split(r'[\s,]+', tags) if t]


def declared_build_tags(pkgdir):
    """Tags that the //go:build lines of the Go package in pkgdir test."""
    out = set()
    for f in glob.glob(os.path.join(pkgdir, '*.go')):
        with open(f) as fh:
            for line in fh:
                if line.startswith('//go:build '):
                    out.update(re.findall(r'[A-Za-z0-9_.]+', line[len('//go:build '):]))
                elif line.startswith('package '):
                    break
    return out


class Results:
    """PASS/FAIL/SKIP lines; run-all.sh counts them."""

    def __init__(self, prefix=''):
        self.prefix = prefix
        self.failed = 0
        self.passed = 0

    def ok(self, name, detail=''):
        self.passed += 1
        print('PASS: %s%s%s' % (self.prefix, name, (' (%s)' % detail) if detail else ''))

    def fail(self, name, detail):
        self.failed += 1
        print('FAIL: %s%s: %s' % (self.prefix, name, detail))

    def skip(self, name, reason):
        print('SKIP: %s%s: %s' % (self.prefix, name, reason))

    def check(self, name, problems, detail=''):
        if problems:
            self.fail(name, '; '.join(problems))
        else:
            self.ok(name, detail)


def recipe_name_version(path):
    base = os.path.basename(path)
    stem = base.rsplit('.', 1)[0]
    if '_' in stem:
        pn, pv = stem.split('_', 1)
    else:
        pn, pv = stem, '1.0'
    return pn, pv


def read_recipe(path, layer_root, arch='amd64', distro_features='', workdir='/work-dir',
                release='wrynose', collections='core parsec-go', extra=None):
    """Datastore for the recipe at path as BitBake would see it on the given
    release (only UNPACKDIR differs among the ones we support)."""
    a = ARCHES[arch]
    d = bbparse.DataStore(overrides=['linux', 'class-target', 'task-install', a['override']])
    bbparse.load(os.path.join(OE_DIR, 'defaults.conf'), d, [layer_root])
    if release == 'scarthgap':
        d.weak.pop('UNPACKDIR', None)
        d.setVar('S', '${WORKDIR}/${BP}')
    pn, pv = recipe_name_version(path)
    for k, v in dict(PN=pn, PV=pv, FILE=path, FILE_DIRNAME=os.path.dirname(path),
                     WORKDIR=workdir, D='${WORKDIR}/image', GO='go',
                     GOTMPDIR='${WORKDIR}/tmp-go-build', DISTRO_FEATURES=distro_features,
                     BBFILE_COLLECTIONS=collections, TARGET_ARCH=a['TARGET_ARCH'],
                     TARGET_GOARCH=a['TARGET_GOARCH'], TARGET_LOADER=a['TARGET_LOADER'],
                     TARGET_GOTUPLE='linux_' + a['TARGET_GOARCH'],
                     GO_BUILD_BINDIR='bin' if arch == 'amd64' else 'bin/linux_' + a['TARGET_GOARCH'],
                     ).items():
        d.setVar(k, v)
    # oe-core's layer.conf names its series; the LICENSE operator follows it.
    d.setVar('LAYERSERIES_CORENAMES', release)
    for k, v in (extra or {}).items():
        d.setVar(k, v)
    bbparse.load(path, d, [layer_root], classdirs=[os.path.join(OE_DIR, 'classes')])
    return d


def parse_url(url):
    """('file', 'path', {params}) from 'file://path;a=b;c=d'."""
    scheme, _, rest = url.partition('://')
    parts = rest.split(';')
    params = {}
    for p in parts[1:]:
        if p:
            k, _, v = p.partition('=')
            params[k] = v
    return scheme, parts[0], params


def filespath(d):
    """Directories searched for file:// entries, in the fetcher's order."""
    dirs = [p for p in (d.getVar('FILESEXTRAPATHS') or '').split(':')
            if p and p != '__default']
    fd = d.getVar('FILE_DIRNAME')
    dirs += [os.path.join(fd, d.getVar('BP')), os.path.join(fd, d.getVar('BPN')),
             os.path.join(fd, 'files')]
    out = []
    for p in dirs:
        for o in reversed(d.overrides):
            out.append(os.path.join(p, o))
        out.append(p)
    return out


def find_local(d, relpath):
    """All existing candidates for a file:// path; the first one is used."""
    return [os.path.join(p, relpath) for p in filespath(d)
            if os.path.exists(os.path.join(p, relpath))]


def local_sources(d):
    """[(url, relpath, params)] for every file:// entry of SRC_URI."""
    out = []
    for url in (d.getVar('SRC_URI') or '').split():
        scheme, path, params = parse_url(url)
        if scheme == 'file':
            out.append((url, path, params))
    return out


def unpack_dir(d):
    return d.getVar('UNPACKDIR') or d.getVar('WORKDIR')


def unpacked_map(d):
    """{path after unpack (absolute, as in the build): source path in the
    layer} for every file:// entry that resolves."""
    out = {}
    for url, rel, params in local_sources(d):
        found = find_local(d, rel)
        if not found:
            continue
        dest = os.path.join(unpack_dir(d), params.get('subdir', ''), rel)
        out[os.path.normpath(dest)] = found[0]
    return out


def source_for_build_path(d, path):
    """Layer file that a path inside the build tree (after do_unpack) comes
    from, or None."""
    path = os.path.normpath(path)
    for dest, src in unpacked_map(d).items():
        if path == dest:
            return src
        if path.startswith(dest + os.sep) and os.path.isdir(src):
            return os.path.join(src, os.path.relpath(path, dest))
    return None


def go_mod_info(root):
    module, goline, toolchain = None, None, None
    with open(os.path.join(root, 'go.mod')) as f:
        for line in f:
            m = re.match(r'^module\s+(\S+)', line)
            if m:
                module = m.group(1)
            m = re.match(r'^go\s+(\S+)', line)
            if m:
                goline = m.group(1)
            m = re.match(r'^toolchain\s+(\S+)', line)
            if m:
                toolchain = m.group(1)
    return module, goline, toolchain


def vendored_modules(root):
    """Modules in vendor/modules.txt that have at least one package vendored."""
    mods = []
    path = os.path.join(root, 'vendor', 'modules.txt')
    if not os.path.exists(path):
        return mods
    cur = None
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('# '):
                parts = line[2:].split()
                cur = parts[0]
                if len(parts) >= 4 and parts[2] == '=>':
                    cur = parts[0]
            elif line and not line.startswith('#') and cur:
                if cur not in mods:
                    mods.append(cur)
    return mods
