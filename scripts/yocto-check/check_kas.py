#!/usr/bin/python3
"""Validate kas/*.yml with Debian's kas: each file against kas's JSON schema
and file-version range (kas.includehandler.load_config), each documented
combination merged through kas's include handler, and the merged
local.conf snippets read as BitBake assignments.

Runs with the system python3, where the Debian kas package lives.
"""

import glob
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bbparse  # noqa: E402
from layerlib import Results  # noqa: E402

try:
    from kas import includehandler
    import kas as kasversion
except ImportError as e:  # pragma: no cover - reported as a failure
    print('FAIL: kas: cannot import the kas package (%s); install Debian\'s kas' % e)
    print('0 passed, 1 failed')
    sys.exit(1)

MACHINES = ('qemuarm64', 'qemuarm', 'qemux86-64')
INITS = ('systemd', 'sysvinit')


def combos():
    out = []
    for m in MACHINES:
        for i in INITS:
            out.append(['kas/%s.yml' % m, 'kas/%s.yml' % i])
    out.append(['kas/qemuarm64.yml', 'kas/systemd.yml', 'kas/scarthgap.yml'])
    out.append(['kas/qemuarm64.yml', 'kas/sysvinit.yml', 'kas/upstream-parsec.yml'])
    out.append(['kas/qemux86-64.yml', 'kas/systemd.yml', 'kas/upstream-parsec.yml',
                'kas/scarthgap.yml'])
    return out


def merged(root, files):
    handler = includehandler.IncludeHandler([os.path.join(root, f) for f in files], root)
    got = handler.get_config(repos={})
    config, missing = got if isinstance(got, tuple) else (got, [])
    return config, missing


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, '..', '..'))
    res = Results('kas: ')
    files = sorted(glob.glob(os.path.join(root, 'kas', '*.yml')))
    if not files:
        res.fail('kas files', 'no kas/*.yml')
    for f in files:
        try:
            includehandler.load_config(f)
            res.ok('%s valid for kas %s schema' % (os.path.relpath(f, root),
                                                    kasversion.__version__))
        except Exception as e:  # noqa: BLE001 - kas raises several kinds
            res.fail('%s schema' % os.path.relpath(f, root), str(e))
    for combo in combos():
        name = ':'.join(combo)
        problems = []
        if not all(os.path.exists(os.path.join(root, f)) for f in combo):
            res.fail(name, 'file missing')
            continue
        try:
            config, missing = merged(root, combo)
        except Exception as e:  # noqa: BLE001
            res.fail(name, 'kas include handling: %s' % e)
            continue
        if missing:
            problems.append('includes from repos not available: %s' % missing)
        for key in ('machine', 'distro', 'target'):
            if not config.get(key):
                problems.append('no %s' % key)
        repos = config.get('repos', {})
        if 'parsec-go' not in repos:
            problems.append('parsec-go repo (this layer) missing')
        for rname, repo in repos.items():
            if repo and repo.get('url') and not repo.get('refspec'):
                problems.append('repo %s has no refspec' % rname)
        local = config.get('local_conf_header', {})
        text = '\n'.join(local[k] for k in sorted(local))
        with tempfile.NamedTemporaryFile('w', suffix='.conf', delete=False) as t:
            t.write(text)
        try:
            sts = bbparse.parse_file(t.name)
            inits = [s.value for s in sts if s.kind == 'assign' and s.var == 'INIT_MANAGER']
            if len(inits) != 1:
                problems.append('INIT_MANAGER set %d times' % len(inits))
            if not any(s.kind == 'assign' and s.var == 'TEST_SUITES' for s in sts):
                problems.append('no TEST_SUITES')
        except bbparse.ParseError as e:
            problems.append('local.conf snippet: line %d: %s' % (e.line, e.msg))
        finally:
            os.unlink(t.name)
        res.check(name, problems, '%s %s' % (config.get('machine'), config.get('target')))
    return 1 if res.failed else 0


if __name__ == '__main__':
    sys.exit(main())
